"""The live session's stream (switched on by `--stream` or at any time, as the window's toggle does) and the
`stream-listen` command."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import mocap_app.pipeline.live as live
from mocap_app.body.motions import make_motion, place_in_camera
from mocap_app.cli.app import main
from mocap_app.core import CameraIntrinsics
from mocap_app.core.config import AppConfig
from mocap_app.core.frames import Frame
from mocap_app.pipeline.live import LiveSession, LiveSource
from mocap_app.pipeline.process import ProcessOptions
from mocap_app.pipeline.runner import FrameResult
from mocap_app.stream import StreamConfig, VmcListener, VmcStream
from tests.pipeline.test_process_cli import cut_sample
from tests.stream.test_process_stream import MotionEstimator, WholeFrameDetector

FRAMES = 12


def run_session(monkeypatch, tmp_path: Path, options: ProcessOptions, while_running=lambda session: None):
    monkeypatch.setattr(live, "build_estimators", lambda options, config: [MotionEstimator(FRAMES)])
    monkeypatch.setattr(live, "build_detection", lambda options: (WholeFrameDetector(), None))
    ended = threading.Event()
    source = LiveSource("video", path=cut_sample(tmp_path / "take.mp4", FRAMES), realtime=False)
    session = LiveSession(AppConfig(), source, options, on_result=lambda result: None,
                          on_end=lambda error: ended.set())
    while_running(session)
    session.start()
    assert ended.wait(30)
    session.stop()
    return session


def test_live_stream_option_streams_every_result(monkeypatch, tmp_path: Path) -> None:
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        options = ProcessOptions(stream=StreamConfig("127.0.0.1", listener.port))
        session = run_session(monkeypatch, tmp_path, options)
        time.sleep(0.2)
    assert len(received) == FRAMES == session.stream.status().frames_sent
    assert session.stream.status().state == "off"  # ended with the session


def test_the_stream_can_be_switched_on_for_a_running_session(monkeypatch, tmp_path: Path) -> None:
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        def switch_on(session: LiveSession) -> None:
            assert not session.stream.active and session.stream.status().state == "off"
            session.stream.start(StreamConfig("127.0.0.1", listener.port))
            assert session.stream.status().state == "streaming"

        run_session(monkeypatch, tmp_path, ProcessOptions(), switch_on)
        time.sleep(0.2)
    assert len(received) == FRAMES


def test_stream_listen_prints_bones_rate_and_last_root(capsys) -> None:
    with VmcListener(0, "127.0.0.1") as probe:
        port = probe.port  # a free port for the command to listen on
    params = place_in_camera(make_motion("arms_raise", 30), CameraIntrinsics.from_fov(640, 480))

    def send() -> None:
        time.sleep(0.5)  # the command is listening by then
        stream = VmcStream(config=StreamConfig("127.0.0.1", port, realtime=True))
        for i, p in enumerate(params):
            stream.consume(FrameResult(Frame(np.zeros((2, 2, 3), np.uint8), i, round(i * 1e9 / 30)), [], [p]))
        stream.close()

    sender = threading.Thread(target=send)
    sender.start()
    with pytest.raises(SystemExit) as exit_info:
        main(["stream-listen", "--port", str(port), "--host", "127.0.0.1", "--seconds", "2.2"])
    sender.join()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "30 frames" in out and "bones (55)" in out and "LeftLittleDistal" in out, out
    assert "/VMC/Ext/Bone/Pos" in out and ",sfffffff" in out
    assert "last root" in out and "pos (" in out
    rate = float(out.split("rate (last 2 s)")[1].split()[1].strip("│ "))
    assert 27 < rate < 33, rate


def test_stream_listen_says_when_nothing_arrived(capsys) -> None:
    with VmcListener(0, "127.0.0.1") as probe:
        port = probe.port
    with pytest.raises(SystemExit) as exit_info:
        main(["stream-listen", "--port", str(port), "--host", "127.0.0.1", "--seconds", "0.3"])
    assert exit_info.value.code == 1
    assert "nothing arrived" in capsys.readouterr().out
