"""A posed body surface: what body models produce and renderers draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import _frozen_array
from .skeleton import NUM_JOINTS


def _read_only(value: object, dtype: type, shape: tuple[int, ...], name: str) -> np.ndarray:
    # Faces are shared by every frame of a model: keep an array that is already frozen and typed
    # instead of copying it per frame (renderers also recognise an unchanged topology by identity).
    if isinstance(value, np.ndarray) and value.dtype == dtype and not value.flags.writeable \
            and value.ndim == len(shape) and all(s in (-1, n) for s, n in zip(shape, value.shape, strict=True)):
        return value
    return _frozen_array(value, dtype, shape, name)


@dataclass(frozen=True)
class BodyMesh:
    """One posed body.

    vertices: (V, 3) float32, metres, in the frame of whoever made it (body models: the camera frame
        of the image, OpenCV axes x right, y down, z forward, with smplx's `transl` applied).
    faces: (F, 3) int32 vertex indices, counter-clockwise seen from outside.
    joints: (55, 3) float32, metres, same frame, smplx joint order; None when not known.
    track_id: the person's identity (renderers colour by it).
    color: (r, g, b) in [0, 1] to draw it with instead of its track's colour (synthetic footage uses skin tones).
    All arrays are read-only.
    """

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray | None = None
    track_id: int = 0
    color: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertices", _frozen_array(self.vertices, np.float32, (-1, 3), "vertices"))
        object.__setattr__(self, "faces", _read_only(self.faces, np.int32, (-1, 3), "faces"))
        if self.joints is not None:
            object.__setattr__(self, "joints", _frozen_array(self.joints, np.float32, (NUM_JOINTS, 3), "joints"))
        if len(self.faces) and (self.faces.min() < 0 or self.faces.max() >= len(self.vertices)):
            raise ValueError(f"faces index vertices outside 0..{len(self.vertices) - 1}")

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])
