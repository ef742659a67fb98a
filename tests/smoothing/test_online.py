"""OnlineSmoother: continuity across ±π, gating, bridging and resets, confidence, betas, tracks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap_app.core.errors import ConfigError
from mocap_app.smoothing import OnlineSmoother, smoothing_config

from .conftest import NS_PER_FRAME, record


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Geodesic angle between rotation vectors (..., 3), degrees."""
    return np.degrees((Rotation.from_rotvec(a).inv() * Rotation.from_rotvec(b)).magnitude())


def test_no_jump_when_the_axis_angle_wraps_at_pi() -> None:
    """A body turning steadily about the vertical: its axis-angle flips sign at 180°, the output does not jump."""
    smoother = OnlineSmoother(smoothing_config("medium"))
    rng = np.random.default_rng(0)
    yaw = np.radians(120 + 3.0 * np.arange(60))  # passes 180° (and wraps) at frame 20
    outputs, measured = [], []
    for i, angle in enumerate(yaw):
        pose = np.zeros((55, 3))
        pose[0] = (Rotation.from_euler("y", angle) * Rotation.from_rotvec(rng.normal(0, 0.01, 3))).as_rotvec()
        measured.append(pose[0])
        outputs.append(smoother([record(pose, i)])[0].global_orient)
    measured, outputs = np.array(measured), np.array(outputs)
    assert np.abs(np.diff(measured, axis=0)).max() > 5.0  # the input's rotation vector does jump
    steps = _angle_deg(outputs[:-1], outputs[1:])
    assert steps.max() < 6.0  # true step 3°/frame
    assert _angle_deg(outputs[10:], Rotation.from_euler("y", yaw[10:, None]).as_rotvec().reshape(-1, 3)).max() < 3.0


def test_outlier_joint_is_rejected_and_a_lasting_change_is_followed() -> None:
    config = smoothing_config("medium")
    smoother = OnlineSmoother(config)
    rng = np.random.default_rng(1)
    elbow = 18
    frame = 0

    def step(elbow_deg: float) -> np.ndarray:
        nonlocal frame
        pose = rng.normal(0, np.radians(1.0), (55, 3))
        pose[elbow, 1] += np.radians(elbow_deg)
        out = smoother([record(pose, frame)])[0]
        frame += 1
        return np.degrees(out.full_pose()[elbow, 1])

    for _ in range(30):
        step(0.0)
    assert abs(step(80.0)) < 3.0  # a single 80° glitch is gated out
    assert abs(step(0.0)) < 3.0
    # A real change persists: rejected up to max_gated_frames times, then followed.
    held = [step(80.0) for _ in range(config.max_gated_frames)]
    assert max(abs(v) for v in held) < 3.0
    assert step(80.0) > 75.0


def test_gating_off_lets_an_outlier_through() -> None:
    smoother = OnlineSmoother(smoothing_config("medium", gate_sigma=0.0))
    for i in range(30):
        smoother([record(frame_index=i)])
    pose = np.zeros((55, 3))
    pose[18, 1] = np.radians(80.0)
    assert np.degrees(smoother([record(pose, 30)])[0].full_pose()[18, 1]) > 10.0


def test_dropped_frames_are_bridged_then_the_track_resets() -> None:
    config = smoothing_config("medium", max_missing_frames=3)
    smoother = OnlineSmoother(config)
    transl = lambda i: np.array([0.01 * i, 0.0, 3.0])  # noqa: E731  0.3 m/s to the right
    for i in range(20):
        smoother([record(frame_index=i, transl=transl(i))])
    for i in range(20, 23):  # three frames without the person: predicted
        (predicted,) = smoother([], frame_index=i)
        assert predicted.frame_index == i and predicted.track_id == 0
        assert predicted.confidence == 0.0 and not predicted.joint_confidence.any()
        assert predicted.timestamp_ns == i * NS_PER_FRAME
        np.testing.assert_allclose(predicted.transl, transl(i), atol=2e-3)  # constant velocity carried on
    assert smoother([], frame_index=23) == []  # the fourth: gone
    assert smoother.track_ids == []
    back = smoother([record(frame_index=24, transl=[1.0, 0.0, 3.0])])[0]
    np.testing.assert_allclose(back.transl, [1.0, 0.0, 3.0], atol=1e-6)  # a fresh start at the measurement


def test_a_gap_within_the_limit_continues_the_track() -> None:
    smoother = OnlineSmoother(smoothing_config("medium", max_missing_frames=3), emit_predicted=False)
    for i in range(20):
        smoother([record(frame_index=i, transl=[0.01 * i, 0.0, 3.0])])
    assert smoother([], frame_index=20) == []  # not emitted, but still predicted
    out = smoother([record(frame_index=22, transl=[0.5, 0.0, 3.0])])[0]  # far off: gated, prediction kept
    assert abs(out.transl[0] - 0.22) < 0.01


