"""Two-bone leg IK alone: exact reach, bone lengths, knee plane, out-of-reach targets."""

from __future__ import annotations

import numpy as np

from mocap_app.body.feet import two_bone_ik


def _leg(num: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    hip = rng.normal(0.0, 0.3, (num, 3))
    knee = hip + np.array([0.0, -0.4, 0.05]) + rng.normal(0.0, 0.02, (num, 3))
    ankle = knee + np.array([0.0, -0.4, -0.08]) + rng.normal(0.0, 0.02, (num, 3))
    hinge = np.cross(knee - hip, ankle - hip)
    return hip, knee, ankle, hinge / np.linalg.norm(hinge, axis=1, keepdims=True)


def test_ik_reaches_every_target_in_reach_keeping_bones_and_knee_plane():
    hip, knee, ankle, hinge = _leg(500, 0)
    upper, lower = np.linalg.norm(knee - hip, axis=1), np.linalg.norm(ankle - knee, axis=1)
    rng = np.random.default_rng(1)
    direction = rng.normal(size=(500, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    reach = np.abs(upper - lower) + rng.uniform(0.05, 0.98, 500) * (upper + lower - np.abs(upper - lower))
    target = hip + direction * reach[:, None]
    solved = two_bone_ik(hip, knee, ankle, target, hinge)
    assert np.abs(solved.ankle - target).max() < 1e-4  # ≤ 0.1 mm; measured 1e-15 m
    assert np.abs(np.linalg.norm(solved.knee - hip, axis=1) - upper).max() < 1e-9
    assert np.abs(np.linalg.norm(solved.ankle - solved.knee, axis=1) - lower).max() < 1e-9
    # The knee stays in the plane through hip and target that holds the old bend direction: the old bend
    # normal (projected off the reach) is perpendicular to the new thigh, and the knee bends the same way.
    normal = np.cross(knee - hip, ankle - hip)
    normal -= (normal * direction).sum(axis=1, keepdims=True) * direction
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    thigh = (solved.knee - hip) / upper[:, None]
    assert np.abs((thigh * normal).sum(axis=1)).max() < 1e-9
    new_normal = np.cross(solved.knee - hip, solved.ankle - hip)
    assert ((new_normal * normal).sum(axis=1) > 0).all()


def test_ik_rotations_move_the_bones_where_the_positions_go():
    hip, knee, ankle, hinge = _leg(50, 2)
    target = ankle + np.array([0.05, 0.1, 0.08])
    solved = two_bone_ik(hip, knee, ankle, target, hinge)
    assert np.allclose(np.einsum("tab,tb->ta", solved.hip_delta, knee - hip), solved.knee - hip, atol=1e-9)
    assert np.allclose(np.einsum("tab,tb->ta", solved.knee_delta, ankle - knee), solved.ankle - solved.knee, atol=1e-9)


def test_unreachable_target_stretches_the_leg_towards_it_without_flipping_the_knee():
    hip, knee, ankle, hinge = _leg(100, 3)
    upper, lower = np.linalg.norm(knee - hip, axis=1), np.linalg.norm(ankle - knee, axis=1)
    direction = np.array([0.1, -1.0, 0.2]) / np.linalg.norm([0.1, -1.0, 0.2])
    target = hip + 2.0 * direction
    solved = two_bone_ik(hip, knee, ankle, target, hinge)
    reach = solved.ankle - hip
    assert np.allclose(np.linalg.norm(reach, axis=1), upper + lower, atol=1e-9)
    assert np.allclose(reach / np.linalg.norm(reach, axis=1, keepdims=True), direction, atol=1e-6)
    # Slightly closer than full reach: the knee bends forward, the side the old knee was on.
    close = hip + (upper + lower - 1e-3)[:, None] * direction
    bent = two_bone_ik(hip, knee, ankle, close, hinge)
    assert ((np.cross(bent.knee - hip, bent.ankle - hip) * hinge).sum(axis=1) > 0).all()
