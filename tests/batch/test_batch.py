"""Batches (`process INPUTS -o OUT/ --workers N | --cluster`): the same files as the serial run, on local worker
processes and on a local Ray cluster; a worker killed mid-input; resume from the manifest; a corrupt clip failing
alone; Ctrl-C leaving finished files and the manifest consistent; outputs returned by a worker that does not
see OUT/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.config import AppConfig
from mocap_app.pipeline.batch import (
    MANIFEST_NAME,
    PARTIAL_DIR,
    BatchEvent,
    BatchJob,
    BatchSettings,
    InputStamp,
    InputWorker,
    Manifest,
    _read_input,
    _Run,
    plan_batch,
    run_batch,
)
from mocap_app.pipeline.process import ProcessOptions, expand_inputs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "samples" / "demo.mp4"
CLIPS = 4
FRAMES = 12
OPTIONS = ProcessOptions(mesh="none")
FORMATS = ["npz"]

pytestmark = pytest.mark.slow


def cut(path: Path, start: int, frames: int = FRAMES) -> Path:
    import cv2

    source = cv2.VideoCapture(str(SAMPLE))
    source.set(cv2.CAP_PROP_POS_FRAMES, start)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for _ in range(frames):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    source.release()
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 different 12-frame cuts of the sample clip (so a mix-up shows) and a corrupt 'video'."""
    folder = tmp_path_factory.mktemp("clips")
    for k in range(CLIPS):
        cut(folder / f"take{k}.mp4", 30 * k)
    (folder / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000))
    return folder


def good(clips: Path) -> list[Path]:
    return sorted(clips.glob("take*.mp4"))


def run_main(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, COLUMNS="200"), cwd=ROOT)


