"""The SMPL-X skeleton: joint names and parents in smplx's joint order, and forward kinematics.

This is the one joint table of the app: exporters, retargeting and estimators import it.
"""

from __future__ import annotations

import numpy as np

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "jaw", "left_eye_smplhf", "right_eye_smplhf",
    *(f"left_{finger}{k}" for finger in _FINGERS for k in (1, 2, 3)),
    *(f"right_{finger}{k}" for finger in _FINGERS for k in (1, 2, 3)),
)
NUM_JOINTS = len(JOINT_NAMES)  # 55


def _hand_parents(wrist: int, first: int) -> list[int]:
    # Each finger is a 3-joint chain hanging off the wrist.
    return [p for f in range(5) for p in (wrist, first + 3 * f, first + 3 * f + 1)]


PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
    15, 15, 15,
    *_hand_parents(20, 25),
    *_hand_parents(21, 40),
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}


def forward_kinematics(
    rest_joints: np.ndarray,
    local_rotations: np.ndarray,
    root_translation: np.ndarray | None = None,
    parents: tuple[int, ...] = PARENTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Pose a skeleton: local joint rotations → global rotations and joint positions.

    Args:
        rest_joints: (J, 3) or (T, J, 3) joint positions in the rest pose (metres).
        local_rotations: (T, J, 3, 3) rotation matrices, each relative to its parent joint
            (joint 0 relative to the world).
        root_translation: (T, 3) added to every joint (smplx's `transl`), or None.
        parents: parent index of each joint, -1 for the root; parents[j] < j.

    Returns:
        global_rotations: (T, J, 3, 3) world rotation of each joint.
        joints: (T, J, 3) world positions, same units as `rest_joints`.
    """
    local_rotations = np.asarray(local_rotations, dtype=np.float64)
    num_frames, num_joints = local_rotations.shape[:2]
    rest = np.broadcast_to(np.asarray(rest_joints, dtype=np.float64), (num_frames, num_joints, 3))
    global_rotations = np.empty_like(local_rotations)
    joints = np.empty((num_frames, num_joints, 3))
    for j, parent in enumerate(parents[:num_joints]):
        if parent < 0:
            global_rotations[:, j] = local_rotations[:, j]
            joints[:, j] = rest[:, j]
            continue
        global_rotations[:, j] = global_rotations[:, parent] @ local_rotations[:, j]
        offset = rest[:, j] - rest[:, parent]
        joints[:, j] = joints[:, parent] + np.einsum("tab,tb->ta", global_rotations[:, parent], offset)
    if root_translation is not None:
        joints += np.asarray(root_translation, dtype=np.float64)[:, None, :]
    return global_rotations, joints
