"""RoI-align against a direct transcription of mmcv's CPU kernel; rotation conversions near a half-turn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mocap_app.models.ops import restore_bbox, roi_align_avg
from mocap_app.models.rotations import matrix_to_axis_angle, rot6d_to_axis_angle, rot6d_to_matrix


def mmcv_roi_align_loop(feat: np.ndarray, box: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """mmcv ROIAlignForward, avg mode, aligned=False, sampling_ratio=0, spatial_scale=1, one RoI; float64."""
    channels, height, width = feat.shape
    x1, y1, x2, y2 = box
    roi_w, roi_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w
    grid_h, grid_w = math.ceil(roi_h / out_h), math.ceil(roi_w / out_w)
    count = max(grid_h * grid_w, 1)
    out = np.zeros((channels, out_h, out_w))
    for ph in range(out_h):
        for pw in range(out_w):
            acc = np.zeros(channels)
            for iy in range(grid_h):
                y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                for ix in range(grid_w):
                    x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                    if y < -1.0 or y > height or x < -1.0 or x > width:
                        continue
                    yy, xx = max(y, 0.0), max(x, 0.0)
                    y_low, x_low = int(yy), int(xx)
                    if y_low >= height - 1:
                        y_low = y_high = height - 1
                        yy = float(y_low)
                    else:
                        y_high = y_low + 1
                    if x_low >= width - 1:
                        x_low = x_high = width - 1
                        xx = float(x_low)
                    else:
                        x_high = x_low + 1
                    ly, lx = yy - y_low, xx - x_low
                    hy, hx = 1 - ly, 1 - lx
                    acc += (hy * hx * feat[:, y_low, x_low] + hy * lx * feat[:, y_low, x_high]
                            + ly * hx * feat[:, y_high, x_low] + ly * lx * feat[:, y_high, x_high])
            out[:, ph, pw] = acc / count
    return out


def test_roi_align_matches_mmcv_kernel_inside_outside_tiny_and_huge_boxes():
    rng = np.random.default_rng(7)
    feat = rng.normal(size=(2, 3, 12, 10)).astype(np.float32)
    boxes = np.array([
        [1.3, 2.2, 7.9, 9.4],      # inside
        [-2.37, -1.5, 4.1, 5.0],   # sticks out left/top: samples in [-1, 0) clamp to 0, below -1 read 0
        [6.0, 8.0, 12.5, 14.0],    # sticks out right/bottom
        [3.2, 3.3, 3.4, 3.35],     # smaller than a pixel: widened to 1
        [-30.0, -20.0, 40.0, 35.0],  # much larger than the map: 5x4 samples per bin
        [5.0, 5.0, 2.0, 1.0],      # inverted
        [-9.0, -9.0, -4.0, -3.0],  # entirely outside
    ], dtype=np.float32)
    index = np.array([0, 1, 0, 1, 0, 1, 0])
    ours = roi_align_avg(torch.from_numpy(feat), torch.from_numpy(boxes), torch.from_numpy(index), (4, 5)).numpy()
    for k, (box, b) in enumerate(zip(boxes, index, strict=True)):
        expected = mmcv_roi_align_loop(feat[b].astype(np.float64), box.astype(np.float64), 4, 5)
        assert np.abs(ours[k] - expected).max() < 1e-5, k  # fp32 vs float64: 1.2e-6 in every CPU config measured
    assert np.all(ours[-1] == 0)


def test_restore_bbox_squares_and_enlarges_about_the_centre():
    center = torch.tensor([[6.0, 8.0], [3.0, 4.0]])
    size = torch.tensor([[2.0, 1.0], [1.0, 3.0]])  # cells; 1 cell = 16 body pixels both ways
    boxes = restore_bbox(center, size, (16, 12), (256, 192), 1.0, 2.0)
    # first: 32x16 px → 32x32 → 64x64 about (96, 128); second: 16x48 → 48x48 → 96x96 about (48, 64)
    assert torch.allclose(boxes, torch.tensor([[64.0, 96.0, 128.0, 160.0], [0.0, 16.0, 96.0, 112.0]]))


def rodrigues(axis_angle: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(axis_angle)
    k = axis_angle / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * kx + (1 - math.cos(angle)) * kx @ kx


def test_rot6d_layout_is_interleaved_columns():
    matrix = rodrigues(np.array([0.3, -0.2, 0.5]))
    six = torch.tensor(matrix[:, :2].reshape(6), dtype=torch.float32)  # rows of the 3x2 matrix
    assert torch.allclose(rot6d_to_matrix(six), torch.tensor(matrix, dtype=torch.float32), atol=1e-6)


@pytest.mark.parametrize("angle", [0.1, 1.0, 2.5, 3.1, math.pi - 1e-4, math.pi])
def test_axis_angle_round_trip_including_half_turns(angle):
    rng = np.random.default_rng(int(angle * 1000))
    for _ in range(20):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        matrix = rodrigues(axis * angle)
        recovered = matrix_to_axis_angle(torch.tensor(matrix[None], dtype=torch.float64))[0].numpy()
        # near π, r and -r are the same rotation: compare rotations, and the angle
        assert np.allclose(rodrigues(recovered), matrix, atol=1e-6)
        assert abs(np.linalg.norm(recovered) - angle) < 1e-6


def test_upright_person_facing_camera_is_a_half_turn_about_x():
    six = torch.tensor([[1.0, 0.0, 0.0, -1.0, 0.0, 0.0]])  # R = diag(1, -1, -1)
    assert torch.allclose(rot6d_to_axis_angle(six), torch.tensor([[math.pi, 0.0, 0.0]]), atol=1e-6)
    assert torch.equal(rot6d_to_axis_angle(torch.tensor([[1.0, 0, 0, 1, 0, 0]])), torch.zeros(1, 3))
    # degenerate input: R = 0 falls in torchgeometry's second case, a half-turn about y (finite, never NaN)
    assert torch.allclose(rot6d_to_axis_angle(torch.zeros(1, 6)), torch.tensor([[0.0, math.pi, 0.0]]))
