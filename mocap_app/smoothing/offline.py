"""Zero-lag smoothing of a recorded clip: Kalman forward pass + Rauch–Tung–Striebel backward pass."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import numpy as np

from mocap_app.core.params import MotionClip, split_full_pose

from .config import SmoothingConfig
from .kalman import motion_model, rts_smooth
from .representation import EXPRESSION, NUM_QUAT_VALUES, NUM_VALUES, TRANSL, quats_to_pose
from .track import TrackFilter


def segments(frame_index: np.ndarray, max_missing_frames: int) -> list[tuple[int, int]]:
    """[start, stop) row ranges of a clip whose frames are at most `max_missing_frames` apart
    (gaps longer than that, or frame indices that do not increase, start a new segment)."""
    gaps = np.diff(frame_index) - 1
    cuts = np.flatnonzero((gaps > max_missing_frames) | (gaps < 0)) + 1
    bounds = [0, *cuts.tolist(), len(frame_index)]
    return list(itertools.pairwise(bounds))


def _step_through(track: TrackFilter, clip: MotionClip, rows: range,
                  grid_rows: dict[int, int], num_grid: int) -> Iterator[tuple[int, np.ndarray | None]]:
    """Run `track` over every frame of the segment (predicting across gaps); yields (t, restart flags of
    the frame's measurement, or None where it had none) after each step."""
    for t in range(num_grid):
        restarts = None
        if t == 0:
            track.start(clip.frame(rows.start))
        else:
            track.advance(1)
            if t in grid_rows:
                restarts = track.measure(clip.frame(grid_rows[t]))
        yield t, restarts


def _filter_segment(clip: MotionClip, rows: range, config: SmoothingConfig, model) -> tuple[np.ndarray, np.ndarray]:
    """Filtered values (F, NUM_VALUES) on every frame from the segment's first to its last, and its betas (10,)."""
    first = int(clip.frame_index[rows.start])
    grid_rows = {int(clip.frame_index[i]) - first: i for i in rows}
    num_grid = max(grid_rows) + 1
    track = TrackFilter(config, model, clip.fps)
    steps = _step_through(track, clip, rows, grid_rows, num_grid)
    if track.bank is None:  # one-euro: causal only
        values = np.empty((num_grid, NUM_VALUES))
        for t, _ in steps:
            values[t] = track.values
        return values, track.betas
    k = track.bank.model.order
    xs = np.empty((num_grid, NUM_VALUES, k))
    Ps = np.empty((num_grid, NUM_VALUES, k, k))
    restarts = np.zeros((num_grid, NUM_VALUES), dtype=bool)
    for t, restarted in steps:
        if restarted is not None:
            restarts[t] = restarted
        xs[t], Ps[t] = track.bank.x, track.bank.P
    smoothed, _ = rts_smooth(xs, Ps, track.bank.model, track.bank.q, restarts)
    return smoothed[:, :, 0], track.betas


def smooth_clip(clip: MotionClip, config: SmoothingConfig, fill_gaps: bool = False) -> MotionClip:
    """The clip smoothed with no lag (Kalman + RTS; one-euro runs causally). Betas become the
    confidence-weighted mean of each segment (frames at most `max_missing_frames` apart).

    fill_gaps: also return the missing frames inside each segment (predicted, `confidence` and
    `joint_confidence` 0, camera/box of the previous frame, timestamps interpolated).
    """
    if not config.enabled or clip.num_frames == 0:
        return clip
    model = motion_model(config.motion_model) if config.method == "kalman" else None
    parts: list[dict[str, np.ndarray]] = []
    for start, stop in segments(clip.frame_index, config.max_missing_frames):
        values, betas = _filter_segment(clip, range(start, stop), config, model)
        offsets = clip.frame_index[start:stop] - clip.frame_index[start]
        grid = np.arange(len(values)) if fill_gaps else offsets
        # For each output frame: the last measured row at or before it.
        source_row = start + np.searchsorted(offsets, grid, side="right") - 1
        measured = np.isin(grid, offsets)
        part = {name: getattr(clip, name)[source_row].copy() for name in ("camera", "box", "confidence",
                                                                          "joint_confidence", "timestamp_ns",
                                                                          "face_weights")}
        part["confidence"][~measured] = 0.0
        part["joint_confidence"][~measured] = 0.0
        part["timestamp_ns"] = np.interp(grid, offsets, clip.timestamp_ns[start:stop].astype(np.float64)).round()
        part["frame_index"] = clip.frame_index[start] + grid
        chosen = values[grid]
        part["pose"] = quats_to_pose(chosen[:, :NUM_QUAT_VALUES].reshape(len(grid), -1, 4))
        part["transl"], part["expression"] = chosen[:, TRANSL], chosen[:, EXPRESSION]
        part["betas"] = np.broadcast_to(betas, (len(grid), len(betas)))
        parts.append(part)
    joined = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    pose = joined.pop("pose")
    joined["timestamp_ns"] = joined["timestamp_ns"].astype(np.int64)
    return dataclasses.replace(clip, **split_full_pose(pose), **joined)
