"""Joint positions from SMPL-X parameters on a rest skeleton (no mesh, no licensed files)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mocap_app.core.params import SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import forward_kinematics

from .rest_skeleton import REST_JOINTS


def joint_positions(full_pose: np.ndarray, transl: np.ndarray, rest_joints: np.ndarray = REST_JOINTS) -> np.ndarray:
    """(T, 55, 3) metres in the camera frame: where T poses (T, 55, 3) axis-angle and translations (T, 3)
    put the joints of `rest_joints` (smplx's joint rule: rest joints posed by forward kinematics, then
    `transl` added)."""
    _, joints = forward_kinematics(rest_joints, axis_angle_to_matrix(full_pose),
                                   np.asarray(transl, dtype=np.float64))
    return joints


def posed_joints(params: Sequence[SmplxParams], rest_joints: np.ndarray = REST_JOINTS) -> np.ndarray:
    """(T, 55, 3) metres in the camera frame: `joint_positions` of the records `params`."""
    return joint_positions(np.stack([p.full_pose() for p in params]), np.stack([p.transl for p in params]),
                           rest_joints)
