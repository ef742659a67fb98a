"""FBX with the clip's body mesh: SMPL-X (synthetic model file) and the default avatar, re-read by ufbx and Blender."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mocap_app.body.avatar import AnnyAvatar, AvatarCache
from mocap_app.body.skinned import SkinnedBody, avatar_skinned_body, expression_blend_shapes, smplx_skinned_body
from mocap_app.core.params import MotionClip
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX, forward_kinematics
from mocap_app.export import ExportOptions, export_clip
from mocap_app.export.motion import skeleton_motion

from .conftest import (
    REPO,
    Y_UP_TO_BLENDER,
    blender_errors,
    make_clip,
    read_with,
    read_with_blender,
    skinned_vertices,
)

FRAMES = [0, 9, 17]


@pytest.fixture(scope="module")
def face_clip() -> MotionClip:
    """The test clip with a talking face: expression coefficients up to ±2 and the jaw opening."""
    clip = make_clip(num_frames=18, gender="neutral")
    t = np.arange(clip.num_frames)[:, None]
    expression = 2.0 * np.sin(0.4 * t + np.arange(10)[None]) * np.linspace(1.0, 0.2, 10)[None]
    jaw = clip.jaw_pose.copy()
    jaw[:, 0] = 0.2 + 0.15 * np.sin(0.5 * t[:, 0])  # open, by varying amounts
    return dataclasses.replace(clip, expression=expression, jaw_pose=jaw)


@pytest.fixture(scope="module")
def smplx_body(smplx_model, face_clip) -> SkinnedBody:
    return smplx_skinned_body(smplx_model, face_clip)


@pytest.fixture(scope="module")
def avatar() -> AnnyAvatar:
    cache = AvatarCache(anny_dir=REPO / ".cache" / "anny", warp_dir=REPO / ".cache" / "warp")
    return AnnyAvatar(cache=cache, progress=lambda line: None).load()


@pytest.fixture(scope="module")
def avatar_body(avatar, face_clip) -> SkinnedBody:
    return avatar_skinned_body(avatar, face_clip)


def _skin_in_model_frame(body: SkinnedBody, clip: MotionClip, frames: list[int]) -> np.ndarray:
    """(N, V, 3) linear blend skinning of the body's mesh where smplx puts a posed body (camera frame)."""
    mesh = body.mesh
    rotations, joints = forward_kinematics(body.rest_joints, axis_angle_to_matrix(clip.full_pose()[frames]),
                                           clip.transl[frames].astype(np.float64))
    shaped = mesh.vertices + np.einsum("tk,kvc->tvc", mesh.blend_shape_weights[frames], mesh.blend_shape_deltas)
    per_joint = np.einsum("tjab,tvjb->tvja", rotations, shaped[:, :, None] - body.rest_joints) + joints[:, None]
    return np.einsum("vj,tvja->tva", mesh.skin_weights, per_joint)


def test_expression_splits_into_positive_and_negative_shapes_with_weights_in_0_1():
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(7, 3, 2))
    expression = np.array([[0.5, -2.5], [-0.25, 1.0], [0.0, 0.4]])
    names, deltas, weights = expression_blend_shapes(directions, expression)
    assert names == ("expr00_pos", "expr00_neg", "expr01_pos", "expr01_neg")
    assert weights.min() >= 0.0 and weights.max() <= 1.0
    np.testing.assert_allclose(np.einsum("tk,kvc->tvc", weights, deltas),
                               np.einsum("vck,tk->tvc", directions, expression), atol=1e-12)
    # Coefficients within ±1 keep unit shapes (weight = coefficient); larger peaks scale the shape.
    np.testing.assert_allclose(deltas[0], directions[:, :, 0])
    np.testing.assert_allclose(deltas[3], -2.5 * directions[:, :, 1])


def test_smplx_body_is_the_models_shaped_t_pose_and_skins_like_smplx(smplx_model, smplx_body, face_clip):
    mesh = smplx_body.mesh
    betas = face_clip.betas.mean(axis=0)
    assert len(mesh.vertices) == smplx_model.num_vertices and smplx_body.source == "smplx"
    np.testing.assert_allclose(smplx_body.rest_joints, smplx_model.rest_joints(betas), atol=1e-6)
    assert mesh.num_blend_shapes == 20 and mesh.blend_shape_names[6] == "expr03_pos"
    assert mesh.blend_shape_weights.max() == pytest.approx(1.0) and mesh.blend_shape_weights.min() == 0.0
    # Our skinning of the exported mesh = smplx's own posed body, up to what a skinned file cannot hold
    # (pose correctives, the joints' small move with expression).
    frames = [0, 5, 11]
    ours = _skin_in_model_frame(smplx_body, face_clip, frames)
    reference = smplx_model.forward([face_clip.frame(f) for f in frames]).vertices
    distance = np.linalg.norm(ours - reference, axis=-1)
    assert distance.max() < 0.01 and distance.mean() < 0.002


