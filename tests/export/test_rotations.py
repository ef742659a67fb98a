"""Rotation conversions: Euler angles in all six orders and quaternions reproduce the matrices."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.export.rotations import (
    ROTATION_ORDERS,
    continuous_quaternions,
    euler_to_matrix,
    matrix_to_euler,
    matrix_to_quaternion,
)

from .conftest import quaternion_to_matrix


def _random_rotations(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return axis_angle_to_matrix(v)


def test_axis_angle_matches_quarter_turn_and_identity():
    np.testing.assert_allclose(axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2])),
                               [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(axis_angle_to_matrix(np.zeros((2, 3))), np.tile(np.eye(3), (2, 1, 1)))


@pytest.mark.parametrize("order", ROTATION_ORDERS)
def test_euler_round_trip_including_gimbal_lock(order):
    rotations = _random_rotations(500)
    locked = euler_to_matrix(np.array([[0.3, np.pi / 2, -0.7], [1.1, -np.pi / 2, 0.2]]), order)
    all_rotations = np.concatenate([rotations, locked])
    angles = matrix_to_euler(all_rotations, order)
    np.testing.assert_allclose(euler_to_matrix(angles, order), all_rotations, atol=1e-9)
    # BVH reading: "ZXY" means R = Rz · Rx · Ry.
    a, b, c = 0.4, -0.2, 0.9
    first, second, third = (axis_angle_to_matrix(np.eye(3)["XYZ".index(ch)] * angle)
                            for ch, angle in zip(order, (a, b, c), strict=True))
    np.testing.assert_allclose(matrix_to_euler(first @ second @ third, order), [a, b, c], atol=1e-12)


def test_quaternions_match_matrices_and_stay_continuous():
    rotations = np.concatenate([_random_rotations(500, 1), axis_angle_to_matrix(np.array([[np.pi, 0, 0],
                                                                                            [0, np.pi, 0]]))])
    q = matrix_to_quaternion(rotations)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-12)
    for qi, r in zip(q, rotations, strict=True):
        np.testing.assert_allclose(quaternion_to_matrix([qi[3], qi[0], qi[1], qi[2]]), r, atol=1e-9)
    spin = matrix_to_quaternion(axis_angle_to_matrix(np.linspace(0, 3 * np.pi, 50)[:, None] * [0.0, 1.0, 0.0]))
    smooth = continuous_quaternions(spin)
    assert np.all(np.sum(smooth[1:] * smooth[:-1], axis=-1) > 0)
