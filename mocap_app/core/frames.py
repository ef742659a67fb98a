"""Per-frame records that cross threads: captured frames, camera intrinsics, person detections."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np


def _frozen_array(value: object, dtype: type, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Copy `value` to a read-only array of `dtype` and check its shape (-1 = any size)."""
    array = np.array(value, dtype=dtype, copy=True)
    if array.ndim != len(shape) or any(s not in (-1, n) for s, n in zip(shape, array.shape, strict=True)):
        wanted = "(" + ", ".join("N" if s == -1 else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of one image, in pixels; (cx, cy) measured from the top-left pixel corner."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fov(cls, width: int, height: int, fov_deg: float = 60.0) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, `fov_deg` across the longer side."""
        focal = 0.5 * max(width, height) / math.tan(math.radians(fov_deg) / 2.0)
        return cls(focal, focal, width / 2.0, height / 2.0, int(width), int(height))

    def as_array(self) -> np.ndarray:
        """(6,) float64: fx, fy, cx, cy, width, height."""
        return np.array([self.fx, self.fy, self.cx, self.cy, self.width, self.height], dtype=np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> CameraIntrinsics:
        fx, fy, cx, cy, width, height = (float(v) for v in values)
        return cls(fx, fy, cx, cy, round(width), round(height))

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points (metres, OpenCV axes: z forward) → (..., 2) pixels; depths below 1 µm
        are clamped so points at or behind the camera stay finite."""
        points = np.asarray(points, dtype=np.float64)
        z = np.maximum(points[..., 2], 1e-6)
        return np.stack([self.fx * points[..., 0] / z + self.cx, self.fy * points[..., 1] / z + self.cy], axis=-1)

    def matrix(self) -> np.ndarray:
        """(3, 3) float64 calibration matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Frame:
    """One captured image.

    image: (H, W, 3) uint8, BGR as OpenCV decodes it; use `rgb` for models and display.
    index: 0-based position in its stream (counts every frame the source delivered, dropped ones too).
    timestamp_ns: time of the image in its stream, increasing: a video file's presentation time from its first
    frame (variable frame rates kept), an image folder's index ÷ fps, a camera's `time.perf_counter_ns()`
    right after the grab.
    source: a short name of the source (camera index, file name).
    """

    image: np.ndarray
    index: int
    timestamp_ns: int
    source: str = ""

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @cached_property
    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB, C-contiguous (MediaPipe requires it); computed once per frame."""
        return np.ascontiguousarray(self.image[..., ::-1])


@dataclass(frozen=True)
class Detection:
    """One person in one frame.

    box: (4,) float32 xyxy in image pixels.
    score: detector confidence in [0, 1].
    track_id: identity assigned by the tracker; -1 before tracking.
    """

    box: np.ndarray
    score: float
    track_id: int = -1

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", _frozen_array(self.box, np.float32, (4,), "box"))

    @classmethod
    def whole_image(cls, width: int, height: int, track_id: int = 0) -> Detection:
        """The full image as one person's box (score 1): what an estimator gets without a detector."""
        return cls(np.array([0, 0, width, height], np.float32), 1.0, track_id=track_id)

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])
