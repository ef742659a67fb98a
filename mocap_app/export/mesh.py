"""A skinned mesh with optional blend shapes, as exporters take it (e.g. SMPL-X or the default avatar)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap_app.core.errors import ExportError
from mocap_app.core.frames import _frozen_array
from mocap_app.core.skeleton import NUM_JOINTS, PARENTS

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


def stick_figure_mesh(rest_joints: np.ndarray, kept_joints: np.ndarray) -> SkinnedMesh:
    """A thin double pyramid along every bone, rigidly bound to the bone's parent joint.

    Used where a format's readers need some mesh to show a skeleton (glTF skins must deform a mesh).
    rest_joints: (55, 3) metres, smplx model coordinates. kept_joints: smplx indices of exported joints.
    """
    kept = set(int(j) for j in kept_joints)
    vertices, faces, owners = [], [], []
    for j in sorted(kept):
        parent = PARENTS[j]
        if parent < 0:
            continue
        head, tail = rest_joints[parent], rest_joints[j]
        axis = tail - head
        length = float(np.linalg.norm(axis))
        if length < 1e-6:
            continue
        axis = axis / length
        helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        side = np.cross(axis, helper)
        side /= np.linalg.norm(side)
        up = np.cross(axis, side)
        radius = 0.1 * length
        ring = [head + 0.2 * length * axis + radius * d for d in (side, up, -side, -up)]
        base = len(vertices)
        vertices += [head, tail, *ring]
        for k in range(4):
            a, b = base + 2 + k, base + 2 + (k + 1) % 4
            faces += [(base, b, a), (base + 1, a, b)]
        owners += [parent] * 6
    weights = np.zeros((len(vertices), NUM_JOINTS), dtype=np.float32)
    weights[np.arange(len(vertices)), owners] = 1.0
    return SkinnedMesh(np.array(vertices), np.array(faces), weights, name="Skeleton")
