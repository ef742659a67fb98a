"""`python main.py eval feet --json F`: named figures, without and with the clean-up, in one run."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mocap_app.cli.app import app


def test_eval_feet_writes_off_and_lock_figures_with_units_in_the_keys(tmp_path):
    out = tmp_path / "feet.json"
    result = CliRunner().invoke(app, ["eval", "feet", "--frames", "60", "--json", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert set(figures["off"]) == set(figures["lock"]) == set(figures["live"]) == {
        "walk", "pivot_turn", "squat", "jump", "all"}
    for key in ("skate_mm_per_frame", "penetration_max_mm", "mpjpe_mm"):
        assert figures["lock"]["all"][key] is not None and figures["off"]["all"][key] is not None
    assert figures["off"]["all"]["contact_f1"] is None  # no contacts without the clean-up
    assert figures["lock"]["all"]["skate_mm_per_frame"] < figures["off"]["all"]["skate_mm_per_frame"]
    assert "jump_air_contact_frames" in figures and "turn_foot_drift_mm" in figures
