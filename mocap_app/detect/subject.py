"""One subject through a take: pick a person, follow only them with the detector, find them again after a gap.

`SubjectFollower.detect(frame)` → `[]` or one `Detection` (the subject's box, `track_id` = the subject's id), so
the estimators after it see only that person and a frame without them is a gap (no body), never someone else.

Choosing: at the first frame with people, the whole frame is searched (`BlazePoseDetector`, several passes) and
the subject is the person with the largest `height · (1 - 0.5 · centre offset)` (centre offset: distance from the
image centre over half the diagonal) — the largest and most central — or the person the IoU tracker calls
`person` (the ids `--max-people N` runs list), or the one under a point given with `select_at` (a click).
Following: every `detect_every`-th frame (between: the predicted box) the detector runs once on a square region
around the subject's predicted box (its box moved by its velocity, grown `region_scale` times, at least
`min_region_px`), which also finds people too small for a whole-frame pass. A detection counts as the subject
when it overlaps the prediction (IoU >= `min_iou`) and looks like them (appearance distance <=
`max_appearance_distance`); when the best one does not, a second pass with it blacked out looks for the subject
behind it (people crossing).
Missed: for up to `max_missed_frames` frames without a match the estimators get the subject's predicted box when
the detector found nobody in the region (its blind spots: a side view), a gap when it found someone else there
or the box is mostly outside the frame (leaving it).
Lost: after `max_missed_frames` frames without a match the subject is lost (frames without them are gaps); the
whole frame is then searched every frame (and in tiles when the whole-frame pass finds nobody, for small people)
and a person is taken back as the subject only by appearance: the HSV colour histogram of their box within
`max_appearance_distance` (Bhattacharyya) of the subject's, the nearest to where they were last seen when
several are. Nobody else is ever taken as the subject.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import Detection, Frame

from .boxes import clip_box, iou_matrix, to_cxcywh, to_xyxy
from .tracker import IouTracker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubjectConfig:
    """Settings of `SubjectFollower`.

    person: follow the person the IoU tracker gives this id (None: the largest and most central).
    region_scale: the region searched around the predicted box, times the box's longer side (square).
    min_region_px: smallest region side (pixels of the frame): a small person's region is still big enough for
        their next steps. The detector sees the region at 224x224: a 120-px person in a 1.75x region fills
        about half of it (at 2x, with a jittering box, they fell below the ~80 px it needs and were missed).
    min_iou: overlap of a detection with the predicted box for it to be the subject.
    max_appearance_distance: Bhattacharyya distance between HSV histograms (0 same .. 1 disjoint) up to which a
        detection may be the subject. Measured on avatar composites: the same person across poses and sizes
        0.05-0.20, a differently dressed one 0.5-0.8.
        While two people overlap the detector gives one box holding both (0.38-0.54 on the crossing takes): no
        match, a gap, until they part.
    update_distance: the subject's appearance is updated (10 % per frame) only from a match this close, alone in
        its region, so it cannot drift towards someone crossing.
    max_missed_frames: frames the subject may go undetected and still be followed by position (their box
        predicted); beyond, they are lost and only appearance brings them back.
    detect_every: while the subject is followed, the detector looks for them in every this many frames it is
        given (a live run skips the frames its estimators had no time for); on the frames between, right after a
        match in the frame before, their box is the prediction from their velocity.
        Every 2nd frame keeps the default pipeline within 15 % of its cost without a detector (a pass on the region
        costs a fifth to a third of MediaPipe holistic). The estimator still needs to find a body in that box.
    tile_every: while nobody is followed and a whole-frame pass finds nobody, search tiles every this many frames
        (small people; 9 detector passes; 0: never).
    whole_frame_when_nobody: when the whole-frame search (tiles included) finds nobody at all, hand the
        estimators the whole frame as the subject's box, as without a detector. The BlazePose detector needs more
        of a body than MediaPipe holistic does: a head-and-shoulders webcam view, the app's first use, gives it
        nobody while holistic finds the person. With nobody else detected, a body holistic finds there is the
        subject's; while someone other than the subject is detected, a frame without the subject stays a gap.
    """

    person: int | None = None
    region_scale: float = 1.75
    min_region_px: int = 160
    min_iou: float = 0.2
    max_appearance_distance: float = 0.35
    update_distance: float = 0.25
    max_missed_frames: int = 5
    detect_every: int = 2
    tile_every: int = 2
    whole_frame_when_nobody: bool = True

    def __post_init__(self) -> None:
        checks = {
            "person": self.person is None or self.person >= 0,
            "region_scale": self.region_scale >= 1.0,
            "min_region_px": self.min_region_px >= 32,
            "min_iou": 0.0 < self.min_iou <= 1.0,
            "max_appearance_distance": 0.0 < self.max_appearance_distance <= 1.0,
            "update_distance": 0.0 <= self.update_distance <= 1.0,
            "max_missed_frames": self.max_missed_frames >= 0,
            "tile_every": self.tile_every >= 0,
            "detect_every": self.detect_every >= 1,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"Subject setting {key}={getattr(self, key)!r} is out of range.",
                                  "region_scale >= 1, min_region_px >= 32, min_iou and max_appearance_distance "
                                  "in (0, 1], person and max_missed_frames >= 0.")


def appearance(rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """(16*4,) float32 normalised HSV histogram (hue x saturation) of the middle of `box` (the torso and legs:
    the central 60 % of its width, 15-85 % of its height), or None when that is under 4x4 pixels."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    xs = np.clip([x0 + 0.2 * w, x1 - 0.2 * w], 0, rgb.shape[1]).astype(int)
    ys = np.clip([y0 + 0.15 * h, y1 - 0.15 * h], 0, rgb.shape[0]).astype(int)
    patch = rgb[ys[0]:ys[1], xs[0]:xs[1]]
    if patch.shape[0] < 4 or patch.shape[1] < 4:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 4], [0, 180, 0, 256]).ravel()
    return (hist / max(float(hist.sum()), 1.0)).astype(np.float32)


