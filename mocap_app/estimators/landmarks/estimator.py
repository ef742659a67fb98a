"""The default estimator: MediaPipe holistic landmarks fitted to SMPL-X on the CPU, nothing to download."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from mocap_app.body.face_landmarks import FaceLandmarkModel
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.frames import CameraIntrinsics, Detection, Frame
from mocap_app.core.params import SmplxParams, split_full_pose

from .expression import ExpressionFitter
from .face_shapes import FaceShapeReader, gaze_rotation
from .facing import mirrored, read_as_front_view_from_behind
from .fit import LandmarkFitter, PoseFit
from .holistic import HolisticTracker
from .observation import HolisticLandmarks
from .occlusion import hidden_limbs_mirrored

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EstimateTiming:
    """Milliseconds spent on the last `estimate` call: MediaPipe holistic, and the SMPL-X fit (all persons)."""

    holistic_ms: float = 0.0
    fit_ms: float = 0.0


MIN_CROP_PX = 256  # a person's crop is scaled up to at least this side (MediaPipe's pose landmark input: 256x256)
TORSO = (11, 12, 23, 24)  # MediaPipe pose: shoulders and hips
# Hip-to-sole over shoulder-to-hip height of a standing adult (~0.50 and ~0.30 of the stature; a little
# generous: a crop that holds the feet costs some resolution, one that cuts them folds the legs).
LEGS_PER_TORSO = 1.7
LEGS_MEMORY_FRAMES = 3  # a track's last landmarks predict its legs for this many frames (two workers alternate)


def crop_box(box: np.ndarray, scale: float) -> tuple[int, int, int]:
    """The square around a detector box (xyxy): side `scale` times the box's longer side, about its centre →
    x0, y0 (may lie outside the image), side in pixels."""
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    side = int(np.ceil(scale * max(box[2] - box[0], box[3] - box[1])))
    return round(cx - side / 2), round(cy - side / 2), side


def square_leaves_frame(box: np.ndarray, scale: float, rgb: np.ndarray) -> bool:
    """Whether `crop_box`'s square reaches past the image (so `person_crop` pads it)."""
    x0, y0, side = crop_box(box, scale)
    height, width = rgb.shape[:2]
    return x0 < 0 or y0 < 0 or x0 + side > width or y0 + side > height


