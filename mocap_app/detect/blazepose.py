"""Person detection with the BlazePose detector that ships inside the mediapipe wheel (CPU, offline).

The model (`mediapipe/modules/pose_detection/pose_detection.tflite`, 224x224 letterboxed input) is run by
MediaPipe's own `PoseDetectionCpu` graph (SSD anchors, sigmoid scores, weighted NMS, letterbox removal),
so nothing is downloaded and no second TFLite runtime is needed. Each detection is a face box plus two body
keypoints: the mid-hip centre and a point whose distance from it is the radius of a circle enclosing the
whole body, pointing along the body axis. `body_box` turns those into a full-body box.

The model was trained for one person near the camera: in one pass it usually reports only the most
prominent person. `BlazePoseDetector` therefore searches again after blacking out the people already found,
until a pass finds nobody new (or `max_people` are found). Each pass costs one inference (~12 ms at 640x480
on 2 cores), so a frame with n people costs n + 1 passes. Measured on avatar renders at 640x480: found in
every frame from yaw 0° to 180° (seen from behind too) at 3.2 m and 4.5 m (~200 px tall, centred); pasted
at 9 positions across the frame, people ~290 px tall and taller were found at all of them, ~220 px tall
at only 2 — small people are not reliably found by a whole-frame pass. `detect_once` on a region around a
person (what `subject.SubjectFollower` does) sees them larger: 100-px people are followed there.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap_app.core.errors import ConfigError, DependencyError, ModelFileError
from mocap_app.core.frames import Detection, Frame

from .boxes import clip_box, iou_matrix

logger = logging.getLogger(__name__)

MODEL_FILE = "modules/pose_detection/pose_detection.tflite"  # inside the mediapipe package

# MediaPipe's registered subgraph: letterbox to 224x224, inference, anchor decoding (score >= 0.2), NMS.
_GRAPH = """
input_stream: "image"
output_stream: "detections"
node {
  calculator: "PoseDetectionCpu"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
}
"""


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of `BlazePoseDetector`.

    min_score: keep detections whose score (sigmoid, 0..1) is at least this.
    max_people: stop searching once this many people are found (1 = a single pass).
    head_extent, feet_extent: how far the box reaches from the mid-hip towards the head and towards the
        feet, in units of the detector's body radius r. Measured on the 150 frames of the sample clip (box
        of the rendered silhouette): head side 0.76-0.99 r (the top is the raised hands), feet side
        0.76-1.08 r; the defaults cover all of them with a small margin.
    half_width: half the box extent across the body axis, in body radii. 0.5 gives a standing person's
        box (w ≈ h/2; arms down measure 0.26-0.4 r); arms stretched sideways reach ~1.1 r and fall outside
        it, but inside the SMPLer-X crop, which widens every box to w/h = 0.75 and enlarges it 1.25x.
    duplicate_iou: a new detection whose box overlaps an already found one by more than this is the
        same person seen again (the model also fires on a body whose face was blacked out).
    """

    min_score: float = 0.5
    max_people: int = 4
    head_extent: float = 1.0
    feet_extent: float = 1.1
    half_width: float = 0.5
    duplicate_iou: float = 0.5

    def __post_init__(self) -> None:
        checks = {
            "min_score": 0.0 <= self.min_score <= 1.0,
            "max_people": self.max_people >= 1,
            "head_extent": self.head_extent > 0.0,
            "feet_extent": self.feet_extent > 0.0,
            "half_width": self.half_width > 0.0,
            "duplicate_iou": 0.0 < self.duplicate_iou <= 1.0,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"Detector setting {key}={getattr(self, key)!r} is out of range.",
                                  "min_score and duplicate_iou lie in (0, 1], max_people >= 1, box factors > 0.")


@dataclass(frozen=True)
class PoseKeypoints:
    """One raw BlazePose detection in image pixels.

    score: 0..1. face_box: (4,) xyxy. hip: (2,) mid-hip centre. size_point: (2,) the point whose distance
    from `hip` is the radius of the circle around the whole body, in the head direction.
    """

    score: float
    face_box: np.ndarray
    hip: np.ndarray
    size_point: np.ndarray


