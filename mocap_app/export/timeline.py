"""Animation files play at a fixed frame rate; a clip's frames need not be evenly spaced. This puts a clip on the
file's uniform timeline before it is written.

A clip's time is its frames' `timestamp_ns` (a video's presentation times: variable frame rates are kept), or,
where those do not increase, `frame_index / fps`, or the row number. Each output frame at t0 + k/fps takes the
two recorded frames around it: rotations are slerped per joint (shortest arc), translations, shape, expression
and confidences interpolated linearly, and the camera, box and frame index taken from the nearer one. Frames
already on that grid come through unchanged, so a constant-rate clip is written exactly as recorded; a frame
the person was missing from is bridged from its neighbours (its confidence interpolated towards the gap).
"""

from __future__ import annotations

import numpy as np

from mocap_app.core.params import CLIP_ARRAYS, POSE_FIELDS, MotionClip, split_full_pose
from mocap_app.smoothing.representation import pose_to_quats, quats_to_pose

# Frames within this much of their grid time count as on the grid (1 ms: container timestamps are rounded).
ON_GRID_S = 1e-3
_NEAREST = ("camera", "box", "frame_index")
_LINEAR = tuple(name for name in CLIP_ARRAYS if name not in (*POSE_FIELDS, *_NEAREST, "timestamp_ns"))


def clip_times_s(clip: MotionClip) -> np.ndarray:
    """(T,) seconds from the clip's first frame, by the first of timestamps / frame indices / rows that
    strictly increases."""
    stamps = clip.timestamp_ns.astype(np.int64)
    if clip.num_frames < 2 or np.all(np.diff(stamps) > 0):
        return (stamps - stamps[0]) / 1e9
    index = clip.frame_index.astype(np.int64)
    if np.all(np.diff(index) > 0):
        return (index - index[0]) / clip.fps
    return np.arange(clip.num_frames) / clip.fps


def _slerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(N, J, 4) unit quaternions, (N,) weights → (N, J, 4), along the shorter arc."""
    dot = (q0 * q1).sum(axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot).clip(0.0, 1.0)
    theta = np.arccos(dot)
    w = w[:, None, None]
    sin = np.sin(theta)
    small = sin < 1e-6
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / np.where(small, 1.0, sin))
    b = np.where(small, w, np.sin(w * theta) / np.where(small, 1.0, sin))
    out = a * q0 + b * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def on_timeline(clip: MotionClip, fps: float | None = None) -> MotionClip:
    """`clip` with one frame every 1/fps seconds (default: the clip's own rate) from its first to its last."""
    fps = float(fps or clip.fps)
    times = clip_times_s(clip)
    count = int(np.floor(times[-1] * fps + ON_GRID_S * fps)) + 1
    grid = np.arange(count) / fps
    if fps == clip.fps and count == clip.num_frames and np.all(np.abs(times - grid) <= ON_GRID_S):
        return clip
    upper = np.searchsorted(times, grid, side="right").clip(1, clip.num_frames - 1)
    lower = upper - 1
    span = times[upper] - times[lower]
    w = np.where(span > 0, (grid - times[lower]) / np.where(span > 0, span, 1.0), 0.0).clip(0.0, 1.0)
    nearest = np.where(w < 0.5, lower, upper)

    full = clip.full_pose()
    quats = pose_to_quats(full)
    pose = quats_to_pose(_slerp(quats[lower], quats[upper], w))
    # Frames that fall on a recorded one keep its values exactly (the quaternion round trip would re-express
    # angles above π).
    at_lower, at_upper = grid - times[lower] <= 1e-6, times[upper] - grid <= 1e-6
    exact = at_lower | at_upper
    pose[exact] = full[np.where(at_lower, lower, upper)[exact]]
    arrays = dict(split_full_pose(pose))
    for name in _LINEAR:
        values = getattr(clip, name).astype(np.float64)
        weight = w.reshape(-1, *([1] * (values.ndim - 1)))
        arrays[name] = (1.0 - weight) * values[lower] + weight * values[upper]
    for name in _NEAREST:
        arrays[name] = getattr(clip, name)[nearest]
    arrays["timestamp_ns"] = clip.timestamp_ns[0] + np.round(grid * 1e9).astype(np.int64)
    return MotionClip(**arrays, fps=fps, track_id=clip.track_id, gender=clip.gender, source=clip.source)
