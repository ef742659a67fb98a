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
from tests.signals import sigint_as_at_a_terminal

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "samples" / "demo.mp4"
CLIPS = 4
FRAMES = 12
OPTIONS = ProcessOptions(mesh="none")
FORMATS = ["npz"]


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
    """Every array of each exported npz bit-equal to the serial run's (track ids too: each input's start at 0),
    but for the source note (it names other paths)."""
    for name in names:
        ours, theirs = np.load(out / f"{name}.npz"), np.load(serial / f"{name}.npz")
        assert ours.files == theirs.files
        for key in ours.files:
            if key != "source_json":
                assert np.array_equal(ours[key], theirs[key]), (name, key)


def batch(inputs: list[Path], out: Path, settings: BatchSettings, on_event=lambda event: None):
    plan = plan_batch(expand_inputs(inputs), [out], FORMATS, OPTIONS, AppConfig(), retry_failed=settings.retry_failed)
    return plan, run_batch(plan, OPTIONS, AppConfig(), settings, on_event=on_event)


def manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def killer(killed: list[str]):
    """On the first good clip a worker starts (the corrupt one may be over before a signal lands): SIGKILL that
    worker's process, as if it crashed or its node went."""
    def on_event(event: BatchEvent) -> None:
        if event.kind == "started" and event.input.name.startswith("take") and not killed:
            killed.append(event.input.name)
            os.kill(int(event.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    return on_event


@pytest.mark.slow
def test_two_local_workers_give_the_serial_runs_frames_with_a_corrupt_clip_and_a_killed_worker(clips, serial,
                                                                                                tmp_path):
    killed: list[str] = []
    _, report = batch([clips], tmp_path, BatchSettings(workers=2, worker_cpus=1), on_event=killer(killed))
    assert report.workers == 2 and report.ran == CLIPS + 1
    status = {Path(e.input).name: e.status for e in report.entries}
    assert status == {"corrupt.mp4": "failed", **{p.name: "done" for p in good(clips)}}
    (failed,) = report.failed
    assert failed.error.kind == "CaptureError" and "cannot be decoded" in failed.error.message
    attempts = {Path(e.input).name: e.attempts for e in report.entries}
    assert attempts[killed[0]] == 2 and sum(attempts.values()) == CLIPS + 2  # the killed input, retried once
    assert_same_frames(tmp_path, serial, [p.stem for p in good(clips)])
    # nothing else in OUT/: no journal, no temporary file of the killed worker
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST_NAME, *(f"{p.stem}.npz" for p in
                                                                                  good(clips))])
    lines = manifest_lines(tmp_path)  # one line per input, all that the issue asks for
    assert len(lines) == CLIPS + 1
    for line in lines:
        assert {"input", "size", "mtime_ns", "outputs", "status", "frames", "people", "seconds", "error"} <= set(line)
    assert {line["frames"] for line in lines if line["status"] == "done"} == {FRAMES}


@pytest.mark.slow
def test_resume_skips_done_inputs_retries_failed_ones_on_request_and_redoes_a_changed_input(clips, tmp_path):
    take, corrupt = good(clips)[0], clips / "corrupt.mp4"
    batch([take, corrupt], tmp_path, BatchSettings(workers=1))
    plan, report = batch([take, corrupt], tmp_path, BatchSettings(workers=1))
    assert plan.jobs == [] and report.ran == 0 and report.skipped == {str(take), str(corrupt)}
    assert [e.status for e in report.failed] == ["failed"]  # the earlier failure still counts
    # another option: everything again
    assert len(plan_batch([take, corrupt], [tmp_path], ["npz", "bvh"], OPTIONS, AppConfig()).jobs) == 2
    # a failure is redone only with --retry-failed
    retry = plan_batch([take, corrupt], [tmp_path], FORMATS, OPTIONS, AppConfig(), retry_failed=True)
    assert [j.input for j in retry.jobs] == [corrupt]
    # a changed input (new mtime) or a deleted output: that input again
    os.utime(take, ns=(time.time_ns(), time.time_ns()))
    assert [j.input for j in plan_batch([take], [tmp_path], FORMATS, OPTIONS, AppConfig()).jobs] == [take]
    batch([take], tmp_path, BatchSettings(workers=1))
    (tmp_path / f"{take.stem}.npz").unlink()
    assert [j.input for j in plan_batch([take], [tmp_path], FORMATS, OPTIONS, AppConfig()).jobs] == [take]


@pytest.mark.slow
def test_a_ray_cluster_gives_the_serial_runs_frames_even_when_a_worker_is_killed(clips, serial, ray_cluster,
                                                                                  tmp_path):
    killed: list[str] = []
    _, report = batch([clips], tmp_path, BatchSettings(cluster="auto", worker_cpus=1), on_event=killer(killed))
    assert report.workers == 2 and report.where == "Ray auto"  # the cluster's 2 CPUs, 1 per worker
    status = {Path(e.input).name: e.status for e in report.entries}
    assert status == {"corrupt.mp4": "failed", **{p.name: "done" for p in good(clips)}}
    assert {Path(e.input).name: e.attempts for e in report.entries}[killed[0]] == 2
    assert_same_frames(tmp_path, serial, [p.stem for p in good(clips)])
    assert ray_cluster.is_initialized()  # the test's session is left as it was


@pytest.mark.slow
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


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_leaving_finished_files_and_the_manifest_consistent(clips, tmp_path):
    args = ["process", *map(str, good(clips)), "-o", str(tmp_path), "-f", "npz", "--mesh", "none", "--workers", "1"]
    child = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ, COLUMNS="200"), cwd=ROOT,
                             preexec_fn=sigint_as_at_a_terminal)
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
    rest = plan_batch(good(clips), [tmp_path], FORMATS, OPTIONS, AppConfig())  # what the same command does again
    assert sorted(str(j.input) for j in rest.jobs) == sorted(set(map(str, good(clips))) - {e["input"] for e in done})


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "0"], "--workers must be a number of at least 1 or 'auto'"),
    (["--worker-cpus", "1"], "--worker-cpus and --worker-gpus size batch workers"),
    (["--workers", "2", "--overlay", "{tmp}/o.mp4"], "--overlay writes one video"),
    (["--workers", "2", "--stream", "vmc://127.0.0.1:39539"], "--stream sends one take live"),
])
def test_batch_options_that_cannot_work_fail_before_any_work(clips, tmp_path, capsys, args, message):
    from mocap_app.cli.app import main

    with pytest.raises(SystemExit) as exit_info:
        main(["process", str(good(clips)[0]), "-o", str(tmp_path), *(a.format(tmp=tmp_path) for a in args)])
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("error: ") and message in lines[0] and lines[1].startswith("hint: "), lines
    assert not list(tmp_path.iterdir())


def test_a_batch_needs_an_output_folder(clips, tmp_path):
    from mocap_app.core.errors import ConfigError

    with pytest.raises(ConfigError, match="writes into one existing folder"):
        plan_batch(good(clips)[:1], [tmp_path / "take.fbx"], FORMATS, OPTIONS, AppConfig())


def test_without_ray_the_cluster_option_names_the_requirements_file(clips, tmp_path, monkeypatch):
    from mocap_app.core.errors import DependencyError

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    plan = plan_batch(good(clips)[:1], [tmp_path], FORMATS, OPTIONS, AppConfig())
    with pytest.raises(DependencyError) as error:
        run_batch(plan, OPTIONS, AppConfig(), BatchSettings(cluster="auto"))
    assert "requirements-cluster.txt" in error.value.hint
    assert not list(tmp_path.iterdir())  # nothing left behind
