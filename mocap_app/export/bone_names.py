"""Bone-name conventions for exported skeletons: SMPL-X's own names or those of common rigs.

Each table maps every SMPL-X joint (`core.skeleton.JOINT_NAMES`) to the name a target tool's
retargeting presets expect: Mixamo ("mixamorig:" prefix), the Unreal Engine mannequin, and Unity's
humanoid avatar (`HumanBodyBones` names). SMPL-X's three spine joints map to each rig's three lower
spine bones; jaw and eyes use the rig's face names where it has them.
"""

from __future__ import annotations

from mocap_app.core.skeleton import JOINT_NAMES

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")


def _table(body: dict[str, str], finger: dict[str, str], segment: tuple[str, str, str],
           side: dict[str, str], template: str) -> dict[str, str]:
    """Build a full 55-joint table from body names plus a finger naming rule."""
    names = dict(body)
    for smplx_side, rig_side in side.items():
        for f in _FINGERS:
            for k in range(3):
                names[f"{smplx_side}_{f}{k + 1}"] = template.format(side=rig_side, finger=finger[f], seg=segment[k])
    return names


_MIXAMO = _table(
    {"pelvis": "Hips", "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg", "spine1": "Spine",
     "left_knee": "LeftLeg", "right_knee": "RightLeg", "spine2": "Spine1", "left_ankle": "LeftFoot",
     "right_ankle": "RightFoot", "spine3": "Spine2", "left_foot": "LeftToeBase", "right_foot": "RightToeBase",
     "neck": "Neck", "left_collar": "LeftShoulder", "right_collar": "RightShoulder", "head": "Head",
     "left_shoulder": "LeftArm", "right_shoulder": "RightArm", "left_elbow": "LeftForeArm",
     "right_elbow": "RightForeArm", "left_wrist": "LeftHand", "right_wrist": "RightHand", "jaw": "Jaw",
     "left_eye_smplhf": "LeftEye", "right_eye_smplhf": "RightEye"},
    {"index": "Index", "middle": "Middle", "pinky": "Pinky", "ring": "Ring", "thumb": "Thumb"},
    ("1", "2", "3"), {"left": "Left", "right": "Right"}, "{side}Hand{finger}{seg}")
MIXAMO = {k: f"mixamorig:{v}" for k, v in _MIXAMO.items()}

UNREAL = _table(
    {"pelvis": "pelvis", "left_hip": "thigh_l", "right_hip": "thigh_r", "spine1": "spine_01",
     "left_knee": "calf_l", "right_knee": "calf_r", "spine2": "spine_02", "left_ankle": "foot_l",
     "right_ankle": "foot_r", "spine3": "spine_03", "left_foot": "ball_l", "right_foot": "ball_r",
     "neck": "neck_01", "left_collar": "clavicle_l", "right_collar": "clavicle_r", "head": "head",
     "left_shoulder": "upperarm_l", "right_shoulder": "upperarm_r", "left_elbow": "lowerarm_l",
     "right_elbow": "lowerarm_r", "left_wrist": "hand_l", "right_wrist": "hand_r", "jaw": "jaw",
     "left_eye_smplhf": "eye_l", "right_eye_smplhf": "eye_r"},
    {"index": "index", "middle": "middle", "pinky": "pinky", "ring": "ring", "thumb": "thumb"},
    ("01", "02", "03"), {"left": "l", "right": "r"}, "{finger}_{seg}_{side}")

UNITY = _table(
    {"pelvis": "Hips", "left_hip": "LeftUpperLeg", "right_hip": "RightUpperLeg", "spine1": "Spine",
     "left_knee": "LeftLowerLeg", "right_knee": "RightLowerLeg", "spine2": "Chest", "left_ankle": "LeftFoot",
     "right_ankle": "RightFoot", "spine3": "UpperChest", "left_foot": "LeftToes", "right_foot": "RightToes",
     "neck": "Neck", "left_collar": "LeftShoulder", "right_collar": "RightShoulder", "head": "Head",
     "left_shoulder": "LeftUpperArm", "right_shoulder": "RightUpperArm", "left_elbow": "LeftLowerArm",
     "right_elbow": "RightLowerArm", "left_wrist": "LeftHand", "right_wrist": "RightHand", "jaw": "Jaw",
     "left_eye_smplhf": "LeftEye", "right_eye_smplhf": "RightEye"},
    {"index": "Index", "middle": "Middle", "pinky": "Little", "ring": "Ring", "thumb": "Thumb"},
    ("Proximal", "Intermediate", "Distal"), {"left": "Left", "right": "Right"}, "{side}{finger}{seg}")

BONE_NAME_TABLES: dict[str, dict[str, str]] = {
    "smplx": {name: name for name in JOINT_NAMES},
    "mixamo": MIXAMO,
    "unreal": UNREAL,
    "unity": UNITY,
}
"""convention → {smplx joint name → exported bone name}, each covering all 55 joints."""


def bone_names(convention: str) -> tuple[str, ...]:
    """The 55 bone names of `convention`, in smplx joint order."""
    table = BONE_NAME_TABLES[convention]
    return tuple(table[name] for name in JOINT_NAMES)
