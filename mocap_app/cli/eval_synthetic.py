"""`python main.py eval synthetic`: the estimator against rendered ground truth.

What is rendered and measured is `mocap_app.pipeline.evaluation.synthetic`'s.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.pipeline.evaluation.synthetic import ESTIMATORS, FIT_SKELETONS, evaluate


def eval_synthetic(
    estimator: str = typer.Option("landmarks", help=f"Estimator to evaluate: {', '.join(ESTIMATORS)}."),
    motions: str = typer.Option("arms_raise,elbow_curl,squat,look_and_talk", help="Comma-separated motions."),
    views: str = typer.Option("0,45,90", help="Comma-separated yaw angles in degrees (0 = facing the camera)."),
    frames: int = typer.Option(30, help="Frames per motion."),
    size: str = typer.Option("640x480", help="WxH of the renders."),
    fit_skeleton: str = typer.Option("avatar", help=f"Skeleton the estimator fits: {', '.join(FIT_SKELETONS)} "
                                                    "(avatar = the body the app draws)."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Render the default avatar in known motions and score an estimator against the truth.

    Examples:
      python main.py eval synthetic
      python main.py eval synthetic --views 0 --motions squat --frames 20
      python main.py eval synthetic --json eval.json
      python main.py eval synthetic --fit-skeleton reference --views 0,90
    """
    names = [m.strip() for m in motions.split(",") if m.strip()]
    yaws = [float(v) for v in views.split(",") if v.strip()]
    width, height = (int(v) for v in size.lower().split("x"))
    console = Console()
    # Renders with OpenGL on this thread: the app callback has chosen the platform.
    reports = evaluate(estimator, names, yaws, frames, width, height, progress=console.print,
                       fit_skeleton=fit_skeleton)
    table = Table(title=f"eval synthetic: {estimator}, {len(names)} motion(s) x {frames} frames per view, "
                        f"{width}x{height}, fit on the {fit_skeleton} skeleton")
    for column in ("yaw°", "detected", "body PA-MPJPE mm", "body MPJPE mm", "root mm", "reproj. px",
                   "reproj. % height", "body joint °", "hands found", "hand joint °", "jaw °"):
        table.add_column(column, justify="right")
    for r in reports:
        table.add_row(f"{r.yaw_deg:.0f}", f"{100 * r.detection_rate:.0f}%", f"{r.body_pa_mpjpe_mm:.1f}",
                      f"{r.body_mpjpe_mm:.0f}", f"{r.root_error_mm:.0f}", f"{r.reprojection_px:.1f}",
                      f"{r.reprojection_pct_height:.1f}", f"{r.body_angle_deg:.1f}", f"{100 * r.hands_found_rate:.0f}%",
                      f"{r.hand_angle_deg:.1f}", f"{r.jaw_angle_deg:.1f}")
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps({"estimator": estimator, "motions": names, "frames_per_motion": frames,
                                         "width": width, "height": height, "fit_skeleton": fit_skeleton,
                                         "views": [asdict(r) for r in reports]}, indent=2) + "\n")