def person_crop(rgb: np.ndarray, box: np.ndarray, scale: float, min_side: int = MIN_CROP_PX,
                pad: bool = True) -> tuple[np.ndarray, tuple[int, int], float] | None:
    """The image a landmark model sees for one person: the square `crop_box`, padded black where it leaves the
    frame (the person stays centred and the same size at the edges; `pad=False`: the part inside the frame
    only), enlarged to at least `min_side` pixels so a small person fills the model's input → (crop, its
    top-left corner in the frame, enlargement), or None for a box under 8 pixels."""
    x0, y0, side = crop_box(box, scale)
    if side < 8:
        return None
    height, width = rgb.shape[:2]
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    if not pad:
        crop, factor = rgb[iy0:iy1, ix0:ix1], 1.0
        if max(crop.shape[:2]) < min_side:
            factor = min_side / max(crop.shape[:2])
            crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(crop), (ix0, iy0), factor
    if (ix0, iy0, ix1, iy1) == (x0, y0, x0 + side, y0 + side):
        crop = rgb[y0:y0 + side, x0:x0 + side]
    else:
        crop = np.zeros((side, side, 3), np.uint8)
        crop[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = rgb[iy0:iy1, ix0:ix1]
    factor = 1.0
    if side < min_side:
        factor = min_side / side
        crop = cv2.resize(crop, (min_side, min_side), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(crop), (x0, y0), factor


def torso_in_box(obs: HolisticLandmarks, box: np.ndarray, min_visibility: float = 0.5) -> bool:
    """Whether the landmarks' torso centre lies in the person's box: holistic on a crop holding two people may
    lock onto the other one. The centre is that of the visible shoulders and hips (all four when none is): in
    a head-and-shoulders view the hips are guessed far below the frame and would put it outside."""
    seen = [i for i in TORSO if obs.pose_visibility[i] >= min_visibility] or list(TORSO)
    x, y = obs.pose_image[seen].mean(axis=0)
    return bool(box[0] <= x <= box[2] and box[1] <= y <= box[3])


def with_predicted_legs(box: np.ndarray, obs: HolisticLandmarks, width: int, height: int,
                        min_visibility: float = 0.5) -> np.ndarray:
    """`box` grown to hold the soles where `obs`'s torso puts them (hips + LEGS_PER_TORSO x shoulders-to-hips,
    clipped to the image), when its shoulders and hips were seen; else `box`. The detector often boxes a side
    view as its upper body, and holistic on that crop draws the legs inside it, folded into the torso; the torso
    itself is read right (yaw 90: hips 2-4 % of height off, ankles 10-16 %)."""
    if (obs.pose_visibility[list(TORSO)] < min_visibility).any():
        return box
    shoulders = obs.pose_image[[TORSO[0], TORSO[1]]].mean(axis=0)
    hips = obs.pose_image[[TORSO[2], TORSO[3]]].mean(axis=0)
    soles = np.clip(hips + LEGS_PER_TORSO * (hips - shoulders), 0.0, (width, height))
    return np.array([min(box[0], soles[0]), min(box[1], soles[1]), max(box[2], soles[0]), max(box[3], soles[1])])


def landmark_box(obs: HolisticLandmarks, width: int, height: int) -> np.ndarray:
    """(4,) xyxy pixels around the pose landmarks, clipped to the image."""
    lo, hi = obs.pose_image.min(axis=0), obs.pose_image.max(axis=0)
    return np.array([max(lo[0], 0.0), max(lo[1], 0.0), min(hi[0], width), min(hi[1], height)])


class LandmarkEstimator:
    """SMPL-X from MediaPipe holistic: body, both hands, jaw and head; one holistic graph per tracked person.

    With `persons` empty, holistic runs on the whole frame (it has its own person detector) and
    reports track 0; otherwise on each person's crop (`person_crop`: a square `crop_scale` times the box's
    longer side, at least `MIN_CROP_PX` pixels), keyed by track id; landmarks whose torso falls outside the
    person's box (another person in the crop) give no record. crop_scale 1.25: on the sample clip (person ~440 px,
    the crop padded beyond the frame) PA-MPJPE median/p90 30.9/66.6 mm on the whole frame, 32.2/71.2 mm with
    1.25, 31.5/67.2 mm with 1.5 — but 1.5 shrinks a head-and-shoulders shot (the astronaut photo) so far into
    its padding that the shoulders' visibility drops from 0.77 to 0.25.
    Intrinsics: `intrinsics` if given, else `CameraIntrinsics.from_fov(width, height, fov_deg)`.
    """

    name = "landmarks"

    def __init__(self, rest_joints: np.ndarray = REST_JOINTS, intrinsics: CameraIntrinsics | None = None,
                 fov_deg: float = 60.0, refine_steps: int = 1, crop_scale: float = 1.25,
                 min_visibility: float = 0.5, max_persons: int = 4, forget_after_frames: int = 30,
                 face: str = "gaze", face_model: FaceLandmarkModel | None = None) -> None:
        """face: what is read of the face besides jaw and head (config `model.face`): "off", "expressions"
        (ARKit weights into `face_weights`) or "gaze" (also the eyes into `leye_pose`/`reye_pose`).
        face_model: the user's SMPL-X face landmarks (`body.face_landmarks.smplx_face_model`); with it (and face
        not "off") SMPL-X's `expression` and jaw are fitted to the face mesh too, else the expression stays zero."""
        if face not in ("off", "expressions", "gaze"):
            raise ValueError(f"face must be off, expressions or gaze, got {face!r}")
        self.face = face
        self.face_model = face_model
        self._readers: dict[int, FaceShapeReader] = {}
        self._expressions: dict[int, ExpressionFitter] = {}
        self.fitter = LandmarkFitter(rest_joints, refine_steps=refine_steps, min_visibility=min_visibility)
        self.intrinsics = intrinsics
        self.fov_deg = fov_deg
        self.crop_scale = crop_scale
        self.max_persons = max_persons
        self.forget_after_frames = forget_after_frames
        self.timing = EstimateTiming()
        self._trackers: dict[int, HolisticTracker] = {}
        self._previous: dict[int, PoseFit] = {}
        self._last_seen: dict[int, int] = {}
        self._face_seen: dict[int, int] = {}  # track id -> last frame index its face mesh was found
        self._observed: dict[int, tuple[int, HolisticLandmarks]] = {}  # track id -> (frame index, landmarks)

    def camera_for(self, frame: Frame) -> CameraIntrinsics:
        return self.intrinsics or CameraIntrinsics.from_fov(frame.width, frame.height, self.fov_deg)

    def estimate(self, frame: Frame, persons: Sequence[Detection]) -> list[SmplxParams]:
        """One `SmplxParams` per person whose body holistic finds, in `persons` order (a box in which holistic
        finds no body gives no record). `confidence` is the detector's score times the torso's visibility."""
        camera = self.camera_for(frame)
        rgb = frame.rgb
        jobs: list[tuple[int, Detection | None]] = (
            [(0, None)] if not persons
            else [(d.track_id if d.track_id >= 0 else i, d) for i, d in enumerate(persons[: self.max_persons])])
        results, holistic_s, fit_s = [], 0.0, 0.0
        for track_id, detection in jobs:
            if track_id not in self._trackers:
                self._trackers[track_id] = HolisticTracker(refine_face=self.face == "gaze")
            tracker = self._trackers[track_id]
            self._last_seen[track_id] = frame.index
            start = time.perf_counter()
            if detection is None:
                obs = tracker.process(rgb)
            else:
                crop_around = detection.box
                seen = self._observed.get(track_id)
                if seen is not None and frame.index - seen[0] <= LEGS_MEMORY_FRAMES:
                    crop_around = with_predicted_legs(detection.box, seen[1], frame.width, frame.height)
                crop = person_crop(rgb, crop_around, self.crop_scale)
                obs = None if crop is None else tracker.process(*crop)
                if obs is None and crop is not None and square_leaves_frame(detection.box, self.crop_scale, rgb):
                    # A big person's square runs far past the frame: wide black padding can hide them from
                    # holistic's detector (a seated head-and-shoulders photo); the part inside the frame does not.
                    inside = person_crop(rgb, detection.box, self.crop_scale, pad=False)
                    obs = None if inside is None else tracker.process(*inside)
                if obs is not None and not torso_in_box(obs, detection.box):
                    obs = None
            mid = time.perf_counter()
            if obs is not None:
                self._observed[track_id] = (frame.index, obs)
                obs = hidden_limbs_mirrored(self._turned_round(obs, track_id, frame.index), camera)
                fit = self.fitter.fit(obs, camera, self._previous.get(track_id))
                self._previous[track_id] = fit
                box = detection.box if detection is not None else landmark_box(obs, frame.width, frame.height)
                score = detection.score if detection is not None else 1.0
                results.append(self._with_face(self._params(fit, camera, track_id, box, frame, score), obs, track_id))
            holistic_s += mid - start
            fit_s += time.perf_counter() - mid
        self.timing = EstimateTiming(1000.0 * holistic_s, 1000.0 * fit_s)
        self._forget_stale(frame.index)
        return results

    def _turned_round(self, obs: HolisticLandmarks, track_id: int, frame_index: int) -> HolisticLandmarks:
        """`obs`, or `obs` mirrored when it is a back view read as a front view (`facing`)."""
        if obs.face is not None:
            self._face_seen[track_id] = frame_index
            return obs
        since = frame_index - self._face_seen.get(track_id, -(10**9))
        return mirrored(obs) if read_as_front_view_from_behind(obs, since) else obs

    @staticmethod
    def _params(fit: PoseFit, camera: CameraIntrinsics, track_id: int, box: np.ndarray, frame: Frame,
                score: float) -> SmplxParams:
        return SmplxParams.neutral(  # the landmark fit gives pose and translation: mean shape, neutral face
            camera, **split_full_pose(fit.full_pose), transl=fit.transl, track_id=track_id,
            confidence=score * fit.confidence, joint_confidence=fit.joint_confidence, box=box,
            frame_index=frame.index, timestamp_ns=frame.timestamp_ns)

    def _with_face(self, params: SmplxParams, obs: HolisticLandmarks, track_id: int) -> SmplxParams:
        """`params` with what the face mesh says: ARKit weights, with "gaze" both eyes' rotations, and with
        `face_model` SMPL-X's expression and jaw."""
        if self.face == "off" or obs.face_mesh is None:
            return params
        if track_id not in self._readers:
            self._readers[track_id] = FaceShapeReader()
        reading = self._readers[track_id].read(obs.face_mesh)
        face: dict[str, np.ndarray] = {"face_weights": reading.weights}
        if self.face == "gaze":
            face["leye_pose"], face["reye_pose"] = (gaze_rotation(yaw, pitch) for yaw, pitch in reading.gaze)
        if self.face_model is not None:
            if track_id not in self._expressions:
                self._expressions[track_id] = ExpressionFitter(self.face_model)
            fit = self._expressions[track_id].fit(obs.face_mesh)
            face["expression"], face["jaw_pose"] = fit.expression, np.array([fit.jaw, 0.0, 0.0])
        return dataclasses.replace(params, **face)

    def _forget_stale(self, frame_index: int) -> None:
        for track_id, last in list(self._last_seen.items()):
            if frame_index - last > self.forget_after_frames:
                self._trackers.pop(track_id).close()
                self._previous.pop(track_id, None)
                self._face_seen.pop(track_id, None)
                self._observed.pop(track_id, None)
                self._readers.pop(track_id, None)
                self._expressions.pop(track_id, None)
                del self._last_seen[track_id]

    def reset(self) -> None:
        """Forget every person (new video, camera switch)."""
        self.close()

    def close(self) -> None:
        for tracker in self._trackers.values():
            tracker.close()
        self._trackers.clear()
        self._previous.clear()
        self._last_seen.clear()
        self._face_seen.clear()
        self._observed.clear()
        self._readers.clear()
        self._expressions.clear()
