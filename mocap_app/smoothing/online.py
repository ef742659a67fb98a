"""Causal smoothing for live capture: each frame's records in, each frame's smoothed records out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap_app.core.params import SmplxParams

from .config import SmoothingConfig
from .kalman import motion_model
from .track import TrackFilter

MAX_BRIDGE_S = 0.25  # the longest stretch a track that is not seen is predicted for, seconds


@dataclass
class _Track:
    filter: TrackFilter
    state_frame: int  # frame the filter state refers to
    last_seen: SmplxParams  # the last measured record (metadata for predicted frames)
    ns_per_frame: float = 0.0


class OnlineSmoother:
    """Per-track causal filter (Kalman or one-euro): no look-ahead, so no added latency.

    Call once per frame with the records of that frame (any number of tracks). A track that is
    missing from a frame is predicted and returned for up to `max_missing` frames — the settings'
    `max_missing_frames`, but never more than `max_bridge_s` seconds (0.25 s: 7 frames at 30 fps), so no body
    stays alive where nobody is — with `confidence` 0 and `joint_confidence` zeros, so later stages know it was
    not seen; then forgotten, and it restarts from scratch when it comes back. A frame index that does not move
    forward (a new stream) restarts the track too. (Only the live view shows predicted records: the journal, and
    so every export, holds measurements.)
    fps: the source frame rate, used by the one-euro filter's cut-offs and the bridging limit.
    """

    def __init__(self, config: SmoothingConfig, fps: float = 30.0, emit_predicted: bool = True,
                 max_bridge_s: float = MAX_BRIDGE_S) -> None:
        self.config = config
        self.fps = fps
        self.emit_predicted = emit_predicted
        self.max_missing = min(config.max_missing_frames, int(max_bridge_s * fps + 1e-9))
        self._model = motion_model(config.motion_model) if config.method == "kalman" else None
        self._tracks: dict[int, _Track] = {}
        self._frame: int | None = None

    def reset(self) -> None:
        """Forget every track."""
        self._tracks.clear()
        self._frame = None

    @property
    def track_ids(self) -> list[int]:
        return sorted(self._tracks)

    def __call__(self, people: list[SmplxParams], frame_index: int | None = None) -> list[SmplxParams]:
        """Smooth one frame. frame_index: the frame's index; default the records' own, or the
        previous frame's + 1 when there are none."""
        if not self.config.enabled:
            return list(people)
        if frame_index is None:
            frame_index = people[0].frame_index if people else (0 if self._frame is None else self._frame + 1)
        if self._frame is not None and frame_index <= self._frame:
            self.reset()  # a new stream: nothing carries over
        self._frame = frame_index
        out = [self._measure(p) for p in people]
        seen = {p.track_id for p in people}
        for track_id in [t for t in self._tracks if t not in seen]:
            predicted = self._predict(track_id, frame_index)
            if predicted is not None and self.emit_predicted:
                out.append(predicted)
        return out

    def _measure(self, params: SmplxParams) -> SmplxParams:
        track = self._tracks.get(params.track_id)
        missing = -1 if track is None else params.frame_index - track.last_seen.frame_index - 1
        if track is None or not 0 <= missing <= self.max_missing:
            new = TrackFilter(self.config, self._model, self.fps)
            new.start(params)
            self._tracks[params.track_id] = _Track(new, params.frame_index, params, ns_per_frame=1e9 / self.fps)
            return new.output(params)
        if params.frame_index > track.state_frame:
            track.filter.advance(params.frame_index - track.state_frame)
        track.filter.measure(params)
        previous = track.last_seen
        if params.timestamp_ns > previous.timestamp_ns:  # a source's own times start at 0: 0 is a time, not "none"
            track.ns_per_frame = (params.timestamp_ns - previous.timestamp_ns) / (missing + 1)
        track.state_frame, track.last_seen = params.frame_index, params
        return track.filter.output(params)

    def _predict(self, track_id: int, frame_index: int) -> SmplxParams | None:
        track = self._tracks[track_id]
        missing = frame_index - track.last_seen.frame_index
        if missing > self.max_missing:
            del self._tracks[track_id]
            return None
        track.filter.advance(frame_index - track.state_frame)
        track.state_frame = frame_index
        last = track.last_seen
        return track.filter.output(
            last, frame_index=frame_index, confidence=0.0, joint_confidence=np.zeros_like(last.joint_confidence),
            timestamp_ns=int(last.timestamp_ns + round(missing * track.ns_per_frame)))
