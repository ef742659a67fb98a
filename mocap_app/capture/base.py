"""What every frame source is: the `FrameSource` protocol, the `SourceInfo` it reports once opened, and the one
rule for images of another size than the first (`letterbox`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

# SourceInfo.timing: where `Frame.timestamp_ns` comes from.
TIMINGS = {
    "clock": "the capture thread's monotonic clock at the grab (live sources)",
    "container": "the file's presentation timestamps, from its first frame (variable frame rates kept)",
    "nominal": "frame index ÷ fps (image folders; videos whose stated frame rate is implausible)",
}


@dataclass(frozen=True)
class SourceInfo:
    """What a source knows about itself once opened.

    kind: "camera", "video" or "images". is_live: frames arrive in real time and may be dropped.
    fps: nominal frame rate (frames per second; a video's average rate). frame_count: frames in a file or
    folder, None for a camera or a container that does not say (for video files it is the container's
    claim, checked against what decodes). width, height: pixels of every image as delivered (a video's
    after its rotation metadata is applied). name: short label for logs and clip metadata.
    timing: one of `TIMINGS`.
    """

    kind: str
    is_live: bool
    fps: float
    frame_count: int | None
    width: int
    height: int
    name: str
    timing: str = "clock"


class FrameSource(Protocol):
    """Read from one thread only. `timestamp_ns`: time of the image the last `read()` returned, in
    nanoseconds from the stream's first image, or None where the capture thread's clock is the time
    (cameras)."""

    info: SourceInfo
    timestamp_ns: int | None

    def read(self) -> np.ndarray | None:
        """Next (H, W, 3) uint8 BGR image, or None at the end of the stream."""
        ...

    def close(self) -> None: ...


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` scaled to fit (width, height) with its proportions kept, centred on black; as is if it fits
    exactly."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas
