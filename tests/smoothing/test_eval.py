"""Acceptance on a small generated set (fixed seeds): `eval smoothing`'s figures and command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mocap_app.cli.app import app
from mocap_app.pipeline.evaluation.smoothing import NoiseModel, corrupt, evaluate, lag_frames, synthetic_motion
from mocap_app.smoothing import smoothing_config


@pytest.fixture(scope="module")
def reports() -> dict:
    return {r.method: r for r in evaluate(smoothing_config("medium"), sequences=2, num_frames=360, seed=0)}


def test_online_kalman_cuts_acceleration_error_60_percent_within_a_frame_of_lag(reports: dict) -> None:
    raw, online = reports["raw"], reports["online_kalman"]
    assert online.accel_error_mm <= 0.4 * raw.accel_error_mm
    assert 0.0 <= online.lag_frames <= 1.0
    assert online.mpjpe_mm <= raw.mpjpe_mm


def test_offline_rts_cuts_acceleration_error_80_percent_with_no_lag(reports: dict) -> None:
    raw, offline = reports["raw"], reports["offline_rts"]
    assert offline.accel_error_mm <= 0.2 * raw.accel_error_mm
    assert abs(offline.lag_frames) <= 0.2
    assert offline.mpjpe_mm <= raw.mpjpe_mm
    assert offline.mpjpe_mm < reports["online_kalman"].mpjpe_mm


def test_dropped_frames_are_bridged_and_one_euro_is_reported(reports: dict) -> None:
    for method in ("online_kalman", "offline_rts", "one_euro"):
        assert reports[method].bridged_mpjpe_mm is not None and np.isfinite(reports[method].bridged_mpjpe_mm)
    assert reports["raw"].bridged_mpjpe_mm is None
    assert reports["one_euro"].accel_error_mm < reports["raw"].accel_error_mm


def test_generated_data_is_deterministic_and_has_what_the_filters_must_handle() -> None:
    truth = synthetic_motion(300, seed=3)
    first, second = corrupt(truth, NoiseModel(), seed=9), corrupt(truth, NoiseModel(), seed=9)
    np.testing.assert_array_equal(first.full_pose(), second.full_pose())
    assert 0 < truth.num_frames - first.num_frames < 60  # some frames dropped
    wraps = np.linalg.norm(np.diff(truth.global_orient, axis=0), axis=1) > 1.0
    assert wraps.any()  # the body turns through ±π, so the axis-angle flips


def test_lag_is_measured_in_frames() -> None:
    rng = np.random.default_rng(0)
    freq, phase = rng.uniform(0.003, 0.05, (1, 20, 6)), rng.uniform(0, 2 * np.pi, (1, 20, 6))

    def motion(delay: float) -> np.ndarray:
        t = np.arange(300.0)[:, None, None] - delay
        return 100.0 * np.sin(2 * np.pi * freq * t + phase).reshape(300, 40, 3)

    truth = motion(0.0)
    for delay in (0.0, 0.4, 1.0, 2.5, -1.5):
        noisy = motion(delay) + rng.normal(0.0, 5.0, truth.shape)
        noisy[::17] = np.nan  # dropped frames
        assert lag_frames(noisy, truth) == pytest.approx(delay, abs=0.05)


def test_command_prints_the_table_and_writes_json(tmp_path) -> None:
    out = tmp_path / "smoothing.json"
    result = CliRunner().invoke(app, ["eval", "smoothing", "--sequences", "1", "--frames", "120", "--json", str(out)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "online_kalman" in result.output and "offline_rts" in result.output
    figures = json.loads(out.read_text())
    assert set(figures["methods"]) == {"raw", "online_kalman", "offline_rts", "one_euro"}
    assert figures["config"]["method"] == "kalman"
