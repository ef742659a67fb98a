"""A reference SMPL-X rest skeleton for when no body model is at hand.

Joint positions of an average adult (1.7-1.8 m) in SMPL-X's rest pose (T-pose, arms horizontal),
in smplx model coordinates: metres, y up, z forward (the way the body faces), +x = the subject's
left; pelvis at the origin. Exporters use it for bone offsets when neither SMPL-X files nor the
default avatar supply the clip's own body.
"""

from __future__ import annotations

import numpy as np

from mocap_app.core.skeleton import JOINT_INDEX, NUM_JOINTS

_LEFT_BODY = {
    "left_hip": (0.06, -0.09, 0.0), "left_knee": (0.10, -0.47, 0.0), "left_ankle": (0.09, -0.87, -0.03),
    "left_foot": (0.11, -0.93, 0.09), "left_collar": (0.07, 0.40, 0.0), "left_shoulder": (0.18, 0.44, -0.01),
    "left_elbow": (0.44, 0.43, -0.03), "left_wrist": (0.69, 0.43, -0.02), "left_eye_smplhf": (0.032, 0.66, 0.085),
}
_SPINE = {
    "pelvis": (0.0, 0.0, 0.0), "spine1": (0.0, 0.10, -0.02), "spine2": (0.0, 0.23, 0.0), "spine3": (0.0, 0.29, 0.02),
    "neck": (0.0, 0.50, -0.01), "head": (0.0, 0.60, 0.03), "jaw": (0.0, 0.57, 0.05),
}
# First joint of each left finger: (base position, pointing direction, segment length in metres).
_LEFT_FINGERS = {
    "index": ((0.790, 0.43, 0.025), (1.0, 0.0, 0.05), 0.038),
    "middle": ((0.795, 0.43, 0.002), (1.0, 0.0, 0.0), 0.042),
    "pinky": ((0.775, 0.43, -0.045), (1.0, 0.0, -0.08), 0.030),
    "ring": ((0.790, 0.43, -0.022), (1.0, 0.0, -0.04), 0.038),
    "thumb": ((0.720, 0.42, 0.030), (0.7, -0.1, 0.7), 0.032),
}


def _build() -> np.ndarray:
    joints = np.zeros((NUM_JOINTS, 3))
    for name, position in {**_SPINE, **_LEFT_BODY}.items():
        joints[JOINT_INDEX[name]] = position
    for finger, (base, direction, segment) in _LEFT_FINGERS.items():
        unit = np.asarray(direction) / np.linalg.norm(direction)
        for k in range(3):
            joints[JOINT_INDEX[f"left_{finger}{k + 1}"]] = np.asarray(base) + unit * segment * k
    for name, i in JOINT_INDEX.items():
        if name.startswith("left_"):
            right = "right_" + name.removeprefix("left_")
            joints[JOINT_INDEX[right]] = joints[i] * (-1.0, 1.0, 1.0)
    joints.flags.writeable = False
    return joints


REST_JOINTS: np.ndarray = _build()
"""(55, 3) float64, metres, smplx model coordinates (y up, z forward), smplx joint order."""
