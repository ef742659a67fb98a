"""MediaPipe 0.10.14's legacy holistic graph (pose + world landmarks, hands, face mesh), offline only.

Only model_complexity=1 ships inside the wheel (pose_landmark_full.tflite); 0 and 2 make MediaPipe
download a model while it is constructed, which this app must never do — they are refused here.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from mocap_app.core.errors import ConfigError, DependencyError

from .layout import FACE_INDICES
from .observation import HolisticLandmarks

logger = logging.getLogger(__name__)

OFFLINE_MODEL_COMPLEXITY = 1

# mediapipe 0.10.14 calls a protobuf API that protobuf 4.25 deprecates, once per frame.
warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning)


def _points(landmark_list: object, width: int, height: int, ox: float, oy: float, scale: float = 1.0) -> np.ndarray:
    """(N, 3) pixels in the full frame; MediaPipe's z is scaled like x (image width)."""
    values = np.array([(p.x, p.y, p.z) for p in landmark_list.landmark])  # type: ignore[attr-defined]
    return values * (width, height, width) / scale + (ox, oy, 0.0)


class HolisticTracker:
    """One MediaPipe holistic graph; it tracks one person across consecutive images (call `close`)."""

    def __init__(self, model_complexity: int = OFFLINE_MODEL_COMPLEXITY, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, refine_face: bool = False) -> None:
        """refine_face: run MediaPipe's refined face model (478 points: the iris too, for the gaze)."""
        if model_complexity != OFFLINE_MODEL_COMPLEXITY:
            raise ConfigError(
                f"MediaPipe holistic model_complexity={model_complexity} is not available offline.",
                "Use model_complexity=1: it is the only pose model inside the mediapipe wheel; "
                "the others would be downloaded at start-up.")
        try:
            from mediapipe.python.solutions import holistic
        except ImportError as exc:  # pragma: no cover - mediapipe is a hard requirement of the default estimator
            raise DependencyError(f"MediaPipe does not load ({exc}).",
                                  "Install it with: pip install mediapipe==0.10.14") from exc
        self._graph = holistic.Holistic(
            static_image_mode=False, model_complexity=OFFLINE_MODEL_COMPLEXITY, smooth_landmarks=True,
            enable_segmentation=False, refine_face_landmarks=refine_face,
            min_detection_confidence=min_detection_confidence, min_tracking_confidence=min_tracking_confidence)

    def process(self, rgb: np.ndarray, offset: tuple[float, float] = (0.0, 0.0),
                scale: float = 1.0) -> HolisticLandmarks | None:
        """Landmarks of the person in `rgb` ((H, W, 3) uint8 RGB), or None when no body is found.

        offset: pixel position of `rgb`'s top-left corner in the full frame (for crops); scale: how many times
        `rgb` was enlarged from the frame (a crop scaled up), so landmarks come back in frame pixels.
        """
        rgb = np.ascontiguousarray(rgb)  # MediaPipe refuses non-contiguous input
        height, width = rgb.shape[:2]
        result = self._graph.process(rgb)
        if result.pose_world_landmarks is None or result.pose_landmarks is None:
            return None
        ox, oy = offset
        world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark])
        image = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
        face = face_mesh = None
        if result.face_landmarks is not None:
            face_mesh = _points(result.face_landmarks, width, height, ox, oy, scale)
            face = face_mesh[FACE_INDICES]
        return HolisticLandmarks(
            pose_world=world,
            pose_image=image[:, :2] * (width, height) / scale + (ox, oy),
            pose_visibility=image[:, 2],
            left_hand=None if result.left_hand_landmarks is None
            else _points(result.left_hand_landmarks, width, height, ox, oy, scale),
            right_hand=None if result.right_hand_landmarks is None
            else _points(result.right_hand_landmarks, width, height, ox, oy, scale),
            face=face, face_mesh=face_mesh)

    def close(self) -> None:
        self._graph.close()

    def __enter__(self) -> HolisticTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
