"""The numpy decoder every backend shares (`models.layout`) against its torch twin (`models.rotations`, which
reproduces torchgeometry 0.1.2 bit for bit): random 6D inputs, rotations near a half-turn, degenerate input."""

from __future__ import annotations

import numpy as np
import torch

from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.models import layout, rotations


def test_numpy_rotations_equal_the_torch_ones_including_half_turns() -> None:
    rng = np.random.default_rng(11)
    random = rng.normal(size=(200_000, 6)).astype(np.float32)
    axes = rng.normal(size=(20_000, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    near_pi = axis_angle_to_matrix(axes * (np.pi - rng.uniform(0, 1e-3, size=(20_000, 1))))
    half_turns = near_pi[:, :, :2].reshape(-1, 6).astype(np.float32)  # the 6D of each (first two columns, by row)
    for six in (random, half_turns, np.zeros((1, 6), np.float32)):
        ours = layout.rot6d_to_axis_angle(six)
        theirs = rotations.rot6d_to_axis_angle(torch.from_numpy(six)).numpy()
        # same operations in fp32; numpy's and torch's sqrt/atan2 may round the last bit differently: measured
        # 7.2e-7 (random) and 7.2e-7 (within 1e-3 of π), 0 for the degenerate input
        assert float(np.abs(ours - theirs).max()) < 1e-5


def test_decode_outputs_matches_the_torch_decode_it_replaced() -> None:
    rng = np.random.default_rng(2)
    raw = {name: rng.normal(size=(3, size)).astype(np.float32) for name, size in (
        ("root_pose_6d", 6), ("body_pose_6d", 126), ("lhand_pose_6d", 90), ("rhand_pose_6d", 90), ("jaw_pose_6d", 6),
        ("betas", 10), ("expression", 10), ("cam_param", 3), ("lhand_bbox", 4), ("rhand_bbox", 4), ("face_bbox", 4))}
    raw["joint_img"] = rng.normal(size=(3, 65, 3)).astype(np.float32)
    decoded = layout.decode_outputs(raw)
    lhand = rotations.rot6d_to_axis_angle(torch.from_numpy(raw["lhand_pose_6d"].reshape(-1, 6))).numpy()
    lhand = lhand.reshape(3, 15, 3) * np.array([1, -1, -1], np.float32)  # un-mirrored: (x, -y, -z)
    assert np.abs(decoded["smplx_lhand_pose"] - lhand.reshape(3, 45)).max() < 1e-5
    depth = layout.DEPTH_SCALE / (1 + np.exp(-raw["cam_param"][:, 2].astype(np.float64)))
    assert np.abs(decoded["cam_trans"][:, 2] - depth).max() < 1e-4 and decoded["cam_trans"].dtype == np.float32
    assert all(value.dtype == np.float32 and value.shape[0] == 3 for value in decoded.values())
