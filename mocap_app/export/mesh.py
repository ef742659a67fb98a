"""Meshes for exporters: the skinned-mesh record (defined in core, where body models build it) and a stick figure."""

from __future__ import annotations

import numpy as np

from mocap_app.core.mesh import SkinnedMesh
from mocap_app.core.skeleton import NUM_JOINTS, PARENTS

__all__ = ["SkinnedMesh", "stick_figure_mesh"]


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
