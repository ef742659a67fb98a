"""Known SMPL-X poses for the landmark-fit tests."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mocap_app.core.skeleton import JOINT_INDEX as J

FINGERS = ("index", "middle", "ring", "pinky")


def facing_camera(yaw: float) -> np.ndarray:
    """global_orient of an upright person turned `yaw` radians from facing the camera."""
    return matrix_to_axis_angle(axis_angle_to_matrix(np.array([np.pi, 0.0, 0.0]))
                                @ axis_angle_to_matrix(np.array([0.0, yaw, 0.0])))


def random_pose(rng: np.random.Generator, yaw: float) -> np.ndarray:
    """(55, 3) a plausible random pose: hinge joints bend their natural way, fingers curl."""
    pose = np.zeros((55, 3))
    pose[0] = facing_camera(yaw)
    for name in ("spine1", "spine2", "spine3", "neck", "head"):
        pose[J[name]] = rng.uniform(-0.15, 0.15, 3)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        pose[J[f"{side}_hip"]] = [rng.uniform(-1.0, 0.3), rng.uniform(-0.3, 0.3), sign * rng.uniform(-0.1, 0.4)]
        pose[J[f"{side}_knee"]] = [rng.uniform(0.1, 1.6), 0.0, 0.0]
        pose[J[f"{side}_ankle"]] = rng.uniform(-0.2, 0.2, 3)
        pose[J[f"{side}_shoulder"]] = [rng.uniform(-0.5, 0.5), sign * rng.uniform(-0.6, 0.4),
                                       sign * rng.uniform(-1.2, 0.4)]
        pose[J[f"{side}_elbow"]] = [0.0, -sign * rng.uniform(0.2, 1.8), 0.0]
        pose[J[f"{side}_wrist"]] = rng.uniform(-0.3, 0.3, 3)
        for finger in FINGERS:
            for k in (1, 2, 3):
                pose[J[f"{side}_{finger}{k}"]] = [0.0, 0.0, -sign * rng.uniform(0.0, 1.2)]
    pose[J["jaw"]] = [rng.uniform(0.0, 0.3), 0.0, 0.0]
    return pose


@pytest.fixture
def camera() -> CameraIntrinsics:
    return CameraIntrinsics.from_fov(640, 480)


def fit_error_pct(pose: np.ndarray, place: np.ndarray, fit, camera: CameraIntrinsics, joints) -> float:
    """2-D error (% of the image height) of `fit`'s `joints` against the true `pose` standing at `place`."""
    from mocap_app.body.metrics import reprojection_error_px
    from mocap_app.estimators.landmarks.synthetic import posed_joints

    _, truth = posed_joints(pose, place)
    _, estimate = posed_joints(fit.full_pose, fit.transl)
    return reprojection_error_px(estimate[joints], truth[joints], camera)[1]
