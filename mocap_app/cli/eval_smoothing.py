"""`python main.py eval smoothing`: the smoothing filters against synthetic motion with known ground truth.

The ground truth, the noise model and the measures are `mocap_app.pipeline.evaluation.smoothing`'s.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.pipeline.evaluation.smoothing import MAX_LAG_FRAMES, NoiseModel, evaluate
from mocap_app.smoothing import PRESETS, smoothing_config


def eval_smoothing(
    preset: str = typer.Option("medium", help=f"Smoothing preset: {', '.join(p for p in PRESETS if p != 'off')}."),
    sequences: int = typer.Option(4, min=1, help="Generated sequences (different motions and noise)."),
    frames: int = typer.Option(600, min=4 * MAX_LAG_FRAMES, help="Frames per sequence (30 fps)."),
    seed: int = typer.Option(0, help="Seed of the first sequence."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Raw vs online Kalman vs offline RTS vs one-euro on synthetic motion with known ground truth.

    Examples:
      python main.py eval smoothing
      python main.py eval smoothing --preset strong --sequences 8 --json smoothing.json
    """
    config = smoothing_config(preset)
    if not config.enabled:
        config = smoothing_config("medium")
    reports = evaluate(config, sequences, frames, seed)
    raw = reports[0]
    table = Table(title=f"smoothing ({preset}): {sequences} sequences x {frames} frames, 30 fps, "
                        "jitter + outliers + dropped frames")
    for column in ("method", "accel err mm/f²", "vs raw", "MPJPE mm", "bridged MPJPE mm", "lag frames", "ms"):
        table.add_column(column, justify="left" if column == "method" else "right", no_wrap=column == "method")
    for r in reports:
        change = 100.0 * (r.accel_error_mm - raw.accel_error_mm) / raw.accel_error_mm
        table.add_row(r.method, f"{r.accel_error_mm:.2f}", "" if r is raw else f"{change:+.0f}%", f"{r.mpjpe_mm:.1f}",
                      "-" if r.bridged_mpjpe_mm is None else f"{r.bridged_mpjpe_mm:.1f}", f"{r.lag_frames:+.2f}",
                      "" if r is raw else f"{r.ms_per_frame:.3f}")
    console = Console()
    console.print(table)
    console.print("targets: online accel −60% with lag ≤ 1 frame; offline accel −80% with no lag; "
                  "MPJPE not above raw")
    if json_path:
        figures = {"preset": preset, "sequences": sequences, "frames": frames, "seed": seed,
                   "config": dataclasses.asdict(config), "noise": dataclasses.asdict(NoiseModel()),
                   "methods": {r.method: dataclasses.asdict(r) for r in reports}}
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
