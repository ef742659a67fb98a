"""An SMPL-X record as the pose of a VRM avatar in Unity: the bones' local rotations and positions and the root.

Frames and the conversion, exactly:
- camera (the record's): x right, y down, z forward (OpenCV).
- world (the exporters', `export.motion`): y up, z towards the camera, x = the subject's left;
  camera → world is 180° about x, C = diag(1, -1, -1).
- Unity: left-handed, Y up; a humanoid stands facing +Z with its left side towards -X. A subject facing the camera
  faces +z in the world, so Unity is the world with x negated: S = diag(-1, 1, 1), a mirror (det -1) that turns
  the right-handed frame into Unity's left-handed one. Seen from a Unity camera in front of the avatar (at +Z
  looking down -Z) the avatar looks as the subject does in the video.
- A point p becomes S·p; a rotation R becomes S·R·S, i.e. the quaternion (x, y, z, w) becomes (x, -y, -z, w).
- Relative to the T-pose: SMPL-X's rest pose is a T-pose (arms along ±x, palms down) whose joint frames all lie
  along the model axes, as a VRM avatar's normalized bones do in its T-pose (identity local rotations). A joint's
  smplx rotation R (relative to its parent) is then the bone's Unity `localRotation` S·R·S, bone for bone, since
  the SMPL-X tree and the humanoid tree agree (spine1/2/3 = Spine/Chest/UpperChest, collars = shoulders).
  Hips gets its world rotation S·C·R_global·S: the root carries none.
- Root (`/VMC/Ext/Root/Pos`): on the floor under the pelvis, horizontally relative to where the stream's first
  frame had it, identity rotation. The floor is the lowest sole point of the frame (heels and toes,
  `body.feet.sole_points`; a monocular estimate's depth and height drift, the feet on the floor hold the avatar
  there). Hips sits above the root at the pelvis' height over that point; every other bone's local position is
  its rest offset from its parent. Metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap_app.body.feet import sole_points
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.params import SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import PARENTS, forward_kinematics
from mocap_app.export.bone_names import bone_names
from mocap_app.export.rotations import matrix_to_quaternion

# UnityEngine.HumanBodyBones in enum order (0-54), without the LastBone sentinel.
HUMAN_BODY_BONES: tuple[str, ...] = (
    "Hips", "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot", "RightFoot",
    "Spine", "Chest", "Neck", "Head", "LeftShoulder", "RightShoulder", "LeftUpperArm", "RightUpperArm",
    "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand", "LeftToes", "RightToes", "LeftEye", "RightEye", "Jaw",
    "LeftThumbProximal", "LeftThumbIntermediate", "LeftThumbDistal",
    "LeftIndexProximal", "LeftIndexIntermediate", "LeftIndexDistal",
    "LeftMiddleProximal", "LeftMiddleIntermediate", "LeftMiddleDistal",
    "LeftRingProximal", "LeftRingIntermediate", "LeftRingDistal",
    "LeftLittleProximal", "LeftLittleIntermediate", "LeftLittleDistal",
    "RightThumbProximal", "RightThumbIntermediate", "RightThumbDistal",
    "RightIndexProximal", "RightIndexIntermediate", "RightIndexDistal",
    "RightMiddleProximal", "RightMiddleIntermediate", "RightMiddleDistal",
    "RightRingProximal", "RightRingIntermediate", "RightRingDistal",
    "RightLittleProximal", "RightLittleIntermediate", "RightLittleDistal",
    "UpperChest",
)
UNITY_BONES = bone_names("unity")  # (55,) the humanoid bone of each smplx joint, smplx order

CAMERA_TO_WORLD = np.diag([1.0, -1.0, -1.0])  # as export.motion: 180° about x
WORLD_TO_UNITY = np.diag([-1.0, 1.0, 1.0])  # x negated: right-handed world → Unity's left-handed frame


@dataclass(frozen=True)
class UnityPose:
    """One person's pose for a Unity humanoid, in Unity's axes, metres.

    bones: (B,) HumanBodyBones names, smplx joint order. local_positions: (B, 3) each bone's position in its
    parent (Hips: in the root). local_rotations: (B, 4) quaternions (x, y, z, w), each relative to its parent
    (Hips: to the root). root_position: (3,) the root on the floor; root_rotation: (4,) identity.
    pelvis_world: (3,) the pelvis in the world frame (y up), for the next frame's horizontal origin.
    """

    bones: tuple[str, ...]
    local_positions: np.ndarray
    local_rotations: np.ndarray
    root_position: np.ndarray
    root_rotation: np.ndarray
    pelvis_world: np.ndarray


def to_unity_rotation(rotations: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations in world axes → (..., 4) Unity quaternions (x, y, z, w): S·R·S."""
    return matrix_to_quaternion(WORLD_TO_UNITY @ rotations @ WORLD_TO_UNITY)


def unity_pose(params: SmplxParams, rest_joints: np.ndarray = REST_JOINTS,
               origin_world: np.ndarray | None = None) -> UnityPose:
    """`params` (camera frame) as a Unity humanoid pose (see the module doc). rest_joints: (55, 3) metres, model
    axes, of the skeleton the estimate was fitted on; origin_world: (3,) world point whose floor spot is the
    root's origin (None: this frame's pelvis, the root at (0, 0, 0))."""
    rest = np.asarray(rest_joints, dtype=np.float64)
    local = axis_angle_to_matrix(params.full_pose())  # (55, 3, 3), each joint relative to its parent
    local[0] = CAMERA_TO_WORLD @ local[0]
    rotations, joints = forward_kinematics(rest, local[None])  # pelvis at its rest position
    height = rest[0, 1] - sole_points(rotations, joints, rest)[..., 1].min()
    pelvis_world = CAMERA_TO_WORLD @ (rest[0] + params.transl)
    origin = pelvis_world if origin_world is None else np.asarray(origin_world, dtype=np.float64)
    root = WORLD_TO_UNITY @ (pelvis_world - origin)
    root[1] = 0.0  # on the floor
    offsets = rest - rest[np.maximum(np.array(PARENTS), 0)]
    offsets[0] = (0.0, height, 0.0)
    return UnityPose(UNITY_BONES, offsets @ WORLD_TO_UNITY, to_unity_rotation(local), root,
                     np.array([0.0, 0.0, 0.0, 1.0]), pelvis_world)
