"""A video replayed as a live camera: paced at its frame rate, looped, dropping frames a slow consumer misses."""

from __future__ import annotations

import time
from pathlib import Path

from mocap_app.capture import CaptureThread
from mocap_app.capture.replay import LiveReplaySource

from .conftest import decode_index, write_video


def test_replay_is_paced_looped_and_live(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 6, fps=30.0)
    source = LiveReplaySource(video, loop=True)
    assert source.info.is_live and source.info.frame_count is None and source.timestamp_ns is None
    start = time.monotonic()
    indices = [decode_index(source.read()) for _ in range(15)]
    elapsed = time.monotonic() - start
    source.close()
    assert indices == [0, 1, 2, 3, 4, 5] * 2 + [0, 1, 2] and source.laps == 3
    assert elapsed >= 14 / 30 - 0.01  # never faster than the video's own pace


def test_replay_ends_after_its_duration_and_a_slow_consumer_loses_frames_not_time(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 10, fps=30.0)
    with CaptureThread(LiveReplaySource(video, duration_s=1.0), queue_size=1) as capture:
        received = []
        for frame in capture:
            received.append(frame)
            time.sleep(0.1)  # a consumer at 10 fps behind a 30-fps camera
    assert capture.stats.end_reason == "end of stream"
    assert capture.stats.dropped > 10 and len(received) <= 12