def test_low_confidence_joints_move_less() -> None:
    smoother = OnlineSmoother(smoothing_config("medium", gate_sigma=0.0))
    for i in range(30):
        smoother([record(frame_index=i)])
    pose = np.zeros((55, 3))
    pose[[16, 17], 2] = np.radians(6.0)  # both shoulders measured 6° off
    confidence = np.ones(55)
    confidence[17] = 0.2
    out = smoother([record(pose, 30, joint_confidence=confidence)])[0].full_pose()
    assert np.degrees(out[16, 2]) > 2.0 * np.degrees(out[17, 2]) > 0.0
    # Below min_confidence a joint is not measured at all.
    confidence[17] = 0.0
    out = smoother([record(pose, 31, joint_confidence=confidence)])[0].full_pose()
    assert np.degrees(out[17, 2]) < np.degrees(out[16, 2]) / 2.0


def test_betas_are_a_confidence_weighted_running_mean() -> None:
    smoother = OnlineSmoother(smoothing_config("medium"))
    rng = np.random.default_rng(2)
    betas = rng.normal(size=(10, 10))
    confidence = rng.uniform(0.3, 1.0, 10)
    for i in range(10):
        out = smoother([record(frame_index=i, betas=betas[i], confidence=confidence[i])])[0]
        expected = (confidence[: i + 1, None] * betas[: i + 1]).sum(0) / confidence[: i + 1].sum()
        np.testing.assert_allclose(out.betas, expected, atol=1e-5)


def test_tracks_are_independent_and_metadata_is_kept() -> None:
    smoother = OnlineSmoother(smoothing_config("medium"))
    for i in range(10):
        out = smoother([record(frame_index=i, track_id=7, transl=[1.0, 0.0, 3.0]),
                        record(frame_index=i, track_id=9, transl=[-1.0, 0.0, 3.0], box=[1, 2, 3, 4])])
    assert [p.track_id for p in out] == [7, 9]
    np.testing.assert_allclose(out[0].transl, [1.0, 0.0, 3.0], atol=1e-6)
    np.testing.assert_allclose(out[1].transl, [-1.0, 0.0, 3.0], atol=1e-6)
    assert out[1].box.tolist() == [1, 2, 3, 4] and out[1].frame_index == 9


def test_a_new_stream_restarts_every_track() -> None:
    smoother = OnlineSmoother(smoothing_config("strong"))
    for i in range(10):
        smoother([record(frame_index=i, transl=[0.0, 0.0, 3.0])])
    out = smoother([record(frame_index=0, transl=[2.0, 0.0, 3.0])])[0]
    np.testing.assert_allclose(out.transl, [2.0, 0.0, 3.0], atol=1e-6)


@pytest.mark.parametrize("method", ["kalman", "one_euro"])
def test_deterministic_and_smoothing(method: str) -> None:
    rng = np.random.default_rng(4)
    poses = rng.normal(0, np.radians(3.0), (40, 55, 3))

    def run() -> np.ndarray:
        smoother = OnlineSmoother(smoothing_config("medium", method=method))
        return np.array([smoother([record(p, i)])[0].full_pose() for i, p in enumerate(poses)])

    first, second = run(), run()
    np.testing.assert_array_equal(first, second)
    jitter = lambda x: np.abs(np.diff(x[20:], axis=0)).mean()  # noqa: E731
    assert jitter(first) < 0.5 * jitter(poses)  # frame-to-frame jitter around rest is damped


def test_off_passes_records_through() -> None:
    people = [record(frame_index=3)]
    assert OnlineSmoother(smoothing_config("off"))(people) == people


def test_presets_and_bad_settings() -> None:
    assert smoothing_config("light").rotation_accel_deg > smoothing_config("strong").rotation_accel_deg
    assert smoothing_config("medium", max_missing_frames=2).max_missing_frames == 2
    with pytest.raises(ConfigError, match="Did you mean 'medium'"):
        smoothing_config("meduim")
    with pytest.raises(ConfigError, match="rotation_noise"):
        smoothing_config("medium", rotation_nosie_deg=1.0)
    with pytest.raises(ConfigError, match="out of range"):
        smoothing_config("medium", gate_sigma=-1.0)
    with pytest.raises(ConfigError, match="not allowed"):
        smoothing_config("medium", method="median")


def test_a_lost_track_is_bridged_for_at_most_a_quarter_second_whatever_the_settings() -> None:
    """max_missing_frames 100 at 30 fps: predicted for 7 frames (0.25 s), then nothing (no body in empty space)."""
    smoother = OnlineSmoother(smoothing_config("medium", max_missing_frames=100), fps=30.0)
    assert smoother.max_missing == 7
    for i in range(10):
        smoother([record(frame_index=i)])
    bridged = [len(smoother([], frame_index=i)) for i in range(10, 30)]
    assert bridged == [1] * 7 + [0] * 13
    assert smoother.track_ids == []
