from __future__ import annotations

import itertools
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest


def frame_image(i: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A frame whose index (< 256) can be read back from its pixels after lossy compression:
    two flat patches carry its base-16 digits as grey levels 16 apart."""
    width, height = size
    image = np.full((height, width, 3), 30, np.uint8)
    image[:, : width // 4] = (i // 16) * 16 + 8
    image[:, width // 4 : width // 2] = (i % 16) * 16 + 8
    cv2.putText(image, str(i), (width // 2 + 10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
    return image


def decode_index(image: np.ndarray) -> int:
    width = image.shape[1]
    high = float(image[20:-20, 10 : width // 4 - 10].mean())
    low = float(image[20:-20, width // 4 + 10 : width // 2 - 10].mean())
    return 16 * round((high - 8) / 16) + round((low - 8) / 16)


def write_video(path: Path, num_frames: int, fourcc: str = "mp4v", fps: float = 30.0,
                size: tuple[int, int] = (320, 240)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc}"
    for i in range(num_frames):
        writer.write(frame_image(i, size))
    writer.release()
    return path


@pytest.fixture
def video_60(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", 60)


def write_av(path: Path, images: Iterable[np.ndarray], codec: str = "libx264", pix_fmt: str = "yuv420p",
             fps: int = 30, pts_ms: list[int] | None = None, rotation: int = 0, hflip: bool = False,
             vflip: bool = False, options: dict[str, str] | None = None) -> Path:
    """A video of BGR `images` written with PyAV: any codec/pixel format its FFmpeg encodes, container
    timestamps `pts_ms` (milliseconds; default: frames at `fps`) and a display matrix (`rotation` degrees
    counter-clockwise, then mirrored)."""
    import av

    images = iter(images)
    first = next(images)
    height, width = first.shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if rotation or hflip or vflip:
            stream.set_display_rotation(rotation, hflip=hflip, vflip=vflip)
        if pts_ms is not None:
            stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        for i, image in enumerate(itertools.chain([first], images)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