def body_box(keypoints: PoseKeypoints, head_extent: float = 1.0, feet_extent: float = 1.1,
             half_width: float = 0.5) -> np.ndarray:
    """(4,) float64 xyxy full-body box, not clipped to the image.

    A rectangle along the body axis (hip → size point, length r) from `feet_extent·r` behind the hip to
    `head_extent·r` ahead of it, `2·half_width·r` wide, so lying or leaning people get a box of the right
    orientation; the axis-aligned hull of that rectangle, joined with the face box.
    """
    axis = np.asarray(keypoints.size_point, np.float64) - np.asarray(keypoints.hip, np.float64)
    radius = float(np.hypot(*axis))
    face = np.asarray(keypoints.face_box, np.float64)
    if radius < 1e-6:
        return face
    along = axis / radius
    across = np.array([-along[1], along[0]])
    corners = np.array([keypoints.hip + s * radius * along + t * half_width * radius * across
                        for s in (-feet_extent, head_extent) for t in (-1.0, 1.0)])
    lower, upper = corners.min(axis=0), corners.max(axis=0)
    return np.concatenate([np.minimum(lower, face[:2]), np.maximum(upper, face[2:])])


def _keypoints_from_proto(detection: object, width: int, height: int) -> PoseKeypoints:
    """A mediapipe `Detection` proto (relative coordinates) → pixels."""
    location = detection.location_data  # type: ignore[attr-defined]
    rel = location.relative_bounding_box
    face = np.array([rel.xmin * width, rel.ymin * height, (rel.xmin + rel.width) * width,
                     (rel.ymin + rel.height) * height])
    points = np.array([(p.x * width, p.y * height) for p in location.relative_keypoints])
    return PoseKeypoints(float(detection.score[0]), face, points[0], points[1])  # type: ignore[attr-defined]


def _model_path() -> Path:
    try:
        import mediapipe
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard requirement
        raise DependencyError(f"MediaPipe does not load ({exc}).",
                              "Install it with: pip install mediapipe==0.10.14") from exc
    return Path(mediapipe.__file__).parent / MODEL_FILE


class BlazePoseDetector:
    """Finds people in frames; `detect(frame)` → boxes sorted by score. Use from one thread at a time
    (calls are serialised by a lock); `close()` releases the graph (or use it as a context manager)."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        model = _model_path()
        if not model.is_file():
            raise ModelFileError(f"The person detector model is missing from the mediapipe package: {model}.",
                                 "Reinstall it: pip install --force-reinstall mediapipe==0.10.14")
        from mediapipe.python.solution_base import SolutionBase

        self._graph = SolutionBase(graph_config=_GRAPH, outputs=["detections"])
        self._lock = threading.Lock()

    def detect(self, frame: Frame) -> list[Detection]:
        """People in `frame`: full-body boxes (xyxy pixels, clipped to the image), best score first."""
        return self.detect_rgb(frame.rgb)

    def detect_rgb(self, rgb: np.ndarray) -> list[Detection]:
        """Same as `detect` for an (H, W, 3) uint8 RGB image."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        cfg = self.config
        work = np.ascontiguousarray(rgb)  # MediaPipe refuses non-contiguous input
        found: list[tuple[float, np.ndarray]] = []  # (score, unclipped body box)
        while len(found) < cfg.max_people:
            new = self._new_people(work, found)
            if not new:
                break
            found.extend(new[: cfg.max_people - len(found)])
            if len(found) < cfg.max_people:
                if work is rgb:  # never paint into the caller's image (Frame.rgb is shared)
                    work = rgb.copy()
                for _, box in new:  # hide them so the next pass can see the others
                    x0, y0, x1, y1 = np.round(clip_box(box, width, height)).astype(int)
                    work[y0:y1, x0:x1] = 0
        found.sort(key=lambda item: -item[0])
        return [Detection(clip_box(box, width, height).astype(np.float32), score) for score, box in found]

    def detect_once(self, rgb: np.ndarray) -> list[Detection]:
        """One pass of the model over an (H, W, 3) uint8 RGB image: the confident, distinct people it reports
        (usually the most prominent one only), best first; a third to a half of `detect_rgb`'s cost."""
        height, width = rgb.shape[:2]
        found = self._new_people(np.ascontiguousarray(rgb), [])
        return [Detection(clip_box(box, width, height).astype(np.float32), score) for score, box in found]

    def _new_people(self, rgb: np.ndarray, found: list[tuple[float, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
        """One pass of the model: confident detections that are not one of `found`, best first."""
        height, width = rgb.shape[:2]
        with self._lock:
            protos = self._graph.process({"image": rgb}).detections or []
        candidates = sorted((_keypoints_from_proto(p, width, height) for p in protos), key=lambda k: -k.score)
        new: list[tuple[float, np.ndarray]] = []
        for keypoints in candidates:
            if keypoints.score < self.config.min_score:
                break
            box = body_box(keypoints, self.config.head_extent, self.config.feet_extent, self.config.half_width)
            known = [b for _, b in found + new]
            if known and iou_matrix(box[None], np.array(known)).max() > self.config.duplicate_iou:
                continue
            new.append((keypoints.score, box))
        return new

    def close(self) -> None:
        with self._lock:
            self._graph.close()

    def __enter__(self) -> BlazePoseDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
