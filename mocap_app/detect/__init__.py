"""Person detection (BlazePose detector from the mediapipe wheel, CPU) and an IoU/Hungarian tracker."""

from __future__ import annotations

from .blazepose import BlazePoseDetector, DetectorConfig, PoseKeypoints, body_box
from .boxes import iou_matrix
from .tracker import IouTracker, Track, TrackerConfig

__all__ = [
    "BlazePoseDetector", "DetectorConfig", "IouTracker", "PoseKeypoints", "Track", "TrackerConfig", "body_box",
    "iou_matrix",
]
