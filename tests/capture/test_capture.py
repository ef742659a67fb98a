from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap_app.capture import (
    CameraSource,
    CaptureThread,
    ImageFolderSource,
    SourceInfo,
    VideoFileSource,
    open_source,
)
from mocap_app.core.errors import CaptureError

from .conftest import decode_index, frame_image, write_video


def test_video_file_yields_every_frame_in_order_with_increasing_timestamps(video_60: Path) -> None:
    source = VideoFileSource(video_60)
    assert (source.info.fps, source.info.frame_count, source.info.width, source.info.height) == (30.0, 60, 320, 240)
    with CaptureThread(source, queue_size=4) as capture:
        frames = list(capture)
    assert [f.index for f in frames] == list(range(60))
    assert [decode_index(f.image) for f in frames] == list(range(60))
    stamps = np.array([f.timestamp_ns for f in frames])
    assert (np.diff(stamps) > 0).all()
    assert capture.stats.dropped == 0 and capture.stats.end_reason == "end of stream"


def test_image_folder_in_natural_order(tmp_path: Path) -> None:
    for i in (0, 1, 2, 10, 11):  # natural order: frame2 before frame10
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), frame_image(i))
    (tmp_path / "notes.txt").write_text("not an image")
    source = open_source(tmp_path)
    assert isinstance(source, ImageFolderSource) and source.info.frame_count == 5
    with CaptureThread(source) as capture:
        assert [decode_index(f.image) for f in capture] == [0, 1, 2, 10, 11]


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="contains no images"):
        ImageFolderSource(tmp_path)
    cv2.imwrite(str(tmp_path / "a1.png"), frame_image(1))
    (tmp_path / "a2.png").write_bytes(b"broken")
    with CaptureThread(ImageFolderSource(tmp_path)) as capture:
        assert capture.get(timeout=5).index == 0
        with pytest.raises(CaptureError, match="a2.png cannot be decoded"):
            capture.get(timeout=5)


class FakeLiveSource:
    """A camera stand-in delivering `total` frames as fast as possible, then disconnecting."""

    def __init__(self, total: int) -> None:
        self.info = SourceInfo("camera", True, 30.0, None, 8, 8, "fake")
        self.total, self.sent, self.disconnected, self.closed = total, 0, False, False

    def read(self) -> np.ndarray | None:
        if self.sent == self.total:
            self.disconnected = True
            return None
        self.sent += 1
        time.sleep(0.001)
        return np.full((8, 8, 3), self.sent - 1, np.uint8)

    def close(self) -> None:
        self.closed = True


def test_live_source_drops_oldest_and_counts_drops_with_a_slow_consumer() -> None:
    source = FakeLiveSource(200)
    with CaptureThread(source, queue_size=3) as capture:
        received = []
        for frame in capture:
            received.append(frame)
            time.sleep(0.01)  # consumer ~10x slower than the camera
    stats = capture.stats
    assert stats.captured == 200
    assert stats.dropped > 100
    assert stats.dropped + len(received) == 200 == stats.captured
    indices = [f.index for f in received]
    assert indices == sorted(indices) and indices[-1] == 199  # newest frames kept, order preserved
    assert stats.end_reason == "camera disconnected"
    assert source.closed


def test_file_source_never_drops_with_a_slow_consumer(video_60: Path) -> None:
    with CaptureThread(VideoFileSource(video_60), queue_size=2) as capture:
        received = []
        for frame in capture:
            received.append(frame.index)
            time.sleep(0.002)
    assert received == list(range(60)) and capture.stats.dropped == 0


def test_camera_that_vanishes_ends_the_stream_keeping_frames() -> None:
    with CaptureThread(FakeLiveSource(25), queue_size=100) as capture:
        frames = list(capture)
    assert len(frames) == 25 and capture.stats.end_reason == "camera disconnected"


def test_missing_camera_fails_within_3_seconds() -> None:
    start = time.monotonic()
    with pytest.raises(CaptureError, match="No camera at index 57|did not respond"):
        CameraSource(57, open_timeout_s=3.0)
    assert time.monotonic() - start < 3.0


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    (b"", "is empty"),
    (b"this is a text file, not a video\n" * 100, "cannot be decoded"),
])
def test_bad_video_files_give_capture_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "video.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CaptureError, match=message):
        VideoFileSource(path)


def test_mp4_cut_before_its_index_cannot_be_opened(video_60: Path) -> None:
    data = video_60.read_bytes()
    video_60.write_bytes(data[: len(data) // 2])  # mp4v writers put the moov index at the end
    with pytest.raises(CaptureError, match="damaged"):
        VideoFileSource(video_60)


def test_truncated_video_yields_frames_before_the_cut_then_a_clear_error(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", 60, fourcc="MJPG")  # AVI: decodable up to the cut
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    frames = []
    stopped_early = pytest.raises(CaptureError, match=r"truncated .* stopped after \d+ of 60 frames")
    with CaptureThread(VideoFileSource(path), queue_size=4) as capture, stopped_early:
        for frame in capture:
            frames.append(frame)
    assert 10 < len(frames) < 60
    # The frame straddling the cut decodes partially; every one before it is intact and in order.
    assert [decode_index(f.image) for f in frames[:-1]] == list(range(len(frames) - 1))
    assert capture.stats.end_reason == "error"


def test_no_thread_alive_after_stop(video_60: Path) -> None:
    before = set(threading.enumerate())
    capture = CaptureThread(VideoFileSource(video_60), queue_size=2).start()
    assert capture.get(timeout=5) is not None  # producer now blocked on the full queue
    capture.stop()
    assert not capture.is_alive
    live = CaptureThread(FakeLiveSource(10**9), queue_size=2).start()
    time.sleep(0.05)
    live.stop()
    assert not live.is_alive
    assert set(threading.enumerate()) <= before
