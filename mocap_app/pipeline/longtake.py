"""Long takes end to end after recording: a 10-minute, several-person journal read, smoothed and exported, with
the time and the peak resident memory of each phase (for `bench longtake`).

The measurement runs in a fresh process (multiprocessing "spawn"), so the peak belongs to this job alone and not
to whatever the calling process had loaded before.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from pathlib import Path

from mocap_app.body.motions import swinging_clip
from mocap_app.core.memory import RssSampler
from mocap_app.export import ExportOptions
from mocap_app.smoothing import smooth_clip, smoothing_config

from .exporting import export_with_body
from .journal import JournalWriter, journal_to_clips

MB = 1e6


def write_synthetic_journal(path: Path, frames: int, people: int, fps: float = 30.0) -> Path:
    """A journal as `process` records it: `people` tracks (ids 1..people) seen in every frame."""
    clips = [dataclasses.replace(swinging_clip(frames, fps, seed=k), track_id=k + 1) for k in range(people)]
    with JournalWriter(path, fps=fps, source={"input": "synthetic", "model": "bench"}) as journal:
        for i in range(frames):
            journal.append([clip.frame(i) for clip in clips])
    return path


def _measure(journal: Path, folder: Path, formats: tuple[str, ...], mesh: str, preset: str,
             body_models: Path) -> dict:
    figures: dict = {}
    with RssSampler() as rss:
        figures["baseline_mb"] = round(rss.peak / MB, 1)
        start = time.perf_counter()
        clips = journal_to_clips(journal)
        figures |= {"read_s": round(time.perf_counter() - start, 2), "read_peak_mb": round(rss.reset() / MB, 1)}
        start = time.perf_counter()
        settings = smoothing_config(preset)
        clips = [smooth_clip(c, settings) for c in clips] if settings.enabled else clips
        figures |= {"smooth_s": round(time.perf_counter() - start, 2), "smooth_peak_mb": round(rss.reset() / MB, 1)}
        for fmt in formats:
            start = time.perf_counter()
            for clip in clips:
                export_with_body(clip, folder / f"take_person{clip.track_id}.{fmt}", ExportOptions(), body_models,
                                 mesh, progress=lambda line: None)
            figures |= {f"export_{fmt}_s": round(time.perf_counter() - start, 2),
                        f"export_{fmt}_peak_mb": round(rss.reset() / MB, 1)}
    figures["peak_mb"] = max(v for k, v in figures.items() if k.endswith("peak_mb"))
    return figures


def measure_long_take(journal: Path, folder: Path, formats: tuple[str, ...] = ("fbx", "bvh", "glb", "npz"),
                      mesh: str = "none", preset: str = "medium", body_models: Path | None = None) -> dict:
    """Read `journal`, smooth every track with `preset` and export each in `formats` into `folder`, in a fresh
    process; returns seconds and peak RSS (MB) per phase, and `peak_mb` of the whole job."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_measure, (Path(journal), Path(folder), tuple(formats), mesh, preset,
                                     Path(body_models or folder)))
