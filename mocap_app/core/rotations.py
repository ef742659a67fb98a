"""Axis-angle ↔ rotation matrix, vectorised over leading dimensions (numpy, float64).

The one implementation the app uses wherever SMPL-X axis-angle meets matrices (forward kinematics,
the landmark fit, the synthetic motions, exporters, evaluations). scipy's `Rotation` stays only where
quaternions are wanted: the smoothing filters' representation and the smoothing evaluation's generated
motion and noise.
"""

from __future__ import annotations

import numpy as np


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product along the last axis: np.cross's argument handling costs ~15 us a call on small arrays,
    this ~3 (the same products and differences, so the same bits)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle vectors (radians) → (..., 3, 3) rotation matrices (Rodrigues)."""
    v = np.asarray(axis_angle, dtype=np.float64)
    angle = np.sqrt((v * v).sum(axis=-1, keepdims=True))
    axis = v / np.where(angle > 1e-12, angle, 1.0)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    s, c = np.sin(angle[..., 0]), np.cos(angle[..., 0])
    t = 1.0 - c
    return np.stack([
        np.stack([c + x * x * t, x * y * t - z * s, x * z * t + y * s], axis=-1),
        np.stack([y * x * t + z * s, c + y * y * t, y * z * t - x * s], axis=-1),
        np.stack([z * x * t - y * s, z * y * t + x * s, c + z * z * t], axis=-1),
    ], axis=-2)


def matrix_to_axis_angle(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices → (..., 3) axis-angle with the angle in [0, π]."""
    matrix = np.asarray(matrix, dtype=np.float64)
    trace = matrix[..., 0, 0] + matrix[..., 1, 1] + matrix[..., 2, 2]
    cos = np.clip((trace - 1.0) * 0.5, -1.0, 1.0)
    angle = np.arccos(cos)
    skew_part = np.stack([matrix[..., 2, 1] - matrix[..., 1, 2],
                          matrix[..., 0, 2] - matrix[..., 2, 0],
                          matrix[..., 1, 0] - matrix[..., 0, 1]], axis=-1)  # = 2 sin(angle) · axis
    sin = np.sin(angle)
    small = sin > 1e-4
    out = skew_part * np.where(small, angle / (2.0 * np.where(small, sin, 1.0)), 0.5)[..., None]
    # Near π the antisymmetric part vanishes: take the axis from the symmetric part, its sign from the
    # antisymmetric part where that is still measurable.
    near_pi = cos < -0.9999
    if np.any(near_pi):
        m, c = matrix[near_pi], cos[near_pi][..., None, None]
        outer = ((m + np.swapaxes(m, -1, -2)) * 0.5 - c * np.eye(3)) / (1.0 - c)  # = axis axisᵀ
        column = np.argmax(np.diagonal(outer, axis1=-2, axis2=-1), axis=-1)
        axis = outer[np.arange(len(column)), :, column]
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        sign = np.where((axis * skew_part[near_pi]).sum(axis=-1) < 0, -1.0, 1.0)
        out[near_pi] = axis * (sign * angle[near_pi])[..., None]
    return out
