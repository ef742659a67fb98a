"""Pose accuracy metrics shared by evaluations and tests."""

from __future__ import annotations

import numpy as np

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.rotations import axis_angle_to_matrix


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """PA-MPJPE: mean joint distance (same unit as the inputs) after the best similarity transform
    (rotation, uniform scale, translation; Procrustes) of `pred` (J, 3) onto `gt` (J, 3)."""
    p, g = pred - pred.mean(0), gt - gt.mean(0)
    u, s, vt = np.linalg.svd(p.T @ g)
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, d]) @ vt
    scale = (s * [1.0, 1.0, d]).sum() / (p**2).sum()
    return float(np.linalg.norm(scale * p @ rotation - g, axis=1).mean())


def rotation_errors_deg(pred_pose: np.ndarray, gt_pose: np.ndarray) -> np.ndarray:
    """(J,) geodesic angles in degrees between two (J, 3) axis-angle poses, joint by joint."""
    relative = np.swapaxes(axis_angle_to_matrix(pred_pose), -1, -2) @ axis_angle_to_matrix(gt_pose)
    cos = (np.trace(relative, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE without any alignment: mean joint distance between `pred` (J, 3) and `gt` (J, 3), same frame."""
    return float(np.linalg.norm(np.asarray(pred) - np.asarray(gt), axis=1).mean())


def reprojection_error_px(pred: np.ndarray, gt: np.ndarray, camera: CameraIntrinsics) -> tuple[float, float]:
    """Mean image distance (pixels) between the projections of `pred` (J, 3) and `gt` (J, 3), and the same as a
    percentage of the person's height in the image: the vertical extent of the projected `gt` joints."""
    pred_px, gt_px = camera.project(pred), camera.project(gt)
    error = float(np.linalg.norm(pred_px - gt_px, axis=1).mean())
    height = float(np.ptp(gt_px[:, 1]))
    return error, 100.0 * error / max(height, 1e-6)
