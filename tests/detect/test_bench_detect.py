"""`bench detect`: detector and tracker timings in a table and in JSON, people counted per case."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mocap_app.cli.app import app
from mocap_app.core.errors import CaptureError

DATA = Path(__file__).resolve().parents[1] / "data" / "detect"


def invoke(*args: str):
    return CliRunner().invoke(app, ["bench", "detect", *args], env={"COLUMNS": "200"})


def test_bench_detect_times_detector_and_tracker(tmp_path: Path) -> None:
    out = tmp_path / "detect.json"
    result = invoke("--source", str(DATA / "avatar_000.jpg"), "--frames", "3", "--json", str(out))
    assert result.exit_code == 0, result.output
    assert "detector: two people" in result.output and "tracker: 4 walking" in result.output
    figures = json.loads(out.read_text())
    people = {row["case"]: row["people_per_frame"] for row in figures["detector"]}
    assert people == {"one person (source)": 1.0, "two people (middle half twice)": 2.0,
                      "nobody (grey frame)": 0.0, "one person, max_people=1": 1.0}
    assert all(row["ms_median"] > 0 for row in figures["detector"] + figures["tracker"])
    assert [(row["people"], row["ids_given"]) for row in figures["tracker"]] == [(1, 1), (4, 4)]


def test_unreadable_source_is_a_capture_error(tmp_path: Path) -> None:
    bad = tmp_path / "clip.mp4"
    bad.write_text("not a video")
    result = invoke("--source", str(bad), "--frames", "1")
    assert isinstance(result.exception, CaptureError)
