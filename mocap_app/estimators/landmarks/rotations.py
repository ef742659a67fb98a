"""Small batched rotation helpers for the landmark fit (numpy only, tuned for a ~1 ms budget)."""

from __future__ import annotations

import numpy as np

from mocap_app.core.rotations import cross

_EPS = 1e-9
_EYE = np.eye(3)


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis; zero vectors stay (near) zero."""
    return v / (np.sqrt((v * v).sum(axis=-1, keepdims=True)) + _EPS)


def skew(v: np.ndarray) -> np.ndarray:
    """(..., 3) → (..., 3, 3) cross-product matrices: skew(a) @ b == cross(a, b)."""
    out = np.zeros((*v.shape[:-1], 3, 3))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def frame_from_pair(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """(..., 3, 3) orthonormal frames: column 0 along `primary`, column 1 = `secondary` made orthogonal to it."""
    a = normalize(primary)
    b = normalize(secondary - (secondary * a).sum(axis=-1, keepdims=True) * a)
    return np.stack([a, b, cross(a, b)], axis=-1)


def rotation_between_pairs(rest_primary: np.ndarray, rest_secondary: np.ndarray,
                           primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """The rotation taking the rest pair of directions onto the observed pair (primary matched exactly)."""
    return frame_from_pair(primary, secondary) @ np.swapaxes(frame_from_pair(rest_primary, rest_secondary), -1, -2)


def swing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(..., 3, 3) minimal rotations (no twist) taking directions `source` onto `target`."""
    a, b = normalize(source), normalize(target)
    axis = cross(a, b)
    cos = (a * b).sum(axis=-1)[..., None, None]
    k = skew(axis)
    # R = I + K + K^2 / (1 + cos): exact for unit a, b; opposite vectors are nudged off the singularity.
    return _EYE + k + (k @ k) / np.maximum(1.0 + cos, 1e-6)


def kabsch(rest: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(3, 3) rotation best taking weighted, centred `rest` points (N, 3) onto `target` (N, 3)."""
    w = weights / max(float(weights.sum()), _EPS)
    rest_c = rest - w @ rest
    target_c = target - w @ target
    u, _, vt = np.linalg.svd((target_c * w[:, None]).T @ rest_c)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def twist_angle(matrix: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Signed twist angle (radians) of `matrix` about the unit `axis` (swing–twist decomposition)."""
    w = 0.5 * np.sqrt(np.maximum(1.0 + matrix[..., 0, 0] + matrix[..., 1, 1] + matrix[..., 2, 2], 0.0))
    xyz = np.stack([matrix[..., 2, 1] - matrix[..., 1, 2],
                    matrix[..., 0, 2] - matrix[..., 2, 0],
                    matrix[..., 1, 0] - matrix[..., 0, 1]], axis=-1) / (4.0 * np.maximum(w, 1e-6))[..., None]
    return 2.0 * np.arctan2((xyz * axis).sum(axis=-1), w)