@pytest.fixture(scope="module")
def serial(clips: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain `process` of the good clips into a folder: one process, one input after another."""
    out = tmp_path_factory.mktemp("serial")
    result = run_main("process", *map(str, good(clips)), "-o", str(out), "-f", "npz", "--mesh", "none")
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield ray
    ray.shutdown()


def assert_same_frames(out: Path, serial: Path, names: list[str]) -> None:
    """Every array of each exported npz bit-equal to the serial run's, but for the source note (it names other
    paths) and the track id: the serial run's detector counts ids on from one input to the next, a batch's starts
    each input at 0 so that no file depends on which inputs its worker did before."""
    for name in names:
        ours, theirs = np.load(out / f"{name}.npz"), np.load(serial / f"{name}.npz")
        assert ours.files == theirs.files
        for key in ours.files:
            if key not in ("source_json", "track_id"):
                assert np.array_equal(ours[key], theirs[key]), (name, key)


def batch(inputs: list[Path], out: Path, settings: BatchSettings, on_event=lambda event: None):
    plan = plan_batch(expand_inputs(inputs), [out], FORMATS, OPTIONS, AppConfig(), retry_failed=settings.retry_failed)
    return plan, run_batch(plan, OPTIONS, AppConfig(), settings, on_event=on_event)


def manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def killer(killed: list[str]):
    """On the first input a worker starts: SIGKILL that worker's process, as if it crashed or its node went."""
    def on_event(event: BatchEvent) -> None:
        if event.kind == "started" and not killed:
            killed.append(event.input.name)
            os.kill(int(event.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    return on_event


def test_two_local_workers_give_the_serial_runs_frames_and_a_corrupt_clip_fails_alone(clips, serial, tmp_path):
    _plan, report = batch([clips], tmp_path, BatchSettings(workers=2, worker_cpus=1))
    assert report.workers == 2 and report.ran == CLIPS + 1
    status = {Path(e.input).name: e.status for e in report.entries}
    assert status == {"corrupt.mp4": "failed", **{p.name: "done" for p in good(clips)}}
    (failed,) = report.failed
    assert failed.error.kind == "CaptureError" and "cannot be decoded" in failed.error.message
    assert_same_frames(tmp_path, serial, [p.stem for p in good(clips)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST_NAME, *(f"{p.stem}.npz" for p in
                                                                                  good(clips))])
    lines = manifest_lines(tmp_path)  # one line per input, all that the issue asks for
    assert len(lines) == CLIPS + 1
    for line in lines:
        assert {"input", "size", "mtime_ns", "outputs", "status", "frames", "people", "seconds", "error"} <= set(line)
    assert {line["frames"] for line in lines if line["status"] == "done"} == {FRAMES}


def test_resume_skips_done_inputs_retries_failed_ones_on_request_and_redoes_a_changed_input(clips, tmp_path):
    inputs = good(clips)[:2]
    batch(inputs, tmp_path, BatchSettings(workers=1))
    first = {e["input"]: e["finished"] for e in manifest_lines(tmp_path)}
    plan, report = batch(inputs, tmp_path, BatchSettings(workers=1))
    assert plan.jobs == [] and report.ran == 0 and report.skipped == set(first)
    # another option: everything again
    assert len(plan_batch(inputs, [tmp_path], ["npz", "bvh"], OPTIONS, AppConfig()).jobs) == 2
    # a failure is remembered, and redone only with --retry-failed
    corrupt = clips / "corrupt.mp4"
    batch([corrupt], tmp_path, BatchSettings(workers=1))
    assert plan_batch([corrupt], [tmp_path], FORMATS, OPTIONS, AppConfig()).jobs == []
    assert len(plan_batch([corrupt], [tmp_path], FORMATS, OPTIONS, AppConfig(), retry_failed=True).jobs) == 1
    # a changed input (new mtime) or a deleted output: that input again
    os.utime(inputs[0], ns=(time.time_ns(), time.time_ns()))
    (tmp_path / f"{inputs[1].stem}.npz").unlink()
    assert {j.input for j in plan_batch(inputs, [tmp_path], FORMATS, OPTIONS, AppConfig()).jobs} == set(inputs)


def test_a_local_worker_killed_on_its_first_input_is_replaced_and_the_input_retried(clips, serial, tmp_path):
    killed: list[str] = []
    _, report = batch(good(clips), tmp_path, BatchSettings(workers=2, worker_cpus=1), on_event=killer(killed))
    assert all(e.status == "done" for e in report.entries), report.failed
    attempts = {Path(e.input).name: e.attempts for e in report.entries}
    assert attempts[killed[0]] == 2 and sum(attempts.values()) == CLIPS + 1
    assert_same_frames(tmp_path, serial, [p.stem for p in good(clips)])
    assert not (tmp_path / PARTIAL_DIR).exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_ray_cluster_gives_the_serial_runs_frames_even_when_a_worker_is_killed(clips, serial, ray_cluster,
                                                                                  tmp_path):
    killed: list[str] = []
    _, report = batch([clips], tmp_path, BatchSettings(cluster="auto", worker_cpus=1), on_event=killer(killed))
    assert report.workers == 2 and report.where == "auto"  # the cluster's 2 CPUs, 1 per worker
    status = {Path(e.input).name: e.status for e in report.entries}
    assert status == {"corrupt.mp4": "failed", **{p.name: "done" for p in good(clips)}}
    assert {Path(e.input).name: e.attempts for e in report.entries}[killed[0]] == 2
    assert_same_frames(tmp_path, serial, [p.stem for p in good(clips)])
    assert ray_cluster.is_initialized()  # the test's session is left as it was


def test_a_worker_that_does_not_see_out_returns_the_outputs_the_driver_writes(clips, serial, tmp_path):
    clip = good(clips)[0]
    out = tmp_path / "out"
    out.mkdir()
    job = BatchJob(clip, (out / f"{clip.stem}.npz",), InputStamp.of(clip))
    worker = InputWorker(OPTIONS, AppConfig())
    try:
        result = worker.run(job, tmp_path, input_files=_read_input(clip))
    finally:
        worker.close()
    assert result.status == "done" and set(result.files) == {f"{clip.stem}.npz"}
    assert not list(out.iterdir())  # the worker wrote nothing there
    plan = plan_batch([clip], [out], FORMATS, OPTIONS, AppConfig())
    _Run(plan, Manifest(out), lambda event: None, plan.jobs).finish(job, result)
    assert_same_frames(out, serial, [clip.stem])
    assert manifest_lines(out)[0]["outputs"] == [str(out / f"{clip.stem}.npz")]


def test_ctrl_c_stops_the_batch_leaving_finished_files_and_the_manifest_consistent(clips, tmp_path):
    args = ["process", *map(str, good(clips)), "-o", str(tmp_path), "-f", "npz", "--mesh", "none", "--workers", "1"]
    child = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ, COLUMNS="200"), cwd=ROOT)
    manifest = tmp_path / MANIFEST_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (manifest.is_file() and manifest.read_text().count("\n") >= 1):
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = child.communicate(timeout=60)
    assert time.monotonic() - sent < 5 and child.returncode == 130, stderr
    assert next(line for line in stderr.splitlines() if line.startswith("error:")).startswith("error: Interrupted:")
    done = manifest_lines(tmp_path)
    assert 1 <= len(done) < CLIPS and all(e["status"] == "done" for e in done)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST_NAME, *(Path(e["outputs"][0]).name
                                                                                  for e in done)])
    result = run_main(*args)  # the same command finishes the rest only
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{len(done)} of {CLIPS} inputs were done by an earlier run" in result.stderr
    assert len(manifest_lines(tmp_path)) == CLIPS
