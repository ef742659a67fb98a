"""`mocap bench soak --minutes M`: the live path for M minutes — memory, fps and latency every 10 s."""

from __future__ import annotations

import json
import platform
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.config import REPO_ROOT
from mocap_app.pipeline.soak import SoakSample, run_soak

from .context import current_config

SAMPLE = REPO_ROOT / "assets" / "samples" / "demo.mp4"


def bench_soak(
    ctx: typer.Context,
    minutes: float = typer.Option(30.0, help="How long to run."),
    video: Path = typer.Option(SAMPLE, help="Video replayed as a live camera, looped."),
    interval: float = typer.Option(10.0, help="Seconds between samples."),
    people: int = typer.Option(2, help="People the detector + tracker follow (1: MediaPipe's own tracking)."),
    overlay: bool = typer.Option(True, "--overlay/--no-overlay", help="Also write the overlay video."),
    json_path: Path = typer.Option(None, "--json", help="Write the samples and figures to this JSON file."),
) -> None:
    """Replay a video as a live camera through detection, the estimator, smoothing, the recorder and the overlay
    for a long time; print RSS, fps and capture-to-result latency every interval, and the memory growth after the
    first minute (target ≤ 5 %).

    Example: python main.py bench soak --minutes 30 --json soak.json
    """
    config = current_config(ctx)
    console = Console()

    def show(sample: SoakSample) -> None:
        console.print(f"{sample.elapsed_s:7.0f} s  RSS {sample.rss_mb:7.1f} MB  {sample.fps:5.1f} fps  latency "
                      f"p50 {sample.latency_ms_p50:6.1f} ms p95 {sample.latency_ms_p95:6.1f} ms  dropped "
                      f"{sample.dropped:6d}  journal {sample.journal_mb:6.1f} MB")

    with tempfile.TemporaryDirectory() as scratch:
        report = run_soak(video, minutes, Path(scratch), config, interval_s=interval, max_people=people,
                          overlay=overlay, on_sample=show, progress=lambda line: console.print(f"[dim]{line}[/]"))
    figures = report.figures()
    table = Table(title=f"soak: {figures['duration_s'] / 60:.1f} min, {people} people max, overlay {overlay}")
    for column in ("figure", "value"):
        table.add_column(column)
    for name, value in figures.items():
        table.add_row(name, str(value))
    console.print(table)
    if json_path is not None:
        json_path.write_text(json.dumps({"figures": figures, "samples": [vars(s) for s in report.samples],
                                         "video": str(video), "machine": platform.processor() or platform.machine()},
                                        indent=2))
