from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from mocap_app.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def test_matches_scipy_on_random_rotations_of_any_batch_shape() -> None:
    rotvecs = Rotation.random(200, random_state=0).as_rotvec().reshape(4, 50, 3)
    np.testing.assert_allclose(axis_angle_to_matrix(rotvecs),
                               Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_matrix().reshape(4, 50, 3, 3),
                               atol=1e-12)
    np.testing.assert_allclose(matrix_to_axis_angle(axis_angle_to_matrix(rotvecs)), rotvecs, atol=1e-9)


def test_identity_small_and_half_turn_angles() -> None:
    np.testing.assert_allclose(axis_angle_to_matrix(np.zeros(3)), np.eye(3))
    tiny = np.array([1e-9, -2e-9, 3e-9])
    np.testing.assert_allclose(matrix_to_axis_angle(axis_angle_to_matrix(tiny)), tiny, atol=1e-15)
    axis = np.array([0.36, -0.48, 0.8])
    for angle in (np.pi, np.pi - 1e-3, np.pi - 1e-6):
        recovered = matrix_to_axis_angle(axis_angle_to_matrix(axis * angle))
        np.testing.assert_allclose(axis_angle_to_matrix(recovered), axis_angle_to_matrix(axis * angle), atol=1e-9)
        assert abs(np.linalg.norm(recovered) - angle) < 1e-6
        if angle < np.pi:  # below a half turn the direction is unique
            np.testing.assert_allclose(recovered, axis * angle, atol=1e-5)
