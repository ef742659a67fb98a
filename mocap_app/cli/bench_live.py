"""`mocap bench live`: the whole app path on the sample clip played as a camera, beside the pipeline alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.crash import cpu_description

from .context import current_config

ROWS = (("estimate_fps", "estimated frames/s", "{:.1f}"), ("displayed_fps", "displayed frames/s", "{:.1f}"),
        ("latency_median_ms", "capture→screen latency, median (ms)", "{:.0f}"),
        ("latency_p95_ms", "capture→screen latency, p95 (ms)", "{:.0f}"),
        ("body_latency_median_ms", "body latency, median (ms)", "{:.0f}"),
        ("body_latency_p95_ms", "body latency, p95 (ms)", "{:.0f}"),
        ("estimator_ms", "estimator ms per frame", "{:.1f}"), ("dropped", "frames dropped", "{:d}"))


def bench_live(
    ctx: typer.Context,
    seconds: float = typer.Option(20.0, help="Measured seconds per side and round (after a few seconds of warm-up)."),
    rounds: int = typer.Option(1, min=1, help="Rounds, alternating which side goes first; figures are medians."),
    video: Path = typer.Option(None, help="A video replayed as the camera (default: the sample clip)."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Feed a video as a live 30 fps camera through the whole app (estimate, smooth, both views drawn, frames
    painted in the window) and through the pipeline alone, one after the other in this run; print both.

    Latency: from a frame's capture to the moment the window painted it (pipeline alone: to its result). Body
    latency: from the capture of the frame the drawn body was estimated on to its paint. With --rounds N the
    sides alternate N times and each figure is the median of its rounds; the estimate ratio is taken round by
    round (a shared machine's speed drifts between them).

    Examples:
      python main.py bench live --json live.json
      python main.py bench live --rounds 4 --seconds 15
    """
    from mocap_app.gui.bench import run_live_bench

    config = current_config(ctx)
    console = Console()
    figures = run_live_bench(config, seconds, video, rounds, progress=lambda line: console.print(f"[dim]{line}[/]"))

    def median(side: str, key: str) -> float:
        return float(np.median([getattr(f, key) for f in figures[side]]))

    ratios = [a.estimate_fps / p.estimate_fps if p.estimate_fps else float("nan")
              for p, a in zip(figures["pipeline"], figures["app"], strict=True)]
    title = f"bench live: {seconds:.0f} s each" + (f", median of {rounds} rounds" if rounds > 1 else "")
    table = Table(title=f"{title}, {cpu_description()}")
    for column in ("figure", "pipeline alone", "app (window)"):
        table.add_column(column)
    for key, label, fmt in ROWS:
        cast = int if fmt == "{:d}" else float
        table.add_row(label, fmt.format(cast(median("pipeline", key))), fmt.format(cast(median("app", key))))
    ratio = float(np.median(ratios))
    table.add_row("estimate rate, app / alone", "", f"{ratio:.2f}" + (
        f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})" if rounds > 1 else ""))
    console.print(table)
    if json_path is not None:
        out = {f"{side}_{key}": median(side, key) for side in ("pipeline", "app") for key, *_ in ROWS}
        out["estimate_ratio_app_to_pipeline"] = ratio
        out["estimate_ratio_per_round"] = ratios
        out["rounds"] = rounds
        out["machine"] = cpu_description()
        json_path.write_text(json.dumps(out, indent=2))
