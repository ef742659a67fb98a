"""Tensor operations of the SMPLer-X heads: soft-argmax, feature sampling, box restoring and RoI-align.

Each one reproduces the official implementation's arithmetic step by step (same operation order in
fp32), so that loaded official weights give the official numbers, not just similar ones.
Coordinates are (x, y[, z]) with x along the width axis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def soft_argmax_3d(heatmap: Tensor) -> Tensor:
    """Expected cell index under a per-joint softmax.

    heatmap: (B, J, D, H, W) logits. Returns (B, J, 3) float: (x in [0, W-1], y in [0, H-1], z in [0, D-1]).
    """
    batch, joints, depth, height, width = heatmap.shape
    prob = F.softmax(heatmap.reshape(batch, joints, depth * height * width), 2)
    prob = prob.reshape(batch, joints, depth, height, width)
    x = (prob.sum(dim=(2, 3)) * torch.arange(width, device=prob.device, dtype=prob.dtype)).sum(2, keepdim=True)
    y = (prob.sum(dim=(2, 4)) * torch.arange(height, device=prob.device, dtype=prob.dtype)).sum(2, keepdim=True)
    z = (prob.sum(dim=(3, 4)) * torch.arange(depth, device=prob.device, dtype=prob.dtype)).sum(2, keepdim=True)
    return torch.cat((x, y, z), dim=2)


def soft_argmax_2d(heatmap: Tensor) -> Tensor:
    """heatmap: (B, J, H, W) logits. Returns (B, J, 2): (x in [0, W-1], y in [0, H-1])."""
    batch, joints, height, width = heatmap.shape
    prob = F.softmax(heatmap.reshape(batch, joints, height * width), 2).reshape(batch, joints, height, width)
    x = (prob.sum(dim=2) * torch.arange(width, device=prob.device, dtype=prob.dtype)).sum(2, keepdim=True)
    y = (prob.sum(dim=3) * torch.arange(height, device=prob.device, dtype=prob.dtype)).sum(2, keepdim=True)
    return torch.cat((x, y), dim=2)


def sample_joint_features(features: Tensor, points_xy: Tensor) -> Tensor:
    """Bilinear read of `features` (B, C, H, W) at `points_xy` (B, J, 2) in pixel units of that map
    (pixel centres at integers, align_corners=True, zeros outside). Returns (B, J, C)."""
    height, width = features.shape[2:]
    x = points_xy[:, :, 0] / (width - 1) * 2 - 1
    y = points_xy[:, :, 1] / (height - 1) * 2 - 1
    grid = torch.stack((x, y), 2)[:, :, None, :].to(features.dtype)
    sampled = F.grid_sample(features, grid, align_corners=True)[:, :, :, 0]
    return sampled.permute(0, 2, 1).contiguous()


def restore_bbox(center: Tensor, size: Tensor, grid_hw: tuple[int, int], image_hw: tuple[int, int],
                 aspect_ratio: float, extension: float) -> Tensor:
    """Box from the BoxNet's centre and size (grid units) → xyxy in image pixels, squared to `aspect_ratio`
    (w/h) and enlarged by `extension` about its centre.

    center, size: (B, 2) in `grid_hw` cell units. Returns (B, 4) xyxy in `image_hw` pixels.
    """
    x1 = (center[:, 0] - size[:, 0] / 2.0) / grid_hw[1] * image_hw[1]
    y1 = (center[:, 1] - size[:, 1] / 2.0) / grid_hw[0] * image_hw[0]
    x2 = (center[:, 0] + size[:, 0] / 2.0) / grid_hw[1] * image_hw[1]
    y2 = (center[:, 1] + size[:, 1] / 2.0) / grid_hw[0] * image_hw[0]
    w = x2 - x1
    h = y2 - y1
    cx = x1 + w / 2.0
    cy = y1 + h / 2.0
    wider = w > aspect_ratio * h
    taller = w < aspect_ratio * h
    h, w = torch.where(wider, w / aspect_ratio, h), torch.where(taller, h * aspect_ratio, w)
    w = w * extension
    h = h * extension
    x1 = cx - w / 2.0
    y1 = cy - h / 2.0
    return torch.stack((x1, y1, w + x1, h + y1), dim=1)


# Samples per bin and axis an exported graph holds: the official adaptive count ceil(RoI side / 16) is reproduced
# for RoIs up to 8 x 16 = 128 feature pixels (twice the 64x48 map's height); larger ones average 8 evenly spaced
# samples per bin instead of more.
MAX_ROI_SAMPLES = 8


def _roi_axis_weights(start: Tensor, end: Tensor, size: int, pooled: int, fixed_samples: int | None = None) -> Tensor:
    """Per-RoI interpolation matrix along one axis for mmcv's avg-mode RoI-align (aligned=False).

    The bilinear weight of a sample is a product of a row term and a column term, and so is the validity
    test, so a bin's average factorises into (row weights) x features x (column weights).
    start, end: (K,) RoI borders in feature pixels. Returns (K, pooled, size): row p holds the mean
    interpolation weight of every feature pixel over the samples of bin p.
    fixed_samples: None sizes the sample grid from the data and accumulates with a scatter (the official numbers,
    eager only); a number fixes the grid at that many samples (the per-RoI count capped there, unused ones masked)
    and accumulates with comparisons and sums, so an exported graph has no data-dependent shape and no scatter.
    """
    length = torch.clamp(end - start, min=1.0)  # aligned=False: RoIs are at least one pixel
    bin_size = length / pooled
    num_samples = torch.ceil(length / pooled)  # adaptive sampling grid, sampling_ratio=0
    if fixed_samples is None:
        max_samples = max(int(num_samples.max()), 1) if num_samples.numel() else 1
    else:
        max_samples = fixed_samples
        num_samples = torch.clamp(num_samples, max=float(fixed_samples))
    p = torch.arange(pooled, device=start.device, dtype=start.dtype)[None, :, None]
    i = torch.arange(max_samples, device=start.device, dtype=start.dtype)[None, None, :]
    bin_size, num_samples, start = bin_size[:, None, None], num_samples[:, None, None], start[:, None, None]
    pos = start + p * bin_size + (i + 0.5) * bin_size / num_samples  # (K, pooled, max_samples)
    used = (i < num_samples) & (pos >= -1.0) & (pos <= size)  # outside [-1, size]: the sample reads 0
    pos = torch.clamp(pos, min=0.0)
    low = pos.floor()
    at_end = low >= size - 1
    low = torch.where(at_end, torch.full_like(low, size - 1), low)
    pos = torch.where(at_end, low, pos)
    high = torch.where(at_end, low, low + 1)
    frac = pos - low
    used_f = used.to(pos.dtype)
    if fixed_samples is None:
        weights = torch.zeros(pos.shape[0], pooled, size, device=pos.device, dtype=pos.dtype)
        weights.scatter_add_(2, low.long(), (1.0 - frac) * used_f)
        weights.scatter_add_(2, high.long(), frac * used_f)
    else:
        pixel = torch.arange(size, device=pos.device, dtype=pos.dtype)
        weights = (((1.0 - frac) * used_f)[..., None] * (low[..., None] == pixel).to(pos.dtype)
                   + (frac * used_f)[..., None] * (high[..., None] == pixel).to(pos.dtype)).sum(2)
    return weights / num_samples


def roi_align_avg(features: Tensor, boxes: Tensor, batch_index: Tensor, output_hw: tuple[int, int],
                  fixed_samples: int | None = None) -> Tensor:
    """RoI-align as mmcv's `roi_align(..., spatial_scale=1.0, sampling_ratio=0, pool_mode='avg', aligned=False)`.

    features: (N, C, H, W). boxes: (K, 4) xyxy in feature pixels. batch_index: (K,) int, the image of each box.
    fixed_samples: see `_roi_axis_weights` (None: the official adaptive grid; MAX_ROI_SAMPLES for a graph export).
    Returns (K, C, output_h, output_w).
    """
    height, width = features.shape[2:]
    boxes = boxes.float()
    rows = _roi_axis_weights(boxes[:, 1], boxes[:, 3], height, output_hw[0], fixed_samples)  # (K, oh, H)
    cols = _roi_axis_weights(boxes[:, 0], boxes[:, 2], width, output_hw[1], fixed_samples)  # (K, ow, W)
    picked = features[batch_index]  # (K, C, H, W)
    rows, cols = rows.to(picked.dtype), cols.to(picked.dtype)
    return rows[:, None] @ picked @ cols[:, None].transpose(-1, -2)
