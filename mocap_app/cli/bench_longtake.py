"""`mocap bench longtake`: a long several-person recording read, smoothed and exported — seconds and peak memory."""

from __future__ import annotations

import json
import platform
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.pipeline.longtake import measure_long_take, write_synthetic_journal

from .context import current_config


def bench_longtake(
    ctx: typer.Context,
    frames: int = typer.Option(18_000, help="Frames per person (18,000 = 10 min at 30 fps)."),
    people: int = typer.Option(2, help="Tracked people in every frame."),
    mesh: str = typer.Option("none", help="Body in the FBX/glb files: none, avatar or smplx (as `export --mesh`)."),
    preset: str = typer.Option("medium", help="Look-ahead smoothing preset before the export."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Peak resident memory and seconds of each phase after a long take: journal → clips → RTS smoothing → FBX,
    BVH, glb and npz per person, measured in a fresh process.

    Example: python main.py bench longtake --frames 18000 --people 2 --json longtake.json
    """
    config = current_config(ctx)
    with tempfile.TemporaryDirectory() as scratch:
        journal = write_synthetic_journal(Path(scratch) / "take.mocapjournal", frames, people)
        figures = measure_long_take(journal, Path(scratch), mesh=mesh, preset=preset,
                                    body_models=Path(config.paths.body_models))
        figures["journal_mb"] = round(journal.stat().st_size / 1e6, 1)
    table = Table(title=f"long take: {people} people × {frames} frames, smoothing {preset}, mesh {mesh}")
    for column in ("phase", "seconds", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    table.add_row("start (imports)", "", f"{figures['baseline_mb']:.0f}")
    for phase in ("read", "smooth", *(k.removesuffix("_s") for k in figures if k.startswith("export_") and
                                       k.endswith("_s"))):
        table.add_row(phase.replace("_", " "), f"{figures[f'{phase}_s']:.2f}", f"{figures[f'{phase}_peak_mb']:.0f}")
    table.add_row("whole job", "", f"{figures['peak_mb']:.0f}")
    Console().print(table)
    if json_path is not None:
        figures |= {"frames": frames, "people": people, "mesh": mesh, "preset": preset,
                    "machine": platform.processor() or platform.machine()}
        json_path.write_text(json.dumps(figures, indent=2))
