from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial.transform import Rotation

from mocap_app.core.skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, forward_kinematics


def test_joint_table_matches_smplx_order() -> None:
    assert NUM_JOINTS == 55 == len(PARENTS)
    assert JOINT_NAMES[:3] == ("pelvis", "left_hip", "right_hip")
    assert JOINT_NAMES[22:25] == ("jaw", "left_eye_smplhf", "right_eye_smplhf")
    assert JOINT_NAMES[25] == "left_index1" and JOINT_NAMES[40] == "right_index1" and JOINT_NAMES[54] == "right_thumb3"
    assert all(PARENTS[j] < j for j in range(1, NUM_JOINTS)) and PARENTS[0] == -1
    parent = {name: JOINT_NAMES[PARENTS[i]] for i, name in enumerate(JOINT_NAMES) if i}
    assert parent["left_wrist"] == "left_elbow" and parent["head"] == "neck" and parent["jaw"] == "head"
    assert parent["left_thumb1"] == "left_wrist" and parent["right_pinky3"] == "right_pinky2"
    assert parent["left_collar"] == parent["neck"] == "spine3"


def rz(degrees: float) -> np.ndarray:
    return Rotation.from_euler("z", degrees, degrees=True).as_matrix()


def test_fk_of_a_hand_computed_planar_chain() -> None:
    # Three joints on the x axis, 1 m apart; bend 90° at the root and 90° at the middle joint.
    rest = np.array([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0]])
    rotations = np.stack([rz(90), rz(90), np.eye(3)])[None]
    global_rot, joints = forward_kinematics(rest, rotations, np.array([[0.5, 0.0, 0.0]]), parents=(-1, 0, 1))
    # root stays (plus translation); joint 1 swings to +y; joint 2 turns back to -x from there.
    np.testing.assert_allclose(joints[0], [[0.5, 0, 0], [0.5, 1, 0], [-0.5, 1, 0]], atol=1e-12)
    np.testing.assert_allclose(global_rot[0, 2], rz(180), atol=1e-12)


def test_fk_left_arm_chain_of_the_smplx_skeleton_against_hand_composition() -> None:
    rng = np.random.default_rng(3)
    rest = rng.normal(size=(NUM_JOINTS, 3))
    rotvecs = rng.normal(scale=0.5, size=(2 * NUM_JOINTS, 3))
    local = Rotation.from_rotvec(rotvecs).as_matrix().reshape(2, NUM_JOINTS, 3, 3)
    transl = rng.normal(size=(2, 3))
    _, joints = forward_kinematics(rest, local, transl)
    chain = [0, 3, 6, 9, 13, 16, 18, 20]  # pelvis → spine1-3 → left collar → shoulder → elbow → wrist
    for t in range(2):
        rotation, position = local[t, 0], rest[0] + transl[t]
        for parent, child in itertools.pairwise(chain):
            position = position + rotation @ (rest[child] - rest[parent])
            rotation = rotation @ local[t, child]
            np.testing.assert_allclose(joints[t, child], position, atol=1e-12)


def test_fk_identity_pose_returns_rest_joints_for_every_frame() -> None:
    rest = np.random.default_rng(0).normal(size=(NUM_JOINTS, 3))
    identity = np.broadcast_to(np.eye(3), (4, NUM_JOINTS, 3, 3))
    _, joints = forward_kinematics(rest, identity)
    np.testing.assert_allclose(joints, np.broadcast_to(rest, (4, NUM_JOINTS, 3)), atol=1e-12)
    assert JOINT_INDEX["right_wrist"] == 21
