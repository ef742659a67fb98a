"""`python main.py bench pipeline`: end-to-end fps of the main job and where the time goes, per stage."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.pipeline.process import (
    ProcessOptions,
    build_body,
    build_estimators,
    check_input,
    close_all,
    process_input,
)

from .context import current_config

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "demo.mp4"


def bench_pipeline(
    ctx: typer.Context,
    video: Path = typer.Option(SAMPLE, "--video", help="Input video (default: the bundled sample clip)."),
    model: str = typer.Option("default", "--model", help="Estimator: default or smplerx-s|b|l|h."),
    overlay: bool = typer.Option(True, "--overlay/--no-overlay", help="Also time a run that writes the overlay."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Run the whole pipeline on a video without and with the overlay video; print fps and per-stage busy time.

    The stages run on their own threads: their busy times add up to more than the wall time when they overlap.

    Example: python main.py bench pipeline --json pipeline.json
    """
    config = current_config(ctx)
    info = check_input(video, config)
    console = Console()
    figures: dict[str, dict] = {}
    estimators = build_estimators(ProcessOptions(model=model), config)
    body = build_body(config, lambda line: console.print(f"[dim]{line}[/]")) if overlay else None
    try:
        with tempfile.TemporaryDirectory() as scratch:
            runs = [("no overlay", None)] + ([("with overlay", Path(scratch) / "overlay.mp4")] if overlay else [])
            for label, overlay_path in runs:
                options = ProcessOptions(model=model, overlay=overlay_path)
                outcome = process_input(video, [], options, config, estimators, body=body,
                                        journal=Path(scratch) / f"{label.replace(' ', '_')}.mocapjournal")
                report = outcome.report
                figures[label.replace(" ", "_")] = {
                    "fps": round(report.fps, 2),
                    "ms_per_frame": round(1000 * report.wall_s / max(report.frames, 1), 2),
                    "frames": report.frames,
                    "stage_ms_per_frame": {t.name: round(t.ms_per_item, 2) for t in report.stages},
                    "stage_busy_sum_over_wall": round(sum(t.busy_s for t in report.stages) / report.wall_s, 2),
                }
    finally:
        close_all(estimators)
    table = Table(title=f"pipeline: {video.name}, {info.width}x{info.height}, model {model}")
    table.add_column("run")
    table.add_column("fps", justify="right")
    table.add_column("ms/frame", justify="right")
    stage_names = list(next(iter(figures.values()))["stage_ms_per_frame"])
    for name in stage_names:
        table.add_column(f"{name} ms", justify="right")
    table.add_column("Σ stages / wall", justify="right")
    for label, fig in figures.items():
        table.add_row(label.replace("_", " "), f"{fig['fps']:.1f}", f"{fig['ms_per_frame']:.1f}",
                      *(f"{fig['stage_ms_per_frame'][n]:.1f}" for n in stage_names),
                      f"{fig['stage_busy_sum_over_wall']:.2f}")
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps({"video": str(video), "model": model, **figures}, indent=2) + "\n")
