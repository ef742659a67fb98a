"""Joint positions from SMPL-X parameters on a rest skeleton (no mesh, no licensed files)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mocap_app.core.params import SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import forward_kinematics

from .rest_skeleton import REST_JOINTS


def posed_joints(params: Sequence[SmplxParams], rest_joints: np.ndarray = REST_JOINTS) -> np.ndarray:
    """(T, 55, 3) metres in the camera frame: where `params` put the joints of `rest_joints` (smplx's
    joint rule: rest joints posed by forward kinematics, then `transl` added)."""
    poses = np.stack([p.full_pose() for p in params])
    transl = np.stack([p.transl for p in params]).astype(np.float64)
    _, joints = forward_kinematics(rest_joints, axis_angle_to_matrix(poses), transl)
    return joints
