"""`python main.py eval face`: the face reader (ARKit weights, blinks, gaze) on renders of the avatar with known
expressions; `--calibrate` first re-measures the responses the reader ships with.

What is rendered and measured is `mocap_app.pipeline.evaluation.face`'s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.estimators.landmarks.face_shapes import RESPONSE_FILE
from mocap_app.pipeline.evaluation.face import PEOPLE, acceptance, calibrate, evaluate


def _num(value: float, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def eval_face(
    people: int = typer.Option(len(PEOPLE), min=1, max=len(PEOPLE), help="How many of the rendered people."),
    recalibrate: bool = typer.Option(False, "--calibrate", help=f"Re-measure and write {RESPONSE_FILE.name} first."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Render the avatar with known ARKit weights, gazes and head turns; read them back; score.

    Four people, ~330 frames each: about 2 minutes on 2 CPU cores.

    Examples:
      python main.py eval face
      python main.py eval face --people 1 --json face.json
      python main.py eval face --calibrate
    """
    console = Console(width=max(Console().width, 100))
    if recalibrate:
        calibrate().save(RESPONSE_FILE)
        console.print(f"wrote {RESPONSE_FILE}")
    report = evaluate(PEOPLE[:people], progress=console.print)
    table = Table(title=f"eval face: {report.people} people, {report.shots} shots, face found "
                        f"{100 * report.found:.0f}%")
    for column in ("shape", "MAE", "correlation"):
        table.add_column(column, justify="right")
    for name, (mae, corr) in report.per_shape.items():
        table.add_row(name, _num(mae), _num(corr, 2))
    console.print(table)
    console.print(f"weight MAE {_num(report.weight_mae)} (reading nothing: {_num(report.zero_mae)}), blink F1 "
                  f"{_num(report.blink_f1, 2)}, gaze error {_num(report.gaze_error_deg, 1)} deg, false activation "
                  f"under head turns {_num(report.false_activation, 2)}")
    criteria = acceptance(report)
    for name, value, limit, passed in criteria:
        console.print(f"{'pass' if passed else 'FAIL'}  {name}: {value:.3g} (limit {limit:g})")
    if json_path:
        figures = asdict(report)
        figures["per_shape"] = {name: {"mae": mae, "correlation": corr}
                                for name, (mae, corr) in report.per_shape.items()}
        figures["acceptance"] = [{"name": n, "value": v, "limit": lim, "passed": ok} for n, v, lim, ok in criteria]
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
