"""Retargeting SMPL-X poses onto another rig: the SMPL-X joint ↔ Anny bone map and rest-pose alignment.

An avatar whose rest pose differs from SMPL-X's T-pose (Anny stands in an A-pose, with other bone
proportions) is posed in two steps (numpy only, no rig library needed):

1. `align_rest_pose` computes, per SMPL-X joint j, a rotation A_j that turns the avatar's bones of j
   from their rest pose into SMPL-X's rest pose (so the avatar then stands in a T-pose whose bones point
   where SMPL-X's do), and the avatar's joints in that T-pose.
2. `joint_transforms` turns SMPL-X local rotations into one rigid map per joint, from avatar rest
   coordinates to posed coordinates: x -> G_j A_j (x - a_j) + p_j, where G_j is SMPL-X's global
   rotation of joint j, a_j the avatar's rest joint and p_j its posed position
   (`core.skeleton.forward_kinematics` of the T-posed avatar skeleton). Every bone of the avatar that
   SMPL-X joint j drives (`ANNY_BONES_BY_JOINT`) turns by G_j A_j; the avatar places it about its own
   head (carried by its parent bone), which is joint j's map wherever the bone lies on joint j.

So the same parameters give the avatar the same bone directions as SMPL-X, for every bone whose rest
direction the alignment can match: a joint with one child matches it exactly; a joint with several
children (pelvis, spine3, wrists) matches its primary child exactly and turns about it so the
secondary pair lies as in SMPL-X (`TWIST_REFERENCES`); the head keeps the avatar's own carriage on the
neck (aiming it at SMPL-X's eye joints tilted Anny's face ~20° upwards). The remaining, rigid offsets
(pelvis → hips, spine3 → collars, head → eyes and jaw, wrist → knuckles) keep the avatar's own
proportions and rotate with their joint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap_app.core.rotations import axis_angle_to_matrix, cross
from mocap_app.core.skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, forward_kinematics

# SMPL-X finger name → Anny (MakeHuman) finger number; Anny's metacarpals move with the wrist.
_ANNY_FINGER = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}
_TOES = tuple(f"toe{t}-{k}" for t, ks in ((1, (1, 2)), (2, (1, 2, 3)), (3, (1, 2, 3)), (4, (1, 2, 3)),
                                          (5, (1, 2, 3))) for k in ks)


def _side_bones(side: str, s: str) -> dict[str, tuple[str, ...]]:
    """Bones of one side; `side` is SMPL-X's prefix (left/right), `s` Anny's suffix (L/R)."""
    bones = {
        f"{side}_hip": (f"upperleg01.{s}", f"upperleg02.{s}"),
        f"{side}_knee": (f"lowerleg01.{s}", f"lowerleg02.{s}"),
        f"{side}_ankle": (f"foot.{s}",),
        f"{side}_foot": tuple(f"{toe}.{s}" for toe in _TOES),
        f"{side}_collar": (f"clavicle.{s}", f"shoulder01.{s}"),
        f"{side}_shoulder": (f"upperarm01.{s}", f"upperarm02.{s}"),
        f"{side}_elbow": (f"lowerarm01.{s}", f"lowerarm02.{s}"),
        f"{side}_wrist": (f"wrist.{s}", *(f"metacarpal{m}.{s}" for m in range(1, 5))),
        f"{side}_eye_smplhf": (f"eye.{s}",),
    }
    for finger, number in _ANNY_FINGER.items():
        for k in (1, 2, 3):
            bones[f"{side}_{finger}{k}"] = (f"finger{number}-{k}.{s}",)
    return bones


ANNY_BONES_BY_JOINT: dict[str, tuple[str, ...]] = {
    "pelvis": ("root", "pelvis.L", "pelvis.R", "spine05"),
    "spine1": ("spine04", "spine03"),
    "spine2": ("spine02",),
    "spine3": ("spine01",),
    "neck": ("neck01", "neck02", "neck03"),
    "head": ("head",),
    "jaw": (),  # Anny's default rig has no jaw bone: jaw_pose drives its jaw blend shapes instead.
    **_side_bones("left", "L"),
    **_side_bones("right", "R"),
}
"""SMPL-X joint name → the bones of Anny's default rig ("anny", 104 bones) that the joint drives. The
first bone's head is where the avatar has that joint (the jaw's place is fitted, see `avatar.py`)."""

# Joints with several children: (primary children, whose mean the joint's bone points to exactly;
# (from, to) pair whose difference fixes the turn about that direction).
TWIST_REFERENCES: dict[str, tuple[tuple[str, ...], tuple[str, str]]] = {
    "pelvis": (("spine1",), ("right_hip", "left_hip")),
    "spine3": (("neck",), ("right_collar", "left_collar")),
    "left_wrist": (("left_middle1",), ("left_pinky1", "left_index1")),
    "right_wrist": (("right_middle1",), ("right_pinky1", "right_index1")),
}

_CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c in range(NUM_JOINTS) if PARENTS[c] == j) for j in range(NUM_JOINTS))


def primary_bones() -> tuple[tuple[int, int], ...]:
    """(parent, child) joint pairs whose rest direction `align_rest_pose` matches exactly."""
    pairs = []
    for child in range(1, NUM_JOINTS):
        parent = PARENTS[child]
        name = JOINT_NAMES[parent]
        if name in TWIST_REFERENCES:
            primary = TWIST_REFERENCES[name][0]
            if len(primary) == 1 and JOINT_INDEX[primary[0]] == child:
                pairs.append((parent, child))
        elif len(_CHILDREN[parent]) == 1:
            pairs.append((parent, child))
    return tuple(pairs)


def rotation_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(..., 3, 3) smallest rotations turning the directions of `source` (..., 3) into those of `target` (..., 3);
    opposite directions get half a turn about an axis perpendicular to them."""
    a = source / np.linalg.norm(source, axis=-1, keepdims=True)
    b = target / np.linalg.norm(target, axis=-1, keepdims=True)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1, keepdims=True)
    cos = (a * b).sum(axis=-1, keepdims=True)
    helper = np.eye(3)[np.argmin(np.abs(a), axis=-1)]  # the axis least along a: never parallel to it
    axis = np.where((sin < 1e-12) & (cos < 0), np.cross(a, helper), axis)
    size = np.linalg.norm(axis, axis=-1, keepdims=True)
    return axis_angle_to_matrix(axis / np.maximum(size, 1e-12) * np.arctan2(sin, cos))