def _body_parts(box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box and its upper half: the detector's box of a side view may hold the upper body one frame and all
    of the body the next (on the eval's yaw-90 renders the two looked 0.43-0.51 apart, the upper halves alike)."""
    x0, y0, x1, y1 = box
    return np.asarray(box), np.array([x0, y0, x1, y0 + 0.5 * (y1 - y0)])


def appearance_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Bhattacharyya distance of two `appearance` histograms (1.0 when either is missing)."""
    if a is None or b is None:
        return 1.0
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


MIN_INSIDE_SHARE = 0.75  # a predicted box mostly outside the frame is a subject leaving it, not a missed detection


def _inside_share(box: np.ndarray, width: int, height: int) -> float:
    """Share of `box`'s area (xyxy) inside a width x height image."""
    def area(b: np.ndarray) -> float:
        return float((b[2] - b[0]) * (b[3] - b[1]))

    return area(clip_box(box, width, height)) / max(area(box), 1e-6)


def centrality_key(box: np.ndarray, width: int, height: int) -> float:
    """Larger for taller people nearer the image centre: height · (1 - 0.5 · centre offset / half diagonal)."""
    cx, cy, _, h = to_cxcywh(box)
    offset = np.hypot(cx - width / 2, cy - height / 2) / (0.5 * np.hypot(width, height))
    return float(h * (1.0 - 0.5 * min(offset, 1.0)))


@dataclass
class _Subject:
    track_id: int
    box: np.ndarray  # (4,) xyxy, last matched
    velocity: np.ndarray  # (4,) cx, cy, w, h per frame
    look: np.ndarray | None
    last_frame: int
    score: float


class SubjectFollower:
    """The `detect(frame)` of a pipeline following one person (see the module docstring). `detector` is a
    `BlazePoseDetector` (its `detect_rgb` and `config`); its `max_people` bounds the whole-frame search."""

    def __init__(self, detector, config: SubjectConfig | None = None) -> None:
        self.detector = detector
        self.config = config or SubjectConfig()
        self._tracker = IouTracker()
        self._subject: _Subject | None = None
        self._select_point: tuple[float, float] | None = None
        self._calls = 0  # frames given so far (a file's: its frame index)
        self._previous_index: int | None = None

    # -- public ------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """A new take: choose again."""
        self._tracker.reset()
        self._subject = None

    def select_at(self, x: float, y: float) -> None:
        """Follow the person under pixel (x, y) from the next frame they are found in (a click in a viewer)."""
        self._select_point = (float(x), float(y))
        self._subject = None

    @property
    def subject_id(self) -> int | None:
        return None if self._subject is None else self._subject.track_id

    def detect(self, frame: Frame) -> list[Detection]:
        rgb = frame.rgb
        subject = self._subject
        calls, self._calls = self._calls, self._calls + 1
        previous, self._previous_index = self._previous_index, frame.index
        if subject is not None and subject.last_frame == previous and calls % self.config.detect_every:
            # Matched in the previous frame: where they are now is predicted, the detector checks on the next one.
            box = self._predicted(subject, frame.index).astype(np.float32)
            return [Detection(box, subject.score, track_id=subject.track_id)]
        if subject is not None and frame.index - subject.last_frame <= self.config.max_missed_frames + 1:
            found, anyone = self._follow(rgb, frame.index, subject)
            if found is not None:
                return [found]
            if frame.index - subject.last_frame <= self.config.max_missed_frames:
                box = self._predicted(subject, frame.index)
                if anyone or _inside_share(box, frame.width, frame.height) < MIN_INSIDE_SHARE:
                    return []  # someone else is where the subject should be, or they are leaving: a gap
                # Nobody detected there: the detector's blind spots (a side view) — the estimators look at
                # the predicted box and give no body if nobody is in it.
                return [Detection(box.astype(np.float32), subject.score, track_id=subject.track_id)]
        people = self._search(rgb, frame.index)
        if not people and self.config.whole_frame_when_nobody:
            track_id = self._subject.track_id if self._subject is not None else (self.config.person or 0)
            return [Detection.whole_image(frame.width, frame.height, track_id)]
        if self._subject is None:
            return self._choose(rgb, people, frame.index)
        return self._reidentify(rgb, people, frame.index)

    def close(self) -> None:
        if hasattr(self.detector, "close"):
            self.detector.close()

    # -- following -----------------------------------------------------------------------------------------
    def _predicted(self, subject: _Subject, frame_index: int) -> np.ndarray:
        steps = min(frame_index - subject.last_frame, 5)
        state = to_cxcywh(subject.box) + steps * subject.velocity
        state[2:] = np.maximum(state[2:], 1.0)
        return to_xyxy(state)

    def _region(self, predicted: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
        cx, cy, w, h = to_cxcywh(predicted)
        side = max(self.config.region_scale * max(w, h), self.config.min_region_px)
        x0, y0 = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
        x1, y1 = int(min(cx + side / 2, width)), int(min(cy + side / 2, height))
        return x0, y0, x1, y1

    def _follow(self, rgb: np.ndarray, frame_index: int, subject: _Subject) -> tuple[Detection | None, bool]:
        """The subject in the region around their predicted box (or None), and whether anybody was detected there."""
        height, width = rgb.shape[:2]
        predicted = self._predicted(subject, frame_index)
        x0, y0, x1, y1 = self._region(predicted, width, height)
        if x1 - x0 < 16 or y1 - y0 < 16:
            return None, False
        region = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        offset = np.array([x0, y0, x0, y0], np.float32)
        found = [dataclasses.replace(d, box=d.box + offset) for d in self._single_pass(region)]
        match = self._best_match(rgb, found, predicted, subject)
        if match is not None:
            alone = len(found) == 1 and match[1] <= self.config.update_distance
            return self._update(rgb, subject, match[0], frame_index, update_look=alone), True
        if not found:
            return None, False
        hidden = region.copy()  # someone else in front: hide them, look again
        for d in found:
            bx0, by0, bx1, by1 = np.round(d.box - offset).astype(int)
            hidden[max(by0, 0):by1, max(bx0, 0):bx1] = 0
        found = [dataclasses.replace(d, box=d.box + offset) for d in self._single_pass(hidden)]
        match = self._best_match(rgb, found, predicted, subject)
        if match is not None:
            return self._update(rgb, subject, match[0], frame_index, update_look=False), True
        return None, True

    def _single_pass(self, rgb: np.ndarray) -> list[Detection]:
        return self.detector.detect_once(rgb)

    def _best_match(self, rgb: np.ndarray, found: list[Detection], predicted: np.ndarray,
                    subject: _Subject) -> tuple[Detection, float] | None:
        """The detection overlapping the prediction most that looks like the subject, and its appearance distance."""
        if not found:
            return None
        overlap = iou_matrix(predicted[None], np.array([d.box for d in found]))[0]
        for i in np.argsort(-overlap):
            if overlap[i] < self.config.min_iou:
                break
            distance = min(appearance_distance(appearance(rgb, box), subject.look) for box in _body_parts(found[i].box))
            if subject.look is None or distance <= self.config.max_appearance_distance:
                return found[i], distance
        return None

    def _update(self, rgb: np.ndarray, subject: _Subject, detection: Detection, frame_index: int,
                update_look: bool) -> Detection:
        steps = max(frame_index - subject.last_frame, 1)
        displacement = (to_cxcywh(detection.box) - to_cxcywh(subject.box)) / steps
        displacement[2:] = 0.0  # the box's size jitters from frame to frame: only its centre is extrapolated
        subject.velocity = displacement if steps > self.config.detect_every else 0.5 * (displacement + subject.velocity)
        subject.box = np.asarray(detection.box, np.float64)
        subject.last_frame, subject.score = frame_index, detection.score
        if update_look:
            look = appearance(rgb, subject.box)
            if look is not None:
                subject.look = look if subject.look is None else (0.9 * subject.look + 0.1 * look).astype(np.float32)
        return Detection(detection.box, detection.score, track_id=subject.track_id)

    # -- searching -------------------------------------------------------------------------------------------
    def _search(self, rgb: np.ndarray, frame_index: int) -> list[Detection]:
        """Everybody the whole-frame search finds; when it finds nobody, every `tile_every`-th frame also in 3x3
        overlapping tiles of 45 % of the frame (a person of 120 px then spans ~100 of the detector's 224 px)."""
        people = self.detector.detect_rgb(rgb)
        if people or not self.config.tile_every or frame_index % self.config.tile_every:
            return people
        height, width = rgb.shape[:2]
        tile_w, tile_h = int(width * 0.45), int(height * 0.45)
        for x0 in np.linspace(0, width - tile_w, 3).astype(int):
            for y0 in np.linspace(0, height - tile_h, 3).astype(int):
                offset = np.array([x0, y0, x0, y0], np.float32)
                tile = np.ascontiguousarray(rgb[y0:y0 + tile_h, x0:x0 + tile_w])
                for d in self.detector.detect_once(tile):
                    box = d.box + offset
                    if not people or iou_matrix(box[None], np.array([p.box for p in people])).max() < 0.5:
                        people.append(Detection(box, d.score))
        return people

    def _choose(self, rgb: np.ndarray, people: list[Detection], frame_index: int) -> list[Detection]:
        tracked = self._tracker.update(people, frame_index)
        if not tracked:
            return []
        height, width = rgb.shape[:2]
        if self._select_point is not None:
            x, y = self._select_point
            under = [d for d in tracked if d.box[0] <= x <= d.box[2] and d.box[1] <= y <= d.box[3]]
            if not under:
                return []
            chosen = min(under, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
            self._select_point = None
        elif self.config.person is not None:
            wanted = [d for d in tracked if d.track_id == self.config.person]
            if not wanted:
                return []
            chosen = wanted[0]
        else:
            chosen = max(tracked, key=lambda d: centrality_key(d.box, width, height))
        self._subject = _Subject(chosen.track_id, np.asarray(chosen.box, np.float64), np.zeros(4),
                                 appearance(rgb, chosen.box), frame_index, chosen.score)
        logger.info("following person #%d from frame %d", chosen.track_id, frame_index)
        return [Detection(chosen.box, chosen.score, track_id=chosen.track_id)]

    def _reidentify(self, rgb: np.ndarray, people: list[Detection], frame_index: int) -> list[Detection]:
        subject = self._subject
        assert subject is not None
        candidates = [(appearance_distance(appearance(rgb, d.box), subject.look), d) for d in people]
        alike = [d for distance, d in candidates if distance <= self.config.max_appearance_distance]
        if not alike:
            return []
        last = to_cxcywh(subject.box)[:2]
        chosen = min(alike, key=lambda d: float(np.hypot(*(to_cxcywh(d.box)[:2] - last))))
        subject.velocity = np.zeros(4)
        subject.box, subject.last_frame, subject.score = np.asarray(chosen.box, np.float64), frame_index, chosen.score
        logger.info("person #%d found again at frame %d", subject.track_id, frame_index)
        return [Detection(chosen.box, chosen.score, track_id=subject.track_id)]


class ReidentifyingTracker:
    """The `detect(frame)` of a pipeline following several people: the detector, the IoU tracker, and each
    person's id kept across absences: a new track that looks like a person whose track was lost (appearance
    distance <= `max_appearance_distance`, the nearest of them) and whose id no followed track holds gets that id
    back. Appearances are learnt from boxes overlapping nobody else's (IoU < 0.1)."""

    def __init__(self, detector, tracker: IouTracker | None = None, max_appearance_distance: float = 0.35) -> None:
        self.detector = detector
        self.tracker = tracker or IouTracker()
        self.max_appearance_distance = max_appearance_distance
        self._looks: dict[int, np.ndarray] = {}  # reported id → appearance
        self._alias: dict[int, int] = {}  # tracker id → reported id

    def reset(self) -> None:
        self.tracker.reset()
        self._looks.clear()
        self._alias.clear()

    def detect(self, frame: Frame) -> list[Detection]:
        rgb = frame.rgb
        people = self.tracker.update(self.detector.detect(frame), frame.index)
        followed = {t.track_id for t in self.tracker.tracks if t.track_id >= 0}
        in_use = {self._alias[t] for t in followed if t in self._alias}
        boxes = np.array([d.box for d in people], np.float64).reshape(-1, 4)
        crowding = iou_matrix(boxes, boxes) - np.eye(len(people))
        out = []
        for i, person in enumerate(people):
            look = appearance(rgb, person.box)
            if person.track_id not in self._alias:
                lost = [(appearance_distance(look, seen), rid) for rid, seen in self._looks.items()
                        if rid not in in_use]
                best = min(lost, default=None)
                rid = best[1] if best is not None and best[0] <= self.max_appearance_distance else person.track_id
                self._alias[person.track_id] = rid
                in_use.add(rid)
                if rid != person.track_id:
                    logger.info("person #%d found again at frame %d", rid, frame.index)
            rid = self._alias[person.track_id]
            if look is not None and (len(people) == 1 or crowding[i].max() < 0.1):
                seen = self._looks.get(rid)
                self._looks[rid] = look if seen is None else (0.9 * seen + 0.1 * look).astype(np.float32)
            out.append(Detection(person.box, person.score, track_id=rid))
        return sorted(out, key=lambda d: d.track_id)

    def close(self) -> None:
        if hasattr(self.detector, "close"):
            self.detector.close()
