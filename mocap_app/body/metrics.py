"""Pose accuracy metrics shared by evaluations and tests."""

from __future__ import annotations

import numpy as np


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """PA-MPJPE: mean joint distance (same unit as the inputs) after the best similarity transform
    (rotation, uniform scale, translation; Procrustes) of `pred` (J, 3) onto `gt` (J, 3)."""
    p, g = pred - pred.mean(0), gt - gt.mean(0)
    u, s, vt = np.linalg.svd(p.T @ g)
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, d]) @ vt
    scale = (s * [1.0, 1.0, d]).sum() / (p**2).sum()
    return float(np.linalg.norm(scale * p @ rotation - g, axis=1).mean())