def orthonormal_frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """(..., 3, 3) orthonormal frames with columns: the direction of `primary` (..., 3), `secondary` (..., 3) made
    perpendicular to it, their cross product."""
    e1 = primary / np.maximum(np.linalg.norm(primary, axis=-1, keepdims=True), 1e-12)
    e2 = secondary - (secondary * e1).sum(axis=-1, keepdims=True) * e1
    e2 = e2 / np.maximum(np.linalg.norm(e2, axis=-1, keepdims=True), 1e-12)
    return np.stack([e1, e2, cross(e1, e2)], axis=-1)


def rotation_from_pairs(primary_from: np.ndarray, secondary_from: np.ndarray,
                        primary_to: np.ndarray, secondary_to: np.ndarray) -> np.ndarray:
    """(3, 3) rotation taking `primary_from` exactly onto the direction of `primary_to`, turned about it
    so that `secondary_from` lands in the plane of `primary_to` and `secondary_to` (TRIAD)."""
    return orthonormal_frame(primary_to, secondary_to) @ orthonormal_frame(primary_from, secondary_from).T


@dataclass(frozen=True)
class RestAlignment:
    """How an avatar's rest skeleton maps onto SMPL-X's rest skeleton.

    rotations: (55, 3, 3) float64 — A_j, turning the avatar's bones of joint j from its rest pose into
        SMPL-X's rest pose (both expressed in smplx model axes: y up, z forward, x = subject's left).
    avatar_rest: (55, 3) float64, metres — the avatar's joints in its own rest pose (smplx model axes).
    tpose_joints: (55, 3) float64, metres — the avatar's joints once aligned (T-pose), pelvis placed on
        the target skeleton's pelvis; `forward_kinematics(tpose_joints, R)` poses the avatar skeleton.
    """

    rotations: np.ndarray
    avatar_rest: np.ndarray
    tpose_joints: np.ndarray


