"""The main job end to end: `python main.py process` on the sample clip, and its refusals of bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mocap_app.body.kinematics import posed_joints
from mocap_app.body.metrics import pa_mpjpe
from mocap_app.capture import VideoFileSource
from mocap_app.core import MotionClip
from mocap_app.export.npz import load_exported_npz
from mocap_app.pipeline.journal import RECORD_DTYPE, read_journal
from tests.signals import sigint_as_at_a_terminal

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "samples" / "demo.mp4"
RECORD_BYTES = RECORD_DTYPE.itemsize + 4  # a journal record and its CRC32


def run_main(*args: str, timeout: float = 600, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


@pytest.mark.slow
def test_sample_clip_to_fbx_npz_and_overlay(tmp_path: Path) -> None:
    result = run_main("process", str(SAMPLE), "-o", str(tmp_path / "demo.fbx"), "-o", str(tmp_path / "demo.npz"),
                      "--overlay", str(tmp_path / "overlay.mp4"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "#0: 150" in result.stdout  # one person, seen in every frame
    assert not list(tmp_path.glob("*.mocapjournal"))  # the recording is removed once exported
    assert (tmp_path / "demo.fbx").stat().st_size > 10_000
    overlay = VideoFileSource(tmp_path / "overlay.mp4")
    assert (overlay.info.frame_count, overlay.info.width, overlay.info.height) == (150, 640, 480)
    overlay.close()
    clip = load_exported_npz(tmp_path / "demo.npz")
    truth = MotionClip.load(ROOT / "assets" / "samples" / "demo_truth.npz")
    assert clip.num_frames == truth.num_frames and clip.fps == 30.0
    body = slice(0, 22)
    estimated = posed_joints([clip.frame(i) for i in range(clip.num_frames)])[:, body]
    expected = posed_joints([truth.frame(i) for i in range(truth.num_frames)])[:, body]
    errors = 1000 * np.array([pa_mpjpe(p, g) for p, g in zip(estimated, expected, strict=True)])
    assert np.median(errors) < 80, np.percentile(errors, [50, 90, 100])


@pytest.mark.parametrize("args, message", [
    (["missing.mp4", "-o", "{tmp}/a.fbx"], "Input missing.mp4 does not exist"),
    (["{tmp}/corrupt.mp4", "-o", "{tmp}/a.fbx"], "cannot be decoded"),
    ([str(SAMPLE), "-o", "{tmp}/a.fbx", "--model", "smplerx-z"], "Unknown model 'smplerx-z'"),
    ([str(SAMPLE), "-o", "{tmp}/a.fbx", "--model", "smplerx-s", "--set", "paths.checkpoints={tmp}"],
     "The smplerx-s checkpoint is not installed"),
    ([str(SAMPLE), "-o", "{tmp}/missing/a.fbx"], "Output folder {tmp}/missing does not exist"),
    ([str(SAMPLE), "-o", "{tmp}/file.txt/a.fbx"], "Output folder {tmp}/file.txt is not a folder"),
    ([str(SAMPLE), "-o", "{tmp}/a.xyz"], "No exporter writes '.xyz' files"),
    (["{tmp}/empty.mp4", "-o", "{tmp}/a.fbx"], "is empty (0 bytes)"),
    (["{tmp}/cut.mp4", "-o", "{tmp}/a.fbx"], "cannot be decoded"),  # cut before its index (moov at the end)
    (["{tmp}/head.mp4", "-o", "{tmp}/a.fbx"], "cannot be decoded"),  # the first 100 bytes only
    (["{tmp}/like a vidéo.mp4", "-o", "{tmp}/a.fbx"], "holds no videos or images"),  # a folder named like one
    ([str(SAMPLE), "-o", "/proc/self/a.fbx"], "Output folder /proc/self is not writable"),  # read-only, even as root
])
def test_bad_input_fails_before_processing_with_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000))
    (tmp_path / "file.txt").write_text("a file, not a folder")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "cut.mp4").write_bytes(SAMPLE.read_bytes()[:300_000])
    (tmp_path / "head.mp4").write_bytes(SAMPLE.read_bytes()[:100])
    (tmp_path / "like a vidéo.mp4").mkdir()
    before = set(tmp_path.iterdir())
    globals_ = [a for a in args if a.startswith("--set")]
    args = [a.format(tmp=tmp_path) for a in args]
    if globals_:  # --set is a global option: it goes before the command
        i = args.index("--set")
        args = [args[i], args[i + 1], *args[:i], *args[i + 2:]]
        result_args = [*args[:2], "process", *args[2:]]
    else:
        result_args = ["process", *args]
    start = time.monotonic()
    result = run_main(*result_args, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and message.format(tmp=tmp_path) in lines[0], lines
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.stderr
    assert set(tmp_path.iterdir()) == before  # nothing written
    assert time.monotonic() - start < 10


def read_fbx_summary(path: Path) -> dict:
    """Bone count and animation length read by ufbx (an independent C reader), in a subprocess: its binding
    can crash on misuse, and a crash must fail the test, not the run."""
    code = ("import json, sys, ufbx\n"
            "scene = ufbx.load_file(sys.argv[1])\n"
            "nodes = list(scene.nodes)\n"
            "stacks = list(scene.anim_stacks)\n"
            "print(json.dumps({'bones': sum(n.bone is not None for n in nodes),\n"
            "                  'seconds': stacks[0].time_end - stacks[0].time_begin,\n"
            "                  'fps': scene.settings.frames_per_second}))\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout)


@pytest.mark.slow
def test_after_sigkill_the_journal_exports_every_frame_before_the_kill(tmp_path: Path) -> None:
    pytest.importorskip("ufbx")
    env = dict(os.environ, COLUMNS="200")
    child = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "process", str(SAMPLE),
                              "-o", str(tmp_path / "take.fbx"), "--mesh", "none"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    deadline = time.monotonic() + 300
    journal = None
    while time.monotonic() < deadline and child.poll() is None:
        journals = list(tmp_path.glob("*.mocapjournal"))
        if journals and journals[0].stat().st_size > 40 * RECORD_BYTES:  # 40 person-frames recorded
            journal = journals[0]
            break
        time.sleep(0.05)
    assert journal is not None and child.poll() is None, "process ended before it could be killed"
    child.kill()  # SIGKILL: no cleanup, no flush, no exports
    child.wait()
    assert not (tmp_path / "take.fbx").exists()

    records = read_journal(journal).records
    recorded = len(records)
    assert 40 <= recorded < 150
    np.testing.assert_array_equal(records["frame_index"], np.arange(recorded))

    result = run_main("export", str(journal), "-o", str(tmp_path / "recovered.fbx"), "--mesh", "none")
    assert result.returncode == 0, result.stderr
    summary = read_fbx_summary(tmp_path / "recovered.fbx")
    assert summary["bones"] == 55 and summary["fps"] == 30.0
    assert summary["seconds"] == pytest.approx((recorded - 1) / 30.0, abs=1e-3)  # every recorded frame


def cut_sample(path: Path, frames: int) -> Path:
    import cv2

    source = VideoFileSource(SAMPLE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for _ in range(frames):
        writer.write(source.read())
    writer.release()
    source.close()
    return path


def test_a_folder_of_videos_gives_one_file_per_video_and_format(tmp_path: Path) -> None:
    videos, out = tmp_path / "videos", tmp_path / "out"
    videos.mkdir()
    out.mkdir()
    cut_sample(videos / "take1.mp4", 12)
    cut_sample(videos / "take2.mp4", 8)
    (videos / "notes.txt").write_text("not a video")
    result = run_main("process", str(videos), "-o", str(out), "--format", "bvh", "--format", "npz",
                      "--mesh", "none")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["take1.bvh", "take1.npz", "take2.bvh", "take2.npz"]
    assert load_exported_npz(out / "take1.npz").num_frames == 12
    assert load_exported_npz(out / "take2.npz").num_frames == 8
    assert "take1.mp4" in result.stdout and "take2.mp4" in result.stdout


def test_fbx_and_bvh_of_one_take_share_one_skeleton(tmp_path: Path) -> None:
    cut_sample(tmp_path / "take.mp4", 6)
    result = run_main("process", str(tmp_path / "take.mp4"), "-o", str(tmp_path / "t.bvh"), "-o",
                      str(tmp_path / "t.npz"))
    assert result.returncode == 0, result.stderr[-2000:]
    from mocap_app.body.avatar import AnnyAvatar

    rest = AnnyAvatar(progress=lambda line: None).rest_joints()  # no SMPL-X files: the default avatar's body
    bvh = (tmp_path / "t.bvh").read_text().splitlines()
    knee_line = next(i for i, line in enumerate(bvh) if line.strip() == "JOINT left_knee")
    offset = np.array([float(v) for v in bvh[knee_line + 2].split()[1:4]])
    np.testing.assert_allclose(offset, 100.0 * (rest[4] - rest[1]), atol=1e-3)  # left hip → knee, cm


def black_video(path: Path, frames: int = 8) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for _ in range(frames):
        writer.write(np.zeros((240, 320, 3), np.uint8))
    writer.release()
    return path


def test_nobody_found_is_an_error_and_leaves_no_journal(tmp_path: Path) -> None:
    video = black_video(tmp_path / "empty.mp4")
    result = run_main("process", str(video), "-o", str(tmp_path / "empty.fbx"), "--mesh", "none", timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert errors[0] == "error: Nobody was found in empty.mp4 (8 frames); nothing was exported."
    assert errors[1].startswith("hint: ") and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.mp4"]


def test_the_overlay_may_not_overwrite_the_input(tmp_path: Path) -> None:
    video = cut_sample(tmp_path / "take.mp4", 4)
    before = video.read_bytes()
    result = run_main("process", str(video), "-o", str(tmp_path / "t.fbx"), "--overlay", str(video), timeout=120)
    assert result.returncode == 1 and "is the input video itself" in result.stderr
    assert video.read_bytes() == before


def test_same_input_twice_into_one_folder_under_a_name_with_spaces_and_accents(tmp_path: Path) -> None:
    video = cut_sample(tmp_path / "prise été 1.mp4", 4)
    for _ in range(2):
        result = run_main("process", str(video), "-o", str(tmp_path / "t.npz"), "--mesh", "none", "--keep-journal",
                          timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
    assert len(list(tmp_path.glob("prise été 1-*.mocapjournal"))) == 2


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_exit_within_two_seconds_keeping_the_journal(tmp_path: Path, signum: int) -> None:
    child = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "process", str(SAMPLE),
                              "-o", str(tmp_path / "take.fbx"), "--overlay", str(tmp_path / "overlay.mp4")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, COLUMNS="200"), cwd=ROOT, preexec_fn=sigint_as_at_a_terminal)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        journals = list(tmp_path.glob("*.mocapjournal"))
        if journals and journals[0].stat().st_size > 20 * RECORD_BYTES:  # 20 person-frames recorded
            break
        time.sleep(0.05)
    assert child.poll() is None, "process ended before it could be interrupted"
    sent = time.monotonic()
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert child.returncode == 130, stderr
    (journal,) = tmp_path.glob("*.mocapjournal")
    lines = [line for line in stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert lines == ["error: Interrupted.", f"hint: The frames recorded so far are kept in {journal}; export them "
                     f"with `mocap export {journal} -o take.fbx`."], stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [journal.name]  # no overlay, partial or final
    result = run_main("export", str(journal), "-o", str(tmp_path / "recovered.npz"))
    assert result.returncode == 0 and load_exported_npz(tmp_path / "recovered.npz").num_frames >= 20


@pytest.mark.slow
def test_a_full_disk_while_recording_stops_within_two_seconds_keeping_every_recorded_frame(tmp_path: Path) -> None:
    """RLIMIT_FSIZE in the child: the journal's next write fails with EFBIG (Python ignores SIGXFSZ)."""
    (tmp_path / "take.fbx").write_bytes(b"the previous export")
    code = ("import resource, runpy, sys\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))\n"
            f"sys.argv = ['main.py', 'process', {str(SAMPLE)!r}, '-o', {str(tmp_path / 'take.fbx')!r}]\n"
            f"runpy.run_path({str(ROOT / 'main.py')!r}, run_name='__main__')\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT, env=dict(os.environ, COLUMNS="200"))
    journal = None
    while child.poll() is None:  # the moment the journal stops growing is the failure
        journals = list(tmp_path.glob("*.mocapjournal"))
        if journals and journals[0].stat().st_size > 59_000:
            journal = journals[0]
            break
        time.sleep(0.02)
    failed_at = time.monotonic()
    _, stderr = child.communicate(timeout=60)
    assert time.monotonic() - failed_at < 2.0
    assert child.returncode == 1, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert len(lines) == 2 and "Writing " in lines[0] and "failed" in lines[0], stderr
    journal = journal or next(tmp_path.glob("*.mocapjournal"))
    assert f"kept in {journal}" in lines[1] and "mocap export" in lines[1]
    records = read_journal(journal).records
    assert len(records) >= 40
    np.testing.assert_array_equal(records["frame_index"], np.arange(len(records)))  # every frame before the failure
    assert (tmp_path / "take.fbx").read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["take.fbx", journal.name])


