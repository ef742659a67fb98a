"""`process --stream` and `live --stream`: the sample clip streamed in real time, the command-line options, and
bad addresses refused before any work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mocap_app.body.motions import make_motion, place_in_camera
from mocap_app.capture import VideoFileSource
from mocap_app.cli.app import EXIT_USER_ERROR, main
from mocap_app.core import CameraIntrinsics
from mocap_app.core.config import AppConfig
from mocap_app.core.frames import Detection, Frame
from mocap_app.pipeline.process import ProcessOptions, process_input
from mocap_app.pipeline.runner import whole_frame
from mocap_app.stream import StreamConfig, VmcListener
from tests.pipeline.test_process_cli import cut_sample

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "samples" / "demo.mp4"


class WholeFrameDetector:
    def detect(self, frame: Frame) -> list[Detection]:
        return whole_frame(frame)


class MotionEstimator:
    """The demo motion, one frame per video frame: a pipeline as fast as the video needs, so the stream's own
    pacing is what is measured."""

    def __init__(self, num_frames: int) -> None:
        self.params = place_in_camera(make_motion("demo", num_frames), CameraIntrinsics.from_fov(640, 480))

    def estimate(self, frame: Frame, persons: list[Detection]):
        return [self.params[frame.index]]


def _wait_for(received: list, count: int, timeout_s: float = 5.0) -> None:
    """Let the listener's thread take in the last datagrams: on a loaded machine the last one arrived after a
    fixed 0.2 s wait (149 of 150 in one CI run)."""
    deadline = time.monotonic() + timeout_s
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)  # and any stray extra one, which the asserts would catch


def test_process_streams_every_frame_of_the_sample_clip_at_its_fps(tmp_path: Path) -> None:
    source = VideoFileSource(SAMPLE)
    fps, count = source.info.fps, source.info.frame_count
    source.close()
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        options = ProcessOptions(stream=StreamConfig("127.0.0.1", listener.port, realtime=True))
        outcome = process_input(SAMPLE, [], options, AppConfig(), [MotionEstimator(count)],
                                detection=(WholeFrameDetector(), None), journal=tmp_path / "take.mocapjournal")
        _wait_for(received, count)
    assert outcome.report.frames == count == len(received) == outcome.stream.frames_sent
    times = np.array([frame.time_s for frame in received])
    np.testing.assert_allclose(times, np.arange(count) / fps, atol=1e-3)  # every frame, in order
    arrivals = (np.array([frame.received_ns for frame in received]) - received[0].received_ns) / 1e9
    rate = (count - 1) / arrivals[-1]
    assert abs(rate / fps - 1) < 0.05, rate
    lag = arrivals - times
    assert lag.max() - lag.min() < 0.05, lag  # on the video's clock throughout, not only on average


def test_process_command_streams_each_estimated_frame(tmp_path: Path) -> None:
    video = cut_sample(tmp_path / "take.mp4", 8)
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        result = subprocess.run([sys.executable, str(ROOT / "main.py"), "process", str(video), "-o",
                                 str(tmp_path / "take.npz"), "--stream", f"vmc://127.0.0.1:{listener.port}"],
                                capture_output=True, text=True, timeout=300, cwd=ROOT,
                                env=dict(os.environ, COLUMNS="200"))
        _wait_for(received, 8)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [round(f.time_s * 30) for f in received] == list(range(8))
    assert all(len(f.bones) == 55 and f.ok[3] == 1 for f in received)
    assert f"vmc://127.0.0.1:{listener.port}: 8 frames sent" in result.stdout


@pytest.mark.parametrize("command", ["process", "live"])
@pytest.mark.parametrize(("args", "message"), [
    (["--stream", "udp://127.0.0.1:39539"], "is not a stream address"),
    (["--stream", "vmc://127.0.0.1:70000"], "has no valid port"),
    (["--stream", "vmc://127.0.0.1:port"], "has no valid port"),
    (["--stream", "vmc://no-such-host.invalid:39539"], "cannot be resolved"),
    (["--stream", "vmc://127.0.0.1:39539", "--stream-fps", "0"], "--stream-fps must be in (0, 1000]"),
    (["--stream-fps", "30"], "no --stream was given"),
])
def test_a_bad_stream_option_fails_before_any_work(monkeypatch, capsys, tmp_path: Path, command: str,
                                                   args: list[str], message: str) -> None:
    def no_work(*args, **kwargs):
        raise AssertionError("work started despite a bad stream option")

    for work in ("mocap_app.cli.process.check_input", "mocap_app.cli.process.build_estimators",
                 "mocap_app.gui.app.run_window"):
        monkeypatch.setattr(work, no_work)
    target = [str(SAMPLE), "-o", str(tmp_path / "a.fbx")] if command == "process" else []
    with pytest.raises(SystemExit) as exit_info:
        main([command, *target, *args])
    assert exit_info.value.code == EXIT_USER_ERROR
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: ") and message in err[0], err
    assert err[1].startswith("hint: ")
    assert not list(tmp_path.iterdir())
