"""Animation files play at a fixed frame rate; a clip's frames need not be evenly spaced. This puts a clip on the
file's uniform timeline before it is written.

A clip's time is its frames' `timestamp_ns` (a video's presentation times: variable frame rates are kept), or,
where those do not increase, `frame_index / fps`, or the row number. The timeline runs from the take's first frame
to its last when the clip's `source["take"]` gives them (`start_ns`/`end_ns`: the video's first and last frame,
whether or not the person was seen there), else from the clip's first frame to its last; so a file lasts as
long as the take and a gap stays a gap. Each output frame at t0 + k/fps takes the two recorded frames around it:
- both within `MAX_BRIDGE_S` of each other (ordinary frame spacing, a few missed frames): rotations slerped per
  joint (shortest arc), translations, shape and expression interpolated linearly;
- farther apart (the person was away or not found): the last pose before the gap is held; before the first
  recorded frame the first one is held.
Frames already on that grid come through unchanged, so a constant-rate clip is written exactly as recorded;
every frame that is not a recorded one (interpolated or held) is marked unseen: `confidence` and
`joint_confidence` 0 (the npz export keeps them, so tools can tell a gap from a measurement). Camera and box
come from the nearer recorded frame, `frame_index` from the source frame at that time.
"""

from __future__ import annotations

import numpy as np

from mocap_app.core.params import CLIP_ARRAYS, POSE_FIELDS, MotionClip, split_full_pose
from mocap_app.smoothing.online import MAX_BRIDGE_S
from mocap_app.smoothing.representation import pose_to_quats, quats_to_pose

# Frames within this much of their grid time count as on the grid (1 ms: container timestamps are rounded).
ON_GRID_S = 1e-3
# Recorded frames farther apart than MAX_BRIDGE_S (the live smoother's bridging limit, 0.25 s: 7 frames at 30 fps,
# longer than a blink of the detector, shorter than a person stepping out of view and back) are a gap: held.
_NEAREST = ("camera", "box")
_LINEAR = tuple(name for name in CLIP_ARRAYS if name not in (*POSE_FIELDS, *_NEAREST, "frame_index", "timestamp_ns"))
_UNSEEN_ZERO = ("confidence", "joint_confidence")


def _time_basis(clip: MotionClip) -> str:
    """What a clip's time is read from: the first of "timestamps", "indices" (frame_index / fps) and "rows"
    that strictly increases."""
    if clip.num_frames < 2 or np.all(np.diff(clip.timestamp_ns.astype(np.int64)) > 0):
        return "timestamps"
    return "indices" if np.all(np.diff(clip.frame_index.astype(np.int64)) > 0) else "rows"


def clip_times_s(clip: MotionClip) -> np.ndarray:
    """(T,) seconds from the clip's first frame, on `_time_basis`."""
    basis = _time_basis(clip)
    if basis == "timestamps":
        stamps = clip.timestamp_ns.astype(np.int64)
        return (stamps - stamps[0]) / 1e9
    if basis == "indices":
        index = clip.frame_index.astype(np.int64)
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


def _take_span_s(clip: MotionClip, times: np.ndarray) -> tuple[float, float]:
    """(start, end) seconds of the take on the clip's time axis: `source["take"]` when its timestamps are usable,
    else the clip's own first and last frame."""
    take = (clip.source or {}).get("take") or {}
    uses_stamps = _time_basis(clip) == "timestamps"
    if uses_stamps and "start_ns" in take and "end_ns" in take:
        first = int(clip.timestamp_ns[0])
        start = (int(take["start_ns"]) - first) / 1e9
        end = (int(take["end_ns"]) - first) / 1e9
    elif not uses_stamps and "start_index" in take and "end_index" in take and times[-1] > 0:
        index = clip.frame_index.astype(np.int64)
        start = (int(take["start_index"]) - int(index[0])) / clip.fps
        end = (int(take["end_index"]) - int(index[0])) / clip.fps
    else:
        return 0.0, float(times[-1])
    return min(start, 0.0), max(end, float(times[-1]))


def on_timeline(clip: MotionClip, fps: float | None = None, max_bridge_s: float = MAX_BRIDGE_S) -> MotionClip:
    """`clip` with one frame every 1/fps seconds (default: the clip's own rate) across its take (see the module
    docstring); gaps longer than `max_bridge_s` hold the last pose instead of being interpolated."""
    fps = float(fps or clip.fps)
    times = clip_times_s(clip)
    start, end = _take_span_s(clip, times)
    count = int(np.floor((end - start) * fps + ON_GRID_S * fps)) + 1
    grid = start + np.arange(count) / fps
    if fps == clip.fps and count == clip.num_frames and np.all(np.abs(times - grid) <= ON_GRID_S):
        return clip
    single = clip.num_frames == 1
    upper = np.searchsorted(times, grid, side="right").clip(1, max(clip.num_frames - 1, 1))
    lower = upper - 1
    if single:
        upper = lower = np.zeros(count, np.int64)
    span = times[upper] - times[lower]
    w = np.where(span > 0, (grid - times[lower]) / np.where(span > 0, span, 1.0), 0.0).clip(0.0, 1.0)
    held = span > max_bridge_s + ON_GRID_S
    w = np.where(held, 0.0, w)  # a long gap: the last pose before it
    w = np.where(grid < times[0], 0.0, w)  # before the first recorded frame: the first pose
    at_lower, at_upper = np.abs(grid - times[lower]) <= ON_GRID_S, np.abs(times[upper] - grid) <= ON_GRID_S
    exact = at_lower | at_upper
    exact_row = np.where(at_lower, lower, upper)
    w = np.where(at_upper & ~at_lower, 1.0, w)
    nearest = np.where(held | (w < 0.5), lower, upper)

    full = clip.full_pose()
    quats = pose_to_quats(full)
    pose = quats_to_pose(_slerp(quats[lower], quats[upper], w))
    # Frames that fall on a recorded one keep its values exactly (the quaternion round trip would re-express
    # angles above π); held frames too.
    keep = exact | (w == 0.0)
    pose[keep] = full[np.where(exact, exact_row, lower)[keep]]
    arrays = dict(split_full_pose(pose))
    for name in _LINEAR:
        values = getattr(clip, name).astype(np.float64)
        weight = w.reshape(-1, *([1] * (values.ndim - 1)))
        arrays[name] = (1.0 - weight) * values[lower] + weight * values[upper]
    for name in _UNSEEN_ZERO:
        arrays[name] = np.where(exact.reshape(-1, *([1] * (arrays[name].ndim - 1))), arrays[name], 0.0)
    for name in _NEAREST:
        arrays[name] = getattr(clip, name)[nearest]
    index = clip.frame_index.astype(np.float64)
    rate = clip.fps if clip.num_frames < 2 or times[-1] <= 0 else (index[-1] - index[0]) / times[-1] or clip.fps
    source_index = np.round(index[0] + (grid - times[0]) * rate)
    arrays["frame_index"] = np.where(exact, clip.frame_index[exact_row], source_index).astype(clip.frame_index.dtype)
    arrays["timestamp_ns"] = clip.timestamp_ns[0] + np.round(grid * 1e9).astype(np.int64)
    contact = None if clip.foot_contact is None else clip.foot_contact[nearest]  # planted or not: no blend
    return MotionClip(**arrays, fps=fps, track_id=clip.track_id, gender=clip.gender, source=clip.source,
                      foot_contact=contact)


def unseen_frames(clip: MotionClip) -> np.ndarray:
    """(T,) bool: frames of a clip on its timeline that were not measured (interpolated or held: confidence 0)."""
    return clip.confidence <= 0.0
