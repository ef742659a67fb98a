"""IoU/Hungarian multi-person tracker: stable ids across frames and through short occlusions.

Each frame, tracks are matched to detections by the Hungarian algorithm (scipy's linear_sum_assignment)
in two rounds: first the tracks seen in the previous frame, then the lost ones (unseen for up to
`max_missed_frames`), so a long-lost track never takes a detection from one that is being followed. A pair
is allowed when the detection's box overlaps the track's box predicted by constant velocity (for lost
tracks: or where it was last seen) by `min_iou`, or failing that when its centre lies within
`max_center_distance` box heights and its size is similar. Unmatched detections start new tracks; ids are
never reused.
Deterministic: the same inputs give the same ids.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import Detection

from .boxes import iou_matrix, to_cxcywh, to_xyxy

_FORBIDDEN = 1e6  # cost of a pair outside every gate


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of `IouTracker`.

    min_iou: smallest overlap between a predicted (or last seen) box and a detection that counts as a match.
    max_center_distance: fallback when boxes barely overlap (fast motion, small people): the largest
        distance between centres, in units of the track's box height, that still counts as a match.
    max_size_ratio: the fallback also needs heights within this factor of each other.
    max_missed_frames: frames a track may go unseen (occluded, left the view, missed by the detector) and
        still get its id back; 15 frames = 0.5 s at 30 fps.
    min_hits: detections a new track needs before it gets an id and is reported (1: at once). Higher
        values hide one-frame false detections.
    velocity_smoothing: weight of the newest displacement in the velocity estimate (0..1].
    max_predict_frames: an unseen track's box is moved by its velocity for at most this many frames, then
        held, so a long occlusion does not carry the prediction away.
    """

    min_iou: float = 0.3
    max_center_distance: float = 0.5
    max_size_ratio: float = 1.5
    max_missed_frames: int = 15
    min_hits: int = 1
    velocity_smoothing: float = 0.5
    max_predict_frames: int = 5

    def __post_init__(self) -> None:
        checks = {
            "min_iou": 0.0 < self.min_iou <= 1.0,
            "max_center_distance": self.max_center_distance >= 0.0,
            "max_size_ratio": self.max_size_ratio >= 1.0,
            "max_missed_frames": self.max_missed_frames >= 0,
            "min_hits": self.min_hits >= 1,
            "velocity_smoothing": 0.0 < self.velocity_smoothing <= 1.0,
            "max_predict_frames": self.max_predict_frames >= 0,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"Tracker setting {key}={getattr(self, key)!r} is out of range.",
                                  "min_iou and velocity_smoothing lie in (0, 1], max_size_ratio >= 1, "
                                  "the others are >= 0 (min_hits >= 1).")


@dataclass(frozen=True)
class Track:
    """One followed person.

    track_id: stable id (>= 0), -1 while tentative (fewer than `min_hits` detections).
    box: (4,) float64 xyxy pixels, the last matched detection's box.
    velocity: (4,) float64 change of (centre x, centre y, width, height) per frame, pixels.
    hits: matched detections so far. age: frames since the track started.
    last_frame: index of the frame it was last seen in; missed: frames since then (0 = seen now).
    score: detector score of the last match.
    """

    track_id: int
    box: np.ndarray
    velocity: np.ndarray
    hits: int
    age: int
    last_frame: int
    missed: int
    score: float

    def predicted_box(self, frame_index: int, max_predict_frames: int) -> np.ndarray:
        """(4,) xyxy where the constant-velocity model puts the person at `frame_index`."""
        steps = min(max(frame_index - self.last_frame, 0), max_predict_frames)
        state = to_cxcywh(self.box) + steps * self.velocity
        state[2:] = np.maximum(state[2:], 1.0)
        return to_xyxy(state)


