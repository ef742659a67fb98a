"""`python main.py bench smoothing`: filter cost per person per frame, online and offline."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.params import MotionClip
from mocap_app.pipeline.evaluation.smoothing import NoiseModel, corrupt, synthetic_motion
from mocap_app.smoothing import OnlineSmoother, smooth_clip, smoothing_config

BUDGET_MS = 1.0  # per person per frame (issue 7)


def _people_clips(persons: int, frames: int) -> list[MotionClip]:
    clips = []
    for k in range(persons):
        observed = corrupt(synthetic_motion(frames, seed=k), NoiseModel(drop_rate=0.0), seed=100 + k)
        clips.append(dataclasses.replace(observed, track_id=k))
    return clips


def online_ms(clips: list[MotionClip], method: str, preset: str) -> float:
    """Mean ms per person per frame of `OnlineSmoother` (records in → records out)."""
    frames = [[clip.frame(i) for clip in clips] for i in range(clips[0].num_frames)]
    smoother = OnlineSmoother(smoothing_config(preset, method=method), fps=clips[0].fps)
    start = time.perf_counter()
    for people in frames:
        smoother(people)
    return 1000.0 * (time.perf_counter() - start) / (len(frames) * len(clips))


def offline_ms(clip: MotionClip, method: str, preset: str) -> float:
    """Mean ms per frame of `smooth_clip` on one person's clip."""
    config = smoothing_config(preset, method=method)
    start = time.perf_counter()
    smooth_clip(clip, config)
    return 1000.0 * (time.perf_counter() - start) / clip.num_frames


def bench_smoothing(
    preset: str = typer.Option("medium", help="Smoothing preset (light, medium, strong)."),
    persons: list[int] = typer.Option([1, 4], "--persons", help="People per frame (repeatable)."),
    frames: int = typer.Option(600, min=10, help="Frames per run."),
    rounds: int = typer.Option(3, min=1, help="Rounds; medians are reported."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Cost of the smoothing filters per person per frame (target ≤ 1 ms), online and offline.

    Online includes reading each SmplxParams and building the smoothed one; offline is the whole
    forward pass + RTS smoother over a clip, per frame.

    Examples:
      python main.py bench smoothing
      python main.py bench smoothing --persons 1 --persons 8 --json smoothing_bench.json
    """
    smoothing_config(preset)  # a bad preset fails before any work
    clips = _people_clips(max(persons), frames)
    warm = clips[0].frame(0)
    OnlineSmoother(smoothing_config(preset))([warm])  # imports and first-call costs out of the timings
    rows = []
    for method in ("kalman", "one_euro"):
        for count in persons:
            times = [online_ms(clips[:count], method, preset) for _ in range(rounds)]
            rows.append({"mode": "online", "method": method, "persons": count,
                         "ms_per_person_frame": round(statistics.median(times), 4)})
        times = [offline_ms(clips[0], method, preset) for _ in range(rounds)]
        rows.append({"mode": "offline", "method": method, "persons": 1,
                     "ms_per_person_frame": round(statistics.median(times), 4)})
    table = Table(title=f"smoothing ({preset}): {frames} frames, median of {rounds}")
    for column in ("mode", "method", "persons", "ms / person / frame", f"≤ {BUDGET_MS} ms"):
        table.add_column(column, justify="left" if column in ("mode", "method") else "right")
    for row in rows:
        ms = row["ms_per_person_frame"]
        table.add_row(row["mode"], row["method"], str(row["persons"]), f"{ms:.3f}", "✔" if ms <= BUDGET_MS else "✗")
    Console().print(table)
    if json_path:
        json_path.write_text(json.dumps({"preset": preset, "frames": frames, "rounds": rounds,
                                         "budget_ms": BUDGET_MS, "results": rows}, indent=2) + "\n")
