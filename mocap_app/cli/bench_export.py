"""`python main.py bench export`: time every export format on a long synthetic clip (target ≤ 5 s each)."""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.params import MotionClip
from mocap_app.core.skeleton import NUM_JOINTS
from mocap_app.export import FORMATS, export_clip

TARGET_S = 5.0


def synthetic_clip(num_frames: int, fps: float = 30.0, seed: int = 0) -> MotionClip:
    """All 55 joints swinging with random amplitudes and phases, the subject walking forward."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None, None] / fps
    pose = rng.uniform(-0.6, 0.6, (1, NUM_JOINTS, 3)) * np.sin(2.0 * t + rng.uniform(0, 2 * np.pi, (1, NUM_JOINTS, 3)))
    pose[:, 0, 0] += np.pi
    frames = np.arange(num_frames)
    transl = np.stack([0.2 * np.sin(0.5 * t[:, 0, 0]), np.full(num_frames, 0.3), 3.0 + 0.01 * t[:, 0, 0]], axis=1)
    zeros = np.zeros((num_frames, 10))
    return MotionClip(
        global_orient=pose[:, 0], body_pose=pose[:, 1:22], jaw_pose=pose[:, 22], leye_pose=pose[:, 23],
        reye_pose=pose[:, 24], left_hand_pose=pose[:, 25:40], right_hand_pose=pose[:, 40:55], betas=zeros,
        expression=zeros, transl=transl, camera=np.tile([600.0, 600.0, 320.0, 240.0, 640.0, 480.0], (num_frames, 1)),
        confidence=np.ones(num_frames), joint_confidence=np.ones((num_frames, NUM_JOINTS)),
        box=np.zeros((num_frames, 4)), frame_index=frames, timestamp_ns=(frames * 1e9 / fps).astype(np.int64),
        fps=fps)


def bench_export(
    frames: int = typer.Option(18_000, help="Frames in the synthetic clip (18,000 = 10 min at 30 fps)."),
    rounds: int = typer.Option(1, help="Timed writes per format; the fastest is reported."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Seconds to write a 55-joint clip in every export format (target ≤ 5 s each).

    Example: python main.py bench export --frames 18000 --json export.json
    """
    clip = synthetic_clip(frames)
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
