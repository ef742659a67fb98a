"""`python main.py bench batch --workers 1,2 [--cluster ...]`: videos per minute and fps of a batch per worker count."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.errors import ConfigError
from mocap_app.pipeline.batch import measure_batch
from mocap_app.pipeline.process import check_input

from .context import current_config

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "demo.mp4"


def bench_batch(
    ctx: typer.Context,
    workers: str = typer.Option("1,2", "--workers", help="Worker counts to compare, comma-separated."),
    cluster: str = typer.Option(None, "--cluster", help="Also run each count on this Ray cluster (auto or "
                                "ray://HOST:10001), beside this machine."),
    copies: int = typer.Option(4, "--copies", help="Copies of the video in each batch."),
    video: Path = typer.Option(SAMPLE, "--video", help="Input video (default: the bundled sample clip)."),
    worker_cpus: float = typer.Option(2.0, "--worker-cpus", help="CPUs each Ray worker declares."),
    worker_gpus: float = typer.Option(0.0, "--worker-gpus", help="GPUs each Ray worker declares."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Process copies of a video as one batch per worker count; print videos/min and fps side by side.

    Times include starting the workers and loading their models, as a real batch waits for them.

    Example: python main.py bench batch --workers 1,2 --json batch.json
    """
    config = current_config(ctx)
    counts = [part.strip() for part in workers.split(",")]
    if not counts or not all(c.isdigit() and int(c) >= 1 for c in counts):
        raise ConfigError(f"--workers takes counts like 1,2,4; got '{workers}'.", "Example: --workers 1,2")
    if copies < 1:
        raise ConfigError(f"--copies must be at least 1, got {copies}.", "Example: --copies 4")
    check_input(video, config)
    console = Console()
    rows = measure_batch(video, copies, [int(c) for c in counts], config, [None] if cluster is None else
                         [None, cluster], worker_cpus, worker_gpus,
                         on_row=lambda row: console.print(f"[dim]{row.where}, {row.workers} workers: "
                                                          f"{row.wall_s:.1f} s[/]"))
    table = Table(title=f"batch: {copies} copies of {video.name}, npz, no mesh")
    for column in ("where", "workers", "videos", "frames", "wall s", "videos/min", "fps", "speed-up"):
        table.add_column(column, justify="right")
    for row in rows:
        base = next(r for r in rows if r.where == row.where)
        table.add_row(row.where, str(row.workers), str(row.videos), str(row.frames), f"{row.wall_s:.1f}",
                      f"{row.videos_per_minute:.2f}", f"{row.fps:.1f}", f"{base.wall_s / row.wall_s:.2f}x")
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps({"video": str(video), "copies": copies, "runs": [
            {"where": r.where, "workers": r.workers, "videos": r.videos, "frames": r.frames,
             "wall_s": round(r.wall_s, 2), "videos_per_minute": round(r.videos_per_minute, 2),
             "fps": round(r.fps, 2)} for r in rows]}, indent=2) + "\n")
