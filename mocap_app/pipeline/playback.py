"""Playing a recorded take back: every person of a journal, frame by frame, as the exported files will hold them.

Each person's clip goes through `takes.export_take`'s steps (the settings' look-ahead smoother, then
`export.timeline.on_timeline` at the take's frame rate), so what plays is what an export at the recorded rate
writes, frame for frame. The people's clips are then laid on one common timeline: frame k at k / fps seconds
after the earliest frame of the take (capture timestamps, or frame numbers / fps where the timestamps stand still,
as `takes.take_info` measures a take). A person's clip starts where that person was first seen; a clip whose first
frame falls between two frames of the common timeline goes to the nearer one (at most half a frame off).

A person is absent (no record) before their first and after their last recorded frame, and across a gap the export
holds rather than bridges (recorded frames more than `MAX_BRIDGE_S` apart). A short gap is shown as the export
interpolates it. Confidence does not decide presence: `on_timeline` sets it to 0 on every frame it did not take
straight from a recording, which with a camera's jittery timestamps is most frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap_app.body.feet import clean_feet
from mocap_app.core.config import AppConfig
from mocap_app.core.params import MotionClip, SmplxParams
from mocap_app.export.base import check_clip
from mocap_app.export.timeline import ON_GRID_S, on_timeline
from mocap_app.smoothing import smooth_clip
from mocap_app.smoothing.online import MAX_BRIDGE_S

from .journal import journal_to_clips
from .process import smoothing_settings


@dataclass(frozen=True)
class TakePlayback:
    """A take ready to play. Build with `load`, off the GUI thread: it reads and smooths the whole take (6 s for
    5 minutes of two people at 30 fps with the medium preset, on 2 cores); `people_at` then costs ~0.1 ms.

    path: the journal. fps: the take's frame rate (its header's), frames per second.
    clips: one per person in track id order, smoothed and on its own timeline, as `export_take` writes it.
    rows: (P, N) int64, P = len(clips), N = frames of the common timeline: the row of `clips[p]` shown at each
        frame, -1 where that person is absent.
    problems: the damage reading the journal found, one line per kind (what `export_take` reports as warnings).
    """

    path: Path
    fps: float
    clips: tuple[MotionClip, ...]
    rows: np.ndarray
    problems: tuple[str, ...] = ()

    @classmethod
    def load(cls, journal_path: Path, config: AppConfig, smoothing: str | None = None) -> TakePlayback:
        """The take in `journal_path`, smoothed with the preset `smoothing` (off | light | medium | strong; None =
        the settings' preset, as `export_take` uses for a journal).

        Raises ClipFormatError (not a journal, no intact frames), ConfigError (unknown preset), ExportError (a
        clip no file could be written from)."""
        path = Path(journal_path)
        settings = smoothing_settings(config, smoothing)
        problems: list[str] = []
        recorded = journal_to_clips(path, report=problems.append)
        stamps = np.concatenate([c.timestamp_ns for c in recorded]).astype(np.int64)
        use_stamps = stamps.max() > stamps.min() and all(_stamps_increase(c) for c in recorded)
        measured, shown = [], []
        for clip in recorded:
            check_clip(clip)  # the error export would give, before any work on the clip
            if settings.enabled:
                clip = smooth_clip(clip, settings)
            measured.append(clip)
            timeline = on_timeline(clip)
            # Feet as an npz export locks them (`[feet] mode`; the reference skeleton: FBX/glb use their body's).
            shown.append(clean_feet(timeline).clip if config.feet.mode == "lock" else timeline)
        origin = int(stamps.min()) if use_stamps else int(min(c.frame_index[0] for c in recorded))
        fps = recorded[0].fps
        # Take time of each timeline clip's first frame, shifted so the take starts at 0 s.
        starts = np.array([_seconds(c, use_stamps, origin)[0] for c in shown])
        starts -= starts.min()
        first_frames = np.round(starts * fps).astype(np.int64)
        num_frames = int(max(k + c.num_frames for k, c in zip(first_frames, shown, strict=True)))
        rows = np.full((len(shown), num_frames), -1, dtype=np.int64)
        for p, (raw, clip, first) in enumerate(zip(measured, shown, first_frames, strict=True)):
            grid = _seconds(clip, use_stamps, origin)[0] + np.arange(clip.num_frames) / fps
            present = _present(_seconds(raw, use_stamps, origin), grid)
            rows[p, first : first + clip.num_frames] = np.where(present, np.arange(clip.num_frames), -1)
        rows.setflags(write=False)
        return cls(path, fps, tuple(shown), rows, tuple(problems))

    @property
    def num_frames(self) -> int:
        return int(self.rows.shape[1])

    @property
    def duration_s(self) -> float:
        """Seconds from the first frame to the last (0.0 for a one-frame take), as `TakeInfo.duration_s`."""
        return (self.num_frames - 1) / self.fps

    @property
    def track_ids(self) -> tuple[int, ...]:
        return tuple(c.track_id for c in self.clips)

    def people_at(self, frame: int) -> list[SmplxParams]:
        """The record of every person present at `frame` (0 .. num_frames - 1), in track id order."""
        self._check(frame)
        return [clip.frame(int(row)) for clip, row in zip(self.clips, self.rows[:, frame], strict=True) if row >= 0]

    def time_at(self, frame: int) -> float:
        """Seconds from the take's first frame to `frame`."""
        self._check(frame)
        return frame / self.fps

    def _check(self, frame: int) -> None:
        if not 0 <= frame < self.num_frames:
            raise IndexError(f"frame {frame} is outside the take's frames 0..{self.num_frames - 1}")


def _stamps_increase(clip: MotionClip) -> bool:
    """Whether `on_timeline` reads this clip's time from its timestamps (they strictly increase)."""
    return clip.num_frames < 2 or bool(np.all(np.diff(clip.timestamp_ns.astype(np.int64)) > 0))


def _seconds(clip: MotionClip, use_stamps: bool, origin: int) -> np.ndarray:
    """(T,) take time of each frame, seconds after `origin` (a timestamp in ns, or a frame number)."""
    if use_stamps:
        return (clip.timestamp_ns.astype(np.int64) - origin) / 1e9
    return (clip.frame_index.astype(np.int64) - origin) / clip.fps


def _present(recorded_s: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """(G,) bool: grid times within the recorded frames' span and not in a gap `on_timeline` holds (recorded
    frames more than MAX_BRIDGE_S apart), or on a recorded frame. recorded_s: (T,) ascending seconds."""
    upper = np.searchsorted(recorded_s, grid_s, side="right").clip(1, max(len(recorded_s) - 1, 1))
    lower = upper - 1
    if len(recorded_s) == 1:
        upper = lower
    bridged = recorded_s[upper] - recorded_s[lower] <= MAX_BRIDGE_S + ON_GRID_S
    on_recorded = (np.abs(grid_s - recorded_s[lower]) <= ON_GRID_S) | (np.abs(grid_s - recorded_s[upper]) <= ON_GRID_S)
    inside = (grid_s >= recorded_s[0] - ON_GRID_S) & (grid_s <= recorded_s[-1] + ON_GRID_S)
    return inside & (bridged | on_recorded)