class IouTracker:
    """`update(detections, frame_index)` → the detections with `track_id` set (confirmed tracks only),
    sorted by id. Frame indices must increase; gaps (dropped frames) are allowed."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[Track] = []
        self._last_frame: int | None = None
        self._next_id = 0

    def reset(self) -> None:
        """Forget every track (a new video): ids start again at 0, so a video's files and track ids do not
        depend on the videos processed before it (a batch worker and a serial run name people alike)."""
        self._tracks = []
        self._last_frame = None
        self._next_id = 0

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Every live track (seen now, lost or tentative), in creation order."""
        return tuple(self._tracks)

    def update(self, detections: list[Detection], frame_index: int) -> list[Detection]:
        if self._last_frame is not None and frame_index <= self._last_frame:
            raise ValueError(f"frame_index must increase: got {frame_index} after {self._last_frame}")
        self._last_frame = frame_index
        cfg = self.config
        # Confirmed tracks live max_missed_frames unseen; tentative ones die at their first miss.
        self._tracks = [t for t in self._tracks if frame_index - t.last_frame
                        <= (cfg.max_missed_frames + 1 if t.track_id >= 0 else 1)]
        boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4)
        unmatched = list(range(len(detections)))
        matches: dict[int, int] = {}  # track position → detection position
        recent = [i for i, t in enumerate(self._tracks) if frame_index - t.last_frame == 1]
        lost = [i for i, t in enumerate(self._tracks) if frame_index - t.last_frame > 1]
        for group, also_last_seen in ((recent, False), (lost, True)):
            for ti, dj in self._assign(group, unmatched, boxes, frame_index, also_last_seen):
                matches[ti] = dj
                unmatched.remove(dj)

        updated: list[tuple[Track, int]] = []  # (track, its detection position or -1)
        for i, track in enumerate(self._tracks):
            if i in matches:
                dj = matches[i]
                updated.append((self._matched(track, boxes[dj], detections[dj].score, frame_index), dj))
            else:
                updated.append((dataclasses.replace(track, age=track.age + 1,
                                                    missed=frame_index - track.last_frame), -1))
        for dj in unmatched:
            new = Track(-1, boxes[dj], np.zeros(4), 1, 1, frame_index, 0, detections[dj].score)
            updated.append((self._confirm(new), dj))
        self._tracks = [track for track, _ in updated]
        out = [Detection(detections[dj].box, detections[dj].score, track_id=track.track_id)
               for track, dj in updated if dj >= 0 and track.track_id >= 0]
        return sorted(out, key=lambda d: d.track_id)

    # -- internals -------------------------------------------------------------------------------
    def _assign(self, group: list[int], candidates: list[int], boxes: np.ndarray, frame_index: int,
                also_last_seen: bool) -> list[tuple[int, int]]:
        """Hungarian matching of tracks `group` to detections `candidates` → (track pos, detection pos) pairs.

        Followed tracks are compared with their predicted boxes only (where people cross, a box overlaps
        the other person's last box more than its own); lost ones also with where they were last seen.
        """
        if not group or not candidates:
            return []
        cfg = self.config
        tracks = [self._tracks[i] for i in group]
        predicted = np.array([t.predicted_box(frame_index, cfg.max_predict_frames) for t in tracks])
        last = np.array([t.box for t in tracks]) if also_last_seen else predicted
        dets = boxes[candidates]
        overlap = np.maximum(iou_matrix(predicted, dets), iou_matrix(last, dets))
        # Centre distance in track heights, to the nearer of the predicted and last seen centres.
        det_state, pred_state, last_state = to_cxcywh(dets), to_cxcywh(predicted), to_cxcywh(last)
        heights = np.maximum(last_state[:, 3:4], 1.0)
        distance = np.minimum(
            np.linalg.norm(pred_state[:, None, :2] - det_state[None, :, :2], axis=-1),
            np.linalg.norm(last_state[:, None, :2] - det_state[None, :, :2], axis=-1)) / heights
        size_ratio = np.maximum(det_state[None, :, 3], 1.0) / heights
        similar_size = (size_ratio <= cfg.max_size_ratio) & (size_ratio >= 1.0 / cfg.max_size_ratio)
        # IoU matches cost 0..1, centre-distance matches 1..2: any overlap match beats any distance match.
        cost = np.full(overlap.shape, _FORBIDDEN)
        by_distance = similar_size & (distance <= cfg.max_center_distance)
        cost[by_distance] = 1.0 + distance[by_distance] / max(cfg.max_center_distance, 1e-9)
        by_overlap = overlap >= cfg.min_iou
        cost[by_overlap] = 1.0 - overlap[by_overlap]
        rows, cols = linear_sum_assignment(cost)
        return [(group[r], candidates[c]) for r, c in zip(rows, cols, strict=True) if cost[r, c] < _FORBIDDEN]

    def _matched(self, track: Track, box: np.ndarray, score: float, frame_index: int) -> Track:
        steps = frame_index - track.last_frame
        displacement = (to_cxcywh(box) - to_cxcywh(track.box)) / steps
        w = self.config.velocity_smoothing
        # After a gap the average displacement is a poor velocity; restart from it instead of blending.
        velocity = displacement if track.hits == 1 or steps > 1 else w * displacement + (1 - w) * track.velocity
        return self._confirm(dataclasses.replace(track, box=box, velocity=velocity, hits=track.hits + 1,
                                                 age=track.age + 1, last_frame=frame_index, missed=0, score=score))

    def _confirm(self, track: Track) -> Track:
        """Give a tentative track its id once it has `min_hits` detections."""
        if track.track_id < 0 and track.hits >= self.config.min_hits:
            track = dataclasses.replace(track, track_id=self._next_id)
            self._next_id += 1
        return track
