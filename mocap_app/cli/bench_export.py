"""`python main.py bench export`: time every export format on a long synthetic clip (target ≤ 5 s each)."""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.body.motions import swinging_clip
from mocap_app.core.skeleton import NUM_JOINTS
from mocap_app.export import FORMATS, export_clip

TARGET_S = 5.0


def bench_export(
    frames: int = typer.Option(18_000, help="Frames in the synthetic clip (18,000 = 10 min at 30 fps)."),
    rounds: int = typer.Option(1, help="Timed writes per format; the fastest is reported."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Seconds to write a 55-joint clip in every export format (target ≤ 5 s each).

    Example: python main.py bench export --frames 18000 --json export.json
    """
    clip = swinging_clip(frames)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for row in FORMATS.values():
            path = Path(scratch) / f"bench{row.suffix}"
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                export_clip(clip, path)
                times.append(time.perf_counter() - start)
            results.append({"format": row.name, "seconds": round(min(times), 3),
                            "megabytes": round(path.stat().st_size / 1e6, 2), "within_target": min(times) <= TARGET_S})
    table = Table(title=f"export: {frames} frames × {NUM_JOINTS} joints (target ≤ {TARGET_S:.0f} s)")
    for column in ("format", "seconds", "MB", "≤ target"):
        table.add_column(column)
    for r in results:
        verdict = "yes" if r["within_target"] else "NO"
        table.add_row(r["format"], f"{r['seconds']:.2f}", f"{r['megabytes']:.1f}", verdict)
    Console().print(table)
    if json_path is not None:
        json_path.write_text(json.dumps({"frames": frames, "joints": NUM_JOINTS, "target_s": TARGET_S,
                                         "machine": platform.processor() or platform.machine(),
                                         "results": results}, indent=2))
