"""Rotation conversions the exporters need: axis-angle → matrix → Euler angles / quaternions.

All functions are vectorised over leading dimensions and work in float64.
"""

from __future__ import annotations

import numpy as np

_AXIS = {"X": 0, "Y": 1, "Z": 2}
ROTATION_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(...) angles (radians) → (..., 3, 3) rotations about coordinate axis 0/1/2."""
    angle = np.asarray(angle, dtype=np.float64)
    s, c = np.sin(angle), np.cos(angle)
    out = np.zeros((*angle.shape, 3, 3))
    p, q = (axis + 1) % 3, (axis + 2) % 3
    out[..., axis, axis] = 1.0
    out[..., p, p] = c
    out[..., q, q] = c
    out[..., q, p] = s
    out[..., p, q] = -s
    return out


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """(..., 3) angles (radians) about the axes named in `order` → R = R_order[0] · R_order[1] · R_order[2].

    This is BVH's reading of a channel list ("Zrotation Xrotation Yrotation" → order "ZXY").
    """
    angles = np.asarray(angles, dtype=np.float64)
    a, b, c = (_AXIS[ch] for ch in order)
    return axis_rotation(a, angles[..., 0]) @ axis_rotation(b, angles[..., 1]) @ axis_rotation(c, angles[..., 2])


def matrix_to_euler(matrix: np.ndarray, order: str) -> np.ndarray:
    """(..., 3, 3) rotations → (..., 3) angles (radians) with R = R_order[0] · R_order[1] · R_order[2].

    The first and second angles come from the matrix's last column; the third is solved from what
    remains, so the angles reproduce the matrix exactly even at gimbal lock (cos of the middle angle = 0).
    """
    R = np.asarray(matrix, dtype=np.float64)
    i, j, k = (_AXIS[ch] for ch in order)
    sign = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    first = np.arctan2(-sign * R[..., j, k], R[..., k, k])
    cos_middle = np.hypot(R[..., j, k], R[..., k, k])
    middle = np.arctan2(sign * R[..., i, k], cos_middle)
    rest = np.swapaxes(axis_rotation(j, middle), -1, -2) @ np.swapaxes(axis_rotation(i, first), -1, -2) @ R
    p, q = (k + 1) % 3, (k + 2) % 3
    last = np.arctan2(rest[..., q, p], rest[..., p, p])
    return np.stack([first, middle, last], axis=-1)


def unwrap_angles(angles: np.ndarray) -> np.ndarray:
    """(T, ...) angles in radians → the same rotations without ±2π jumps between frames (smooth curves)."""
    return np.unwrap(angles, axis=0)


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations → (..., 4) unit quaternions (x, y, z, w), w ≥ 0 (glTF order)."""
    R = np.asarray(matrix, dtype=np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    # Shepperd's method: take the largest of the four squared components for accuracy.
    candidates = np.stack([
        1.0 + m00 - m11 - m22, 1.0 - m00 + m11 - m22, 1.0 - m00 - m11 + m22, 1.0 + m00 + m11 + m22], axis=-1)
    best = np.argmax(candidates, axis=-1)
    q = np.empty((*R.shape[:-2], 4))
    r = np.sqrt(np.maximum(np.take_along_axis(candidates, best[..., None], axis=-1)[..., 0], 1e-300))
    inv = 0.5 / r
    for case in range(4):
        sel = best == case
        if not sel.any():
            continue
        Rs, rs, invs = R[sel], r[sel], inv[sel]
        d21, d02, d10 = Rs[:, 2, 1] - Rs[:, 1, 2], Rs[:, 0, 2] - Rs[:, 2, 0], Rs[:, 1, 0] - Rs[:, 0, 1]
        s01, s02, s12 = Rs[:, 0, 1] + Rs[:, 1, 0], Rs[:, 0, 2] + Rs[:, 2, 0], Rs[:, 1, 2] + Rs[:, 2, 1]
        if case == 0:
            q[sel] = np.stack([0.5 * rs, s01 * invs, s02 * invs, d21 * invs], axis=-1)
        elif case == 1:
            q[sel] = np.stack([s01 * invs, 0.5 * rs, s12 * invs, d02 * invs], axis=-1)
        elif case == 2:
            q[sel] = np.stack([s02 * invs, s12 * invs, 0.5 * rs, d10 * invs], axis=-1)
        else:
            q[sel] = np.stack([d21 * invs, d02 * invs, d10 * invs, 0.5 * rs], axis=-1)
    q *= np.where(q[..., 3:] < 0.0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def continuous_quaternions(quaternions: np.ndarray) -> np.ndarray:
    """(T, ..., 4) quaternions → signs flipped so consecutive frames lie in the same hemisphere (no 360° spins)."""
    q = np.array(quaternions, dtype=np.float64, copy=True)
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flips = np.cumsum(dots < 0.0, axis=0) % 2
    q[1:] *= np.where(flips[..., None] == 1, -1.0, 1.0)
    return q
