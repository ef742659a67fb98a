"""Overlay videos are complete under their final name or absent: checked frame counts, no silent drops, a full
disk reported while writing, the previous file kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap_app.core.errors import ExportError
from mocap_app.export import video
from mocap_app.export.video import AtomicVideoWriter


def frames_in(path: Path) -> tuple[int, int, int]:
    """Frame count, width, height as OpenCV decodes the file (an independent reader)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    size = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    return count, *size


def gradient(width: int, height: int, shade: int) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 1] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    image[..., 2] = shade
    return image


def test_a_finished_video_holds_every_frame_and_appears_only_at_the_end(tmp_path: Path) -> None:
    target = tmp_path / "overlay.mp4"
    writer = AtomicVideoWriter(target, 29.97, 160, 120)
    for i in range(12):
        writer.write(gradient(160, 120, 20 * i))
        assert not target.exists()  # nothing under the final name while writing
    assert writer.finish() == target
    assert frames_in(target) == (12, 160, 120)
    assert [p.name for p in tmp_path.iterdir()] == ["overlay.mp4"]  # no partial file left beside it


def test_frames_of_other_sizes_are_letterboxed_not_dropped(tmp_path: Path) -> None:
    target = tmp_path / "mixed.mp4"
    writer = AtomicVideoWriter(target, 30, 160, 120)
    for width, height in [(160, 120), (320, 120), (90, 200), (161, 121), (160, 120)]:
        writer.write(gradient(width, height, 128))
    writer.finish()
    assert frames_in(target) == (5, 160, 120)


def test_odd_sizes_are_padded_to_what_h264_takes(tmp_path: Path) -> None:
    target = tmp_path / "odd.mp4"
    writer = AtomicVideoWriter(target, 30, 65, 49)
    writer.write(gradient(65, 49, 0))
    writer.finish()
    assert frames_in(target) == (1, 66, 50)


def test_abort_removes_the_partial_file_and_keeps_the_previous_video(tmp_path: Path) -> None:
    target = tmp_path / "overlay.mp4"
    target.write_bytes(b"the previous take")
    writer = AtomicVideoWriter(target, 30, 64, 48)
    writer.write(gradient(64, 48, 0))
    writer.abort()
    assert target.read_bytes() == b"the previous take" and [p.name for p in tmp_path.iterdir()] == ["overlay.mp4"]


def test_a_full_disk_is_reported_within_a_second_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(video, "_SPACE_CHECK_S", 0.0)  # check on every frame
    target = tmp_path / "overlay.mp4"
    writer = AtomicVideoWriter(target, 30, 64, 48)
    writer.write(gradient(64, 48, 0))

    class Full:
        f_bavail, f_frsize = 0, 4096

    monkeypatch.setattr(video.os, "statvfs", lambda path: Full())
    with pytest.raises(ExportError, match="failed after 1 frames: No space left on device") as info:
        writer.write(gradient(64, 48, 0))
    assert "Free disk space" in info.value.hint
    assert list(tmp_path.iterdir()) == []


def test_a_file_size_limit_stops_the_writer_with_a_clear_error(tmp_path: Path) -> None:
    """RLIMIT_FSIZE in a child process: writes past the limit fail with EFBIG (Python ignores SIGXFSZ)."""
    target = tmp_path / "overlay.mp4"
    target.write_bytes(b"the previous take")
    code = textwrap.dedent(f"""
        import resource, sys, time
        import numpy as np
        from mocap_app.core.errors import ExportError
        from mocap_app.export.video import AtomicVideoWriter
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        writer = AtomicVideoWriter({str(target)!r}, 30, 320, 240)
        rng = np.random.default_rng(0)
        start = time.monotonic()
        try:
            for i in range(2000):
                writer.write(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))  # noise: big frames
            writer.finish()
        except ExportError as exc:
            print("ExportError", round(time.monotonic() - start, 2), exc.message)
            sys.exit(3)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    _, seconds, message = result.stdout.split(" ", 2)
    assert float(seconds) < 2.0 and "failed" in message
    assert target.read_bytes() == b"the previous take"
    assert [p.name for p in tmp_path.iterdir()] == ["overlay.mp4"]


def test_a_name_that_is_not_a_video_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="must end in .mp4"):
        AtomicVideoWriter(tmp_path / "overlay.fbx", 30, 64, 48)
    start = time.monotonic()
    with pytest.raises(ExportError, match="does not exist"):
        AtomicVideoWriter(tmp_path / "missing" / "o.mp4", 30, 64, 48)
    assert time.monotonic() - start < 1.0
