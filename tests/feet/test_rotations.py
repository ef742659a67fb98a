"""The rotation helpers the feet share with the avatar retargeting, batched as the feet use them."""

from __future__ import annotations

import numpy as np

from mocap_app.body.retarget import orthonormal_frame, rotation_between


def test_rotation_between_turns_each_row_including_opposite_and_equal_directions():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(6, 3))
    target = rng.normal(size=(6, 3))
    target[0], target[1] = -2.0 * source[0], 3.0 * source[1]  # opposite, same
    rotations = rotation_between(source, target)
    unit = target / np.linalg.norm(target, axis=1, keepdims=True)
    turned = np.einsum("tab,tb->ta", rotations, source / np.linalg.norm(source, axis=1, keepdims=True))
    assert np.abs(turned - unit).max() < 1e-12  # measured 4e-16
    assert np.abs(rotations @ np.swapaxes(rotations, -1, -2) - np.eye(3)).max() < 1e-12
    assert np.isclose(np.trace(rotations[0]), -1.0)  # half a turn
    assert np.abs(rotations[1] - np.eye(3)).max() < 1e-15
    assert np.allclose(rotations[2], rotation_between(source[2], target[2]), atol=1e-15)


def test_orthonormal_frame_keeps_the_primary_direction_and_the_secondary_plane():
    rng = np.random.default_rng(1)
    primary, secondary = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    frames = orthonormal_frame(primary, secondary)
    assert np.abs(frames @ np.swapaxes(frames, -1, -2) - np.eye(3)).max() < 1e-12
    assert np.allclose(frames[..., 0], primary / np.linalg.norm(primary, axis=1, keepdims=True), atol=1e-12)
    assert np.abs((frames[..., 2] * secondary).sum(axis=1)).max() < 1e-12  # the secondary lies in columns 1-2
    assert np.allclose(frames[3], orthonormal_frame(primary[3], secondary[3]), atol=1e-15)
