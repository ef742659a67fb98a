"""`python main.py eval real FOLDER`: the default estimator on real images with hand-placed 2-D keypoints.

The annotation format, the matching and the score (PCK@0.1 of the person's height, 13 main joints) are
`mocap_app.pipeline.evaluation.real`'s; an example folder is tests/data/real/.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.pipeline.evaluation.real import evaluate

from .context import current_config


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.0f}%"


def eval_real(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="Folder holding keypoints.json (with its images or video), or the file."),
    max_people: int = typer.Option(1, help="People to follow, as with process --max-people."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Score the default estimator on annotated real photos or video frames: PCK@0.1 of the person's height.

    Examples:
      python main.py eval real tests/data/real
      python main.py eval real my_take/keypoints.json --json real.json
    """
    report = evaluate(folder, current_config(ctx), max_people=max_people)
    table = Table(title=f"eval real: {folder} — PCK@{report.fraction:g} of height, 13 main joints")
    for column in ("image", "people", "found", "joints", "PCK"):
        table.add_column(column, justify="right")
    for image in report.images:
        table.add_row(image.name, str(image.people), str(image.matched), str(image.joints), _pct(image.pck))
    table.add_row("all", str(sum(i.people for i in report.images)), str(sum(i.matched for i in report.images)),
                  str(report.joints), _pct(report.pck))
    console = Console()
    console.print(table)
    console.print("PCK by joint: " + ", ".join(f"{name} {_pct(v)}" for name, v in report.pck_by_joint.items()))
    if json_path:
        json_path.write_text(json.dumps({"annotations": str(folder), **asdict(report)}, indent=2) + "\n")