def test_avatar_body_is_its_t_pose_with_weights_on_smplx_joints(avatar, avatar_body, face_clip):
    mesh = avatar_body.mesh
    assert len(mesh.vertices) == 13718 and avatar_body.source == "avatar"
    assert mesh.blend_shape_names == avatar.facial_action_labels and "jawOpen" in mesh.blend_shape_names
    np.testing.assert_allclose(avatar_body.rest_joints, avatar.rest_joints(), atol=1e-6)
    assert not mesh.skin_weights[:, JOINT_INDEX["jaw"]].any()  # the jaw moves through blend shapes
    jaw_open = mesh.blend_shape_weights[:, mesh.blend_shape_names.index("jawOpen")]
    np.testing.assert_allclose(jaw_open, avatar.facial_actions(face_clip.jaw_pose, face_clip.expression)[
        :, avatar.facial_action_labels.index("jawOpen")], atol=1e-6)
    assert jaw_open.min() > 0.1
    # Re-bound in the T-pose with linear blend skinning, the mesh follows the avatar's own posing: exactly
    # at rest, and within millimetres (centimetres where a vertex blends two joints bent far) when posed.
    rest = dataclasses.replace(face_clip, **{name: np.zeros_like(getattr(face_clip, name)) for name in (
        "global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "leye_pose", "reye_pose",
        "transl")})
    np.testing.assert_allclose(_skin_in_model_frame(avatar_body, rest, [0])[0],
                               avatar.forward(rest.frame(0)).vertices[0], atol=1e-5)
    frames = [0, 5, 11]
    distance = np.linalg.norm(_skin_in_model_frame(avatar_body, face_clip, frames)
                              - avatar.forward([face_clip.frame(f) for f in frames]).vertices, axis=-1)
    assert distance.mean() < 0.003 and np.percentile(distance, 99) < 0.02 and distance.max() < 0.05


@pytest.mark.parametrize("which", ["smplx", "avatar"])
def test_fbx_with_body_mesh_reads_back_in_ufbx(which, request, face_clip, tmp_path: Path):
    pytest.importorskip("ufbx", reason="ufbx (test-only FBX reader) is not installed")
    body: SkinnedBody = request.getfixturevalue(f"{which}_body")
    options = ExportOptions(rest_joints=body.rest_joints, mesh=body.mesh)
    path = export_clip(face_clip, tmp_path / f"{which}.fbx", options)
    data = read_with("ufbx", path, FRAMES)
    motion = skeleton_motion(face_clip, options)
    assert data["meshes"] == 1 and data["mesh_vertices"] == [len(body.mesh.vertices)]
    assert data["skin_deformers"] == 1
    assert data["skin_clusters"] == int((body.mesh.skin_weights.max(axis=0) > 0).sum())
    assert sorted(data["blend"]) == sorted(body.mesh.blend_shape_names)
    for k, name in enumerate(body.mesh.blend_shape_names):
        np.testing.assert_allclose(data["blend"][name]["weights"], body.mesh.blend_shape_weights[FRAMES, k],
                                   atol=1e-5)
    for j, name in enumerate(motion.names):  # the bones stand on the mesh's own skeleton
        np.testing.assert_allclose(data["rest_translation"][name], motion.offsets[j], atol=1e-6)


@pytest.mark.parametrize("which", ["smplx", "avatar"])
def test_fbx_body_mesh_in_blender_deforms_like_our_skinning(which, request, face_clip, tmp_path: Path, blender):
    body: SkinnedBody = request.getfixturevalue(f"{which}_body")
    options = ExportOptions(rest_joints=body.rest_joints, mesh=body.mesh)
    path = export_clip(face_clip, tmp_path / f"{which}.fbx", options)
    motion = skeleton_motion(face_clip, options)
    data = read_with_blender("fbx", path, face_clip.fps, FRAMES)
    assert data["meshes"] == 1 and len(data["bones"]) == 55
    assert data["shape_keys"][1:] == list(body.mesh.blend_shape_names)
    # Rest pose = the body's T-pose: every bone head where the rest skeleton has its joint (cm → Blender m).
    for j, name in enumerate(motion.names):
        np.testing.assert_allclose(Y_UP_TO_BLENDER.T @ np.array(data["rest_heads"][name]) / 0.01,
                                   motion.rest_positions[j], atol=1e-3)
    rotation_error, position_error = blender_errors(data, motion, Y_UP_TO_BLENDER, FRAMES, root_scale=0.01)
    assert rotation_error < 0.1 and position_error < 1e-3
    for f in FRAMES:
        sample = data["samples"][str(f)]
        np.testing.assert_allclose([sample["shapes"][n] for n in body.mesh.blend_shape_names],
                                   body.mesh.blend_shape_weights[f], atol=1e-4)
        blender_vertices = np.array(sample["vertices"]) @ Y_UP_TO_BLENDER / 0.01  # back to file axes, cm
        np.testing.assert_allclose(blender_vertices, skinned_vertices(body.mesh, motion, f), atol=0.05)
