"""Rest alignment and pose transfer of `body.retarget`, on synthetic skeletons (no rig library)."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.body.retarget import (
    ANNY_BONES_BY_JOINT,
    TWIST_REFERENCES,
    align_rest_pose,
    axis_angle_to_matrix,
    joint_transforms,
    primary_bones,
    rotation_between,
    rotation_from_pairs,
)
from mocap_app.core.skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, forward_kinematics


def _angles_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _random_poses(rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, 55, 3, 3): random global orientation, joints bent by up to ~0.5 rad per axis."""
    rotvecs = rng.uniform(-0.5, 0.5, (count, NUM_JOINTS, 3))
    rotvecs[:, 0] = rng.normal(0.0, 1.0, (count, 3))
    return axis_angle_to_matrix(rotvecs)


def _distorted_avatar(rng: np.random.Generator) -> np.ndarray:
    """Another rig's rest skeleton: SMPL-X's with other proportions, posed away from the T-pose."""
    offsets = REST_JOINTS - REST_JOINTS[list(PARENTS)] * (np.array(PARENTS) >= 0)[:, None]
    offsets = offsets * rng.uniform(0.8, 1.2, (NUM_JOINTS, 1)) + rng.normal(0, 0.005, (NUM_JOINTS, 3))
    local = axis_angle_to_matrix(rng.uniform(-0.6, 0.6, (1, NUM_JOINTS, 3)))
    rest = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        rest[j] = rest[PARENTS[j]] + offsets[j]
    return forward_kinematics(rest, local)[1][0] + np.array([0.0, 0.9, 0.1])


def test_anny_map_names_every_smplx_joint_and_each_bone_once() -> None:
    assert set(ANNY_BONES_BY_JOINT) == set(JOINT_NAMES)
    bones = [bone for group in ANNY_BONES_BY_JOINT.values() for bone in group]
    assert len(bones) == len(set(bones)) == 104  # Anny's default rig
    finger_words = ("thumb", "index", "middle", "ring", "pinky")
    fingers = [name for name in JOINT_NAMES if name.split("_")[-1][:-1] in finger_words]
    assert len(fingers) == 30
    assert all(len(ANNY_BONES_BY_JOINT[name]) == 1 for name in fingers)  # one phalanx per finger joint


def test_axis_angle_to_matrix_matches_known_rotations() -> None:
    quarter_z = axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    np.testing.assert_allclose(quarter_z @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(axis_angle_to_matrix(np.zeros((2, 3))), np.broadcast_to(np.eye(3), (2, 3, 3)))


@pytest.mark.parametrize("target", [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [1.0, 1e-14, 0.0], [0.3, -0.2, 0.9]])
def test_rotation_between_turns_source_onto_target(target: list[float]) -> None:
    source = np.array([1.0, 0.0, 0.0])
    rotation = rotation_between(source, np.array(target))
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rotation @ source, np.array(target) / np.linalg.norm(target), atol=1e-12)


def test_rotation_from_pairs_recovers_a_rotation() -> None:
    truth = axis_angle_to_matrix(np.array([0.4, -1.1, 0.7]))
    a, b = np.array([0.1, 1.0, 0.2]), np.array([1.0, 0.0, -0.3])
    np.testing.assert_allclose(rotation_from_pairs(a, b, truth @ a, truth @ b), truth, atol=1e-12)


def test_aligned_rest_pose_points_primary_bones_like_smplx() -> None:
    avatar = _distorted_avatar(np.random.default_rng(3))
    alignment = align_rest_pose(avatar, REST_JOINTS)
    np.testing.assert_allclose(alignment.tpose_joints[0], REST_JOINTS[0])
    for parent, child in primary_bones():
        bone = alignment.tpose_joints[child] - alignment.tpose_joints[parent]
        assert _angles_deg(bone, REST_JOINTS[child] - REST_JOINTS[parent]) < 1e-4, JOINT_NAMES[child]
        # Bone lengths stay the avatar's own.
        assert np.linalg.norm(bone) == pytest.approx(np.linalg.norm(avatar[child] - avatar[parent]))
    # The turn about each multi-child joint's primary bone puts its secondary pair in SMPL-X's plane.
    for name, (_, (start, end)) in TWIST_REFERENCES.items():
        j, s, e = JOINT_INDEX[name], JOINT_INDEX[start], JOINT_INDEX[end]
        primary = REST_JOINTS[JOINT_INDEX[TWIST_REFERENCES[name][0][0]]] - REST_JOINTS[j]
        normal_target = np.cross(primary, REST_JOINTS[e] - REST_JOINTS[s])
        normal_avatar = np.cross(primary, alignment.tpose_joints[e] - alignment.tpose_joints[s])
        assert _angles_deg(normal_avatar, normal_target) < 1e-4, name


def test_posed_avatar_bones_follow_smplx_for_random_poses() -> None:
    rng = np.random.default_rng(4)
    avatar = _distorted_avatar(rng)
    alignment = align_rest_pose(avatar, REST_JOINTS)
    local, transl = _random_poses(rng, 32), rng.normal(0.0, 1.0, (32, 3))
    posed = joint_transforms(alignment, local, transl)
    smplx_joints = forward_kinematics(REST_JOINTS, local, transl)[1]
    np.testing.assert_allclose(posed.joints[:, 0], smplx_joints[:, 0], atol=1e-12)
    for parent, child in primary_bones():
        errors = _angles_deg(posed.joints[:, child] - posed.joints[:, parent],
                             smplx_joints[:, child] - smplx_joints[:, parent])
        assert errors.max() < 1e-4, JOINT_NAMES[child]
    # Each joint's rigid map carries the avatar's rest joint onto its posed place, and its children's
    # rest joints onto theirs (the skin of neighbouring joints meets).
    for j in range(NUM_JOINTS):
        for c in (c for c in range(NUM_JOINTS) if c == j or PARENTS[c] == j):
            moved = np.einsum("nab,b->na", posed.rotations[:, j], avatar[c]) + posed.translations[:, j]
            np.testing.assert_allclose(moved, posed.joints[:, c], atol=1e-9)


def test_leaf_direction_straightens_the_last_finger_bone() -> None:
    avatar = _distorted_avatar(np.random.default_rng(5))
    tip = JOINT_INDEX["left_index3"]
    curled = avatar[tip] - avatar[PARENTS[tip]] + np.array([0.0, -0.01, 0.0])
    alignment = align_rest_pose(avatar, REST_JOINTS, {tip: curled})
    straight = REST_JOINTS[tip] - REST_JOINTS[PARENTS[tip]]
    assert _angles_deg(alignment.rotations[tip] @ curled, straight) < 1e-4