@pytest.mark.slow
def test_a_variable_frame_rate_video_keeps_its_timing_in_the_exported_files(tmp_path: Path) -> None:
    """30 fps with ±8 ms jitter and a 0.6-s pause after frame 14 (a phone dropping frames): the files last as
    long as the video, not as long as its frame count at 30 fps."""
    import av

    source = VideoFileSource(SAMPLE)
    images = [source.read() for _ in range(30)]
    source.close()
    rng = np.random.default_rng(0)
    pts_ms = [round(1000 * i / 30 + (600 if i >= 15 else 0) + rng.uniform(-8, 8)) for i in range(30)]
    pts_ms[0] = 0
    with av.open(str(tmp_path / "vfr.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        for image, pts in zip(images, pts_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    result = run_main("process", str(tmp_path / "vfr.mp4"), "-o", str(tmp_path / "take.fbx"), "-o",
                      str(tmp_path / "take.npz"), "--mesh", "none", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    duration = pts_ms[-1] / 1000
    clip = load_exported_npz(tmp_path / "take.npz")
    assert abs((clip.num_frames - 1) / clip.fps - duration) <= 1 / 30  # within one frame
    assert abs(read_fbx_summary(tmp_path / "take.fbx")["seconds"] - duration) <= 1 / 30


def test_a_video_cut_short_while_processing_names_the_kept_frames(tmp_path: Path) -> None:
    """An mp4 with its index first (faststart), cut: it opens, decodes, then ends early — the error comes after
    the frames that decoded, with the journal holding them and no export under a final name."""
    import av

    source = VideoFileSource(SAMPLE)
    images = [source.read() for _ in range(40)]
    source.close()
    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    start = time.monotonic()
    result = run_main("process", str(cut), "-o", str(tmp_path / "take.fbx"), "--mesh", "none", timeout=120)
    assert time.monotonic() - start < 30
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert len(lines) == 2 and "cut.mp4" in lines[0] and "Traceback" not in result.stderr, result.stderr
    (journal,) = tmp_path.glob("*.mocapjournal")
    assert f"kept in {journal}" in lines[1] and len(read_journal(journal).records) > 5
    assert not (tmp_path / "take.fbx").exists()
