"""`python main.py eval conditions`: renders unlike our own avatar (body shapes, clothing colours, yaw,
occlusion, small and crossing people) run through the user's pipeline and scored per condition.

What is rendered and measured is `mocap_app.pipeline.evaluation.conditions`'s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.pipeline.evaluation.conditions import acceptance, conditions, evaluate

from .context import current_config


def _num(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def eval_conditions(
    ctx: typer.Context,
    names: str = typer.Option(",".join(conditions()), "--conditions", help="Comma-separated conditions."),
    frames: int = typer.Option(16, help="Frames per scene (each scene adds 8 empty frames)."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Render people unlike the app's avatar in known motions, run the pipeline, score each condition.

    All conditions at 16 frames per scene: ~830 frames, about 5 minutes on 2 CPU cores.

    Examples:
      python main.py eval conditions
      python main.py eval conditions --conditions yaw0,crossing --frames 8
      python main.py eval conditions --json conditions.json
    """
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    console = Console(width=max(Console().width, 120))  # ten columns: wider than a pipe's default 80
    # Renders with OpenGL on this thread: the app callback has chosen the platform.
    reports = evaluate(wanted, current_config(ctx), frames=frames, progress=console.print)
    table = Table(title=f"eval conditions: default estimator, {frames} frames per scene, 640x480")
    for column in ("condition", "h px", "found", "ID sw", "phantom", "overlay ph", "2-D px", "2-D %h", "MPJPE",
                   "PA-MPJPE"):
        table.add_column(column, justify="right")
    for r in reports:
        table.add_row(r.name, _num(r.height_px, 0), "-" if math.isnan(r.detection_rate) else
                      f"{100 * r.detection_rate:.0f}%", str(r.identity_switches), str(r.phantom_frames),
                      str(r.shown_phantom_frames), _num(r.reprojection_px), _num(r.reprojection_pct),
                      _num(r.mpjpe_mm, 0), _num(r.pa_mpjpe_mm, 0))
    console.print(table)
    console.print("h px: median person height; found: person-frames with an estimate; phantom: frames with a body "
                  "where nobody is (recorded), overlay ph: the same for the smoothed overlay; 2-D: median main-joint "
                  "error; MPJPE, PA-MPJPE: mm, 22 body joints.")
    criteria = acceptance(reports)
    for c in criteria:
        console.print(f"{'pass' if c.passed else 'FAIL'}  {c.name}: {c.value:.3g} (limit {c.limit:g})")
    if json_path:
        json_path.write_text(json.dumps({"frames_per_scene": frames, "conditions": [asdict(r) for r in reports],
                                         "acceptance": [asdict(c) for c in criteria]}, indent=2) + "\n")
