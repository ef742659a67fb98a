"""6D rotation representation → rotation matrix → axis-angle, exactly as SMPLer-X converts its outputs.

The matrix → axis-angle step follows torchgeometry 0.1.2's case-based quaternion algorithm (which the
official code calls): a trace/skew log map loses precision or flips the axis near a half-turn, and
upright people facing the camera have root rotations of almost exactly π.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def rot6d_to_matrix(rot6d: Tensor) -> Tensor:
    """(..., 6) → (..., 3, 3). The 6 numbers are the 3x2 matrix [[a0, a1], [a2, a3], [a4, a5]] read row by row,
    so the two columns are (a0, a2, a4) and (a1, a3, a5); Gram–Schmidt; R = [b1 b2 b3] as columns."""
    pairs = rot6d.reshape(-1, 3, 2)
    a1, a2 = pairs[:, :, 0], pairs[:, :, 1]
    b1 = F.normalize(a1)
    b2 = F.normalize(a2 - torch.einsum("bi,bi->b", b1, a2).unsqueeze(-1) * b1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1).reshape(*rot6d.shape[:-1], 3, 3)


def matrix_to_quaternion(matrix: Tensor, eps: float = 1e-6) -> Tensor:
    """(N, 3, 3) rotation matrices → (N, 4) unit quaternions (w, x, y, z), sign as torchgeometry picks it."""
    m = matrix.transpose(1, 2)  # torchgeometry works on the transpose; keep its indexing to keep its rounding
    m00, m01, m02 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    m10, m11, m12 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    m20, m21, m22 = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    t0 = 1 + m00 - m11 - m22
    t1 = 1 - m00 + m11 - m22
    t2 = 1 - m00 - m11 + m22
    t3 = 1 + m00 + m11 + m22
    q0 = torch.stack((m12 - m21, t0, m01 + m10, m20 + m02), -1)
    q1 = torch.stack((m20 - m02, m01 + m10, t1, m12 + m21), -1)
    q2 = torch.stack((m01 - m10, m20 + m02, m12 + m21, t2), -1)
    q3 = torch.stack((t3, m12 - m21, m20 - m02, m01 - m10), -1)
    low_d2 = m22 < eps
    d0_gt_d1 = m00 > m11
    d0_lt_neg_d1 = m00 < -m11
    case0 = (low_d2 & d0_gt_d1)[:, None]
    case1 = (low_d2 & ~d0_gt_d1)[:, None]
    case2 = (~low_d2 & d0_lt_neg_d1)[:, None]
    q = torch.where(case0, q0, torch.where(case1, q1, torch.where(case2, q2, q3)))
    t = torch.where(case0[:, 0], t0, torch.where(case1[:, 0], t1, torch.where(case2[:, 0], t2, t3)))
    return q / torch.sqrt(t)[:, None] * 0.5


def quaternion_to_axis_angle(quaternion: Tensor) -> Tensor:
    """(N, 4) (w, x, y, z) → (N, 3) axis-angle with angle in [0, π]; the identity maps to 0."""
    xyz = quaternion[:, 1:]
    sin_sq = xyz[:, 0] * xyz[:, 0] + xyz[:, 1] * xyz[:, 1] + xyz[:, 2] * xyz[:, 2]
    sin_theta = torch.sqrt(sin_sq)
    cos_theta = quaternion[:, 0]
    two_theta = 2.0 * torch.where(cos_theta < 0.0, torch.atan2(-sin_theta, -cos_theta),
                                  torch.atan2(sin_theta, cos_theta))
    k = torch.where(sin_sq > 0.0, two_theta / sin_theta, torch.full_like(sin_theta, 2.0))
    return xyz * k[:, None]


def matrix_to_axis_angle(matrix: Tensor) -> Tensor:
    """(..., 3, 3) → (..., 3) axis-angle; NaNs from degenerate input become 0 as in the official code."""
    flat = matrix.reshape(-1, 3, 3)
    axis_angle = quaternion_to_axis_angle(matrix_to_quaternion(flat))
    axis_angle = torch.where(torch.isnan(axis_angle), torch.zeros_like(axis_angle), axis_angle)
    return axis_angle.reshape(*matrix.shape[:-2], 3)


def rot6d_to_axis_angle(rot6d: Tensor) -> Tensor:
    """(..., 6) → (..., 3) axis-angle, radians."""
    return matrix_to_axis_angle(rot6d_to_matrix(rot6d))
