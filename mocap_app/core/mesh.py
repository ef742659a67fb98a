"""Body surfaces: a posed mesh (what body models produce and renderers draw) and a skinned mesh bound to
the SMPL-X skeleton (what body models produce and exporters write)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import ExportError
from .frames import _frozen_array
from .skeleton import NUM_JOINTS, PARENTS

if TYPE_CHECKING:
    from .params import SmplxParams


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


class MeshSource(Protocol):
    """A body model that turns parameters into meshes (the default avatar or SMPL-X)."""

    def meshes(self, params: SmplxParams | Sequence[SmplxParams]) -> list[BodyMesh]: ...


_HINT = "Build the mesh from the body model of the clip (vertices in the rest pose, one weight column per joint)."


@dataclass(frozen=True)
class SkinnedMesh:
    """A mesh bound to the 55-joint SMPL-X skeleton in its rest pose, with animated blend shapes.

    vertices: (V, 3) float64, metres, smplx model coordinates (y up, z forward), rest pose, already
        shaped by the clip's betas so that it matches the rest joints given to the exporter.
    faces: (F, 3) int64 vertex indices of triangles (counter-clockwise seen from outside).
    skin_weights: (V, 55) float32 linear-blend-skinning weights per smplx joint; rows sum to 1.
    blend_shape_names: (K,) names of the blend shapes (e.g. "expression_00", "jawOpen"); may be empty.
    blend_shape_deltas: (K, V, 3) float64 vertex offsets in metres, smplx model coordinates.
    blend_shape_weights: (T, K) float32 weight of each blend shape per frame of the clip; tools such as
        Blender clamp weights to [0, 1], so split signed coefficients into two shapes before passing them.
    name: object name of the mesh in the exported file.
    """

    vertices: np.ndarray
    faces: np.ndarray
    skin_weights: np.ndarray
    blend_shape_names: tuple[str, ...] = ()
    blend_shape_deltas: np.ndarray | None = None
    blend_shape_weights: np.ndarray | None = None
    name: str = "Body"

    def __post_init__(self) -> None:
        try:
            vertices = _frozen_array(self.vertices, np.float64, (-1, 3), "vertices")
            num_vertices = len(vertices)
            faces = _frozen_array(self.faces, np.int64, (-1, 3), "faces")
            weights = _frozen_array(self.skin_weights, np.float32, (num_vertices, NUM_JOINTS), "skin_weights")
            names = tuple(str(n) for n in self.blend_shape_names)
            count = len(names)
            deltas = np.zeros((0, num_vertices, 3)) if self.blend_shape_deltas is None else self.blend_shape_deltas
            deltas = _frozen_array(deltas, np.float64, (count, num_vertices, 3), "blend_shape_deltas")
            shape_weights = np.zeros((0, count)) if self.blend_shape_weights is None else self.blend_shape_weights
            shape_weights = _frozen_array(shape_weights, np.float32, (-1, count), "blend_shape_weights")
        except ValueError as exc:
            raise ExportError(f"Invalid mesh '{self.name}': {exc}.", _HINT) from exc
        if num_vertices == 0 or len(faces) == 0:
            raise ExportError(f"Mesh '{self.name}' has no vertices or no faces.", _HINT)
        if faces.min() < 0 or faces.max() >= num_vertices:
            raise ExportError(f"Mesh '{self.name}' has face indices outside 0..{num_vertices - 1}.", _HINT)
        if len(set(names)) != count or any(not n for n in names):
            raise ExportError(f"Mesh '{self.name}' has empty or repeated blend-shape names.", _HINT)
        for label, array in (("vertices", vertices), ("skin_weights", weights), ("blend_shape_deltas", deltas),
                             ("blend_shape_weights", shape_weights)):
            if not np.isfinite(array).all():
                raise ExportError(f"Mesh '{self.name}' has NaN or infinite {label}.", _HINT)
        if np.any(weights < 0) or not np.allclose(weights.sum(axis=1), 1.0, atol=1e-3):
            raise ExportError(f"Mesh '{self.name}': skin weights must be ≥ 0 and sum to 1 per vertex.", _HINT)
        for field, value in (("vertices", vertices), ("faces", faces), ("skin_weights", weights),
                             ("blend_shape_names", names), ("blend_shape_deltas", deltas),
                             ("blend_shape_weights", shape_weights)):
            object.__setattr__(self, field, value)

    @property
    def num_blend_shapes(self) -> int:
        return len(self.blend_shape_names)

    def merged_weights(self, kept_joints: np.ndarray) -> np.ndarray:
        """(V, len(kept_joints)) skin weights with each dropped joint's weight moved to its nearest kept ancestor.

        kept_joints: ascending smplx joint indices that the exported skeleton keeps (always includes 0).
        """
        column = {int(j): c for c, j in enumerate(kept_joints)}
        merged = np.zeros((self.skin_weights.shape[0], len(kept_joints)), dtype=np.float64)
        for j in range(NUM_JOINTS):
            ancestor = j
            while ancestor not in column:
                ancestor = PARENTS[ancestor]
            merged[:, column[ancestor]] += self.skin_weights[:, j]
        return merged
