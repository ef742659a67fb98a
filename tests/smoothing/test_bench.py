"""`bench smoothing`: one row per mode/method/persons, figures in JSON, the 1 ms budget per person per frame."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mocap_app.cli.app import app
from mocap_app.core.errors import ConfigError


def test_bench_smoothing_reports_cost_per_person_and_frame(tmp_path) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "smoothing", "--frames", "60", "--rounds", "1", "--persons", "2",
                                      "--json", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["results"]
    assert {(r["mode"], r["method"], r["persons"]) for r in rows} == {
        ("online", "kalman", 2), ("offline", "kalman", 1), ("online", "one_euro", 2), ("offline", "one_euro", 1)}
    # Generous bound for a loaded shared CI machine; the bench itself reports against 1 ms.
    assert all(0.0 < r["ms_per_person_frame"] < 5.0 for r in rows)


def test_bench_smoothing_rejects_an_unknown_preset() -> None:
    result = CliRunner().invoke(app, ["bench", "smoothing", "--preset", "heavy"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError) and "medium" in result.exception.hint