def align_rest_pose(avatar_joints: np.ndarray, target_joints: np.ndarray,
                    leaf_directions: dict[int, np.ndarray] | None = None) -> RestAlignment:
    """Per-joint rotations that put an avatar's rest skeleton into the pose of `target_joints`.

    Args:
        avatar_joints: (55, 3) the avatar's joints in its rest pose, metres, smplx model axes.
        target_joints: (55, 3) SMPL-X's rest (T-pose) joints, same axes (e.g. `REST_JOINTS`).
        leaf_directions: joint index → (3,) direction of the avatar's bone beyond that leaf joint
            (e.g. a finger's last phalanx, towards its tip); it is aligned with the target's bone into
            the joint (a straight finger). Leaves without an entry turn with their parent.

    A joint with one child turns by the smallest rotation that, after its parent's alignment, points
    its bone along the target's (so the avatar keeps its own twist along the limb); joints with
    several children use `TWIST_REFERENCES`; other joints (head, leaves) turn with their parent.
    """
    avatar = np.asarray(avatar_joints, dtype=np.float64)
    target = np.asarray(target_joints, dtype=np.float64)
    leaf_directions = leaf_directions or {}
    rotations = np.empty((NUM_JOINTS, 3, 3))
    for j in range(NUM_JOINTS):
        parent_rotation = np.eye(3) if PARENTS[j] < 0 else rotations[PARENTS[j]]
        name = JOINT_NAMES[j]
        if name in TWIST_REFERENCES:
            primary, (start, end) = TWIST_REFERENCES[name]
            index = [JOINT_INDEX[p] for p in primary]
            s, e = JOINT_INDEX[start], JOINT_INDEX[end]
            rotations[j] = rotation_from_pairs(
                avatar[index].mean(0) - avatar[j], avatar[e] - avatar[s],
                target[index].mean(0) - target[j], target[e] - target[s])
        elif len(_CHILDREN[j]) == 1:
            child = _CHILDREN[j][0]
            swing = rotation_between(parent_rotation @ (avatar[child] - avatar[j]), target[child] - target[j])
            rotations[j] = swing @ parent_rotation
        elif j in leaf_directions:
            bone_in = target[j] - target[PARENTS[j]]
            swing = rotation_between(parent_rotation @ np.asarray(leaf_directions[j], np.float64), bone_in)
            rotations[j] = swing @ parent_rotation
        else:
            rotations[j] = parent_rotation
    tpose = np.empty((NUM_JOINTS, 3))
    tpose[0] = target[0]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        tpose[j] = tpose[p] + rotations[p] @ (avatar[j] - avatar[p])
    return RestAlignment(rotations=rotations, avatar_rest=avatar, tpose_joints=tpose)


@dataclass(frozen=True)
class JointTransforms:
    """Posed rigid maps of N poses, one per SMPL-X joint, from avatar rest coordinates.

    rotations: (N, 55, 3, 3) float64 — G_j A_j. translations: (N, 55, 3) float64, metres —
        p_j - G_j A_j a_j, so a rest point x of joint j's bones goes to rotations @ x + translations.
    joints: (N, 55, 3) float64, metres — the avatar's posed joints p_j.
    """

    rotations: np.ndarray
    translations: np.ndarray
    joints: np.ndarray


def joint_transforms(alignment: RestAlignment, local_rotations: np.ndarray,
                     transl: np.ndarray) -> JointTransforms:
    """Pose the aligned avatar skeleton with SMPL-X rotations.

    Args:
        alignment: from `align_rest_pose`.
        local_rotations: (N, 55, 3, 3) SMPL-X local joint rotations (joint 0 = global_orient).
        transl: (N, 3) smplx `transl`, metres.
    Output points are where smplx puts them: global_orient turns the body about its pelvis, then
    `transl` is added (the camera frame for estimated parameters).
    """
    global_rotations, joints = forward_kinematics(alignment.tpose_joints, local_rotations,
                                                  np.asarray(transl, np.float64))
    rotations = global_rotations @ alignment.rotations
    translations = joints - np.einsum("njab,jb->nja", rotations, alignment.avatar_rest)
    return JointTransforms(rotations=rotations, translations=translations, joints=joints)
