"""A clip's body as a skinned mesh for exporters: SMPL-X from the user's files, or the default avatar.

Both are bound to SMPL-X's 55-joint skeleton in its rest pose (T-pose, every bone's rest rotation the
identity), in smplx model coordinates (metres, y up, z forward), so an exporter writes the clip's
local rotations unchanged and the file's skinning deforms the mesh as the body moves.

- SMPL-X: the template shaped by the clip's mean betas, smplx's skinning weights, and the 10 expression
  directions as 20 blend shapes (`expr03_pos` / `expr03_neg`): files and tools such as Blender keep
  shape weights in [0, 1], so each signed coefficient becomes two shapes. A shape holds
  max(1, the clip's peak) units of its coefficient, so its weight is the coefficient (÷ that peak when
  the peak exceeds 1). Not representable in a skinned file: SMPL-X's pose-corrective blend shapes,
  and the small move of head joints that an expression causes.
- Default avatar (Anny): its rest mesh posed into the T-pose of the rest alignment (`avatar.rest_joints()`
  is its skeleton), each of Anny's 104 bone weights summed onto the SMPL-X joint that drives the bone,
  and its 52 ARKit facial blend shapes (jawOpen, ...) animated by `AnnyAvatar.facial_actions`. Binding
  the T-posed mesh with linear blend skinning differs slightly from the avatar's own posing of its A-pose
  mesh where a vertex blends bones of two joints (a few millimetres, see tests) and at the toes, which
  the avatar bends at each toe's base.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import CameraIntrinsics, _frozen_array
from mocap_app.core.mesh import SkinnedMesh
from mocap_app.core.params import MotionClip, SmplxParams
from mocap_app.core.skeleton import NUM_JOINTS

from .avatar import AnnyAvatar
from .smplx_files import available_genders

if TYPE_CHECKING:  # torch and smplx: imported when a SMPL-X body is made
    from .smplx_model import SmplxModel

logger = logging.getLogger(__name__)

MESH_SOURCES = ("auto", "smplx", "avatar")


@dataclass(frozen=True)
class SkinnedBody:
    """A clip's body for an exporter: the mesh and the rest skeleton it is bound to.

    mesh: rest-pose (T-pose) skinned mesh with the clip's per-frame blend-shape weights.
    rest_joints: (55, 3) float64, metres, smplx model coordinates: the bones' rest positions
        (`ExportOptions.rest_joints`); the same body as `mesh`.
    source: "smplx" or "avatar".
    """

    mesh: SkinnedMesh
    rest_joints: np.ndarray
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "rest_joints",
                           _frozen_array(self.rest_joints, np.float64, (NUM_JOINTS, 3), "rest_joints"))


def expression_blend_shapes(directions: np.ndarray, expression: np.ndarray
                            ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Signed expression coefficients as pairs of blend shapes whose weights stay in [0, 1].

    directions: (V, 3, E) vertex offsets per unit coefficient. expression: (T, E) coefficients per frame.
    Returns names (2E,) ("expr00_pos", "expr00_neg", ...), deltas (2E, V, 3) and weights (T, 2E):
    shape k·2 holds +s·direction_k, shape k·2+1 holds −s·direction_k, with s = max(1, the coefficient's
    peak of that sign in the clip), so Σ weight · delta reproduces the coefficients exactly.
    """
    directions = np.asarray(directions, dtype=np.float64)
    expression = np.asarray(expression, dtype=np.float64)
    names, deltas, weights = [], [], []
    for k in range(directions.shape[-1]):
        for suffix, sign in (("pos", 1.0), ("neg", -1.0)):
            signed = np.maximum(sign * expression[:, k], 0.0)
            scale = max(1.0, float(signed.max(initial=0.0)))
            names.append(f"expr{k:02d}_{suffix}")
            deltas.append(sign * scale * directions[:, :, k])
            weights.append(signed / scale)
    return tuple(names), np.stack(deltas), np.stack(weights, axis=1)


def smplx_skinned_body(model: SmplxModel, clip: MotionClip) -> SkinnedBody:
    """SMPL-X shaped by the clip's mean betas, with animated expression blend shapes (see module doc)."""
    betas = clip.betas.mean(axis=0)
    names, deltas, weights = expression_blend_shapes(model.expression_directions, clip.expression)
    mesh = SkinnedMesh(
        vertices=model.rest_vertices(betas), faces=model.faces, skin_weights=model.skin_weights,
        blend_shape_names=names, blend_shape_deltas=deltas, blend_shape_weights=weights, name="SMPLX")
    return SkinnedBody(mesh=mesh, rest_joints=model.rest_joints(betas), source="smplx")


def avatar_skinned_body(avatar: AnnyAvatar, clip: MotionClip) -> SkinnedBody:
    """The default avatar in the T-pose of its rest alignment, weights on SMPL-X joints (see module doc)."""
    rig = avatar.rig
    bone_weights = rig.vertex_bone_weights.astype(np.float64)  # (V, K) K influences per vertex
    bone_indices = rig.vertex_bone_indices
    # The rest pose of `bone_transforms`: all rotations zero, no translation → the aligned T-pose.
    neutral = SmplxParams.neutral(CameraIntrinsics.from_fov(2, 2), transl=np.zeros(3))
    transforms = avatar.bone_transforms([neutral])[0][0]  # (B, 4, 4) Anny rest → T-pose, smplx axes
    blended = np.einsum("vk,vkab->vab", bone_weights, transforms[bone_indices])
    rotations, translations = blended[:, :3, :3], blended[:, :3, 3]
    vertices = np.einsum("vab,vb->va", rotations, avatar.rest_vertices) + translations
    # A blend shape adds an offset before skinning: linear skinning turns it by the blended rotation.
    deltas = np.einsum("vab,kvb->kva", rotations, avatar.facial_directions)

    num_vertices = len(vertices)
    skin_weights = np.zeros((num_vertices, NUM_JOINTS))
    rows = np.repeat(np.arange(num_vertices), bone_weights.shape[1])
    np.add.at(skin_weights, (rows, avatar.bone_joints[bone_indices].ravel()), bone_weights.ravel())
    skin_weights /= skin_weights.sum(axis=1, keepdims=True)

    weights = avatar.facial_actions(clip.jaw_pose, clip.expression, clip.face_weights)
    mesh = SkinnedMesh(
        vertices=vertices, faces=avatar.faces, skin_weights=skin_weights,
        blend_shape_names=avatar.facial_action_labels, blend_shape_deltas=deltas, blend_shape_weights=weights,
        name="Avatar")
    return SkinnedBody(mesh=mesh, rest_joints=avatar.rest_joints(), source="avatar")


def skinned_body(clip: MotionClip, source: str, body_models: Path,
                 progress: Callable[[str], None] | None = None) -> SkinnedBody:
    """The clip's body from `source`: "smplx" (the model file of the clip's gender; BodyModelError when
    missing), "avatar" (the default avatar, built on first use: about a minute, progress lines), or
    "auto" (SMPL-X when that file exists, else the avatar)."""
    if source not in MESH_SOURCES:
        raise ConfigError(f"Unknown mesh source {source!r}.", f"Choose one of {', '.join(MESH_SOURCES)}.")
    if source == "smplx" or (source == "auto" and clip.gender in available_genders(body_models)):
        from .smplx_model import SmplxModel

        return smplx_skinned_body(SmplxModel(body_models, clip.gender), clip)
    if source == "auto":
        logger.info("no SMPL-X %s model in %s: using the default avatar", clip.gender, body_models)
    return avatar_skinned_body(AnnyAvatar(progress=progress).load(), clip)
