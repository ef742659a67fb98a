"""Person detection (BlazePose detector from the mediapipe wheel, CPU), an IoU/Hungarian tracker, and the
single-subject follower."""

from __future__ import annotations

from .blazepose import BlazePoseDetector, DetectorConfig, PoseKeypoints, body_box
from .boxes import iou_matrix
from .subject import ReidentifyingTracker, SubjectConfig, SubjectFollower, appearance, appearance_distance
from .tracker import IouTracker, Track, TrackerConfig

__all__ = [
    "BlazePoseDetector", "DetectorConfig", "IouTracker", "PoseKeypoints", "ReidentifyingTracker", "SubjectConfig",
    "SubjectFollower",
    "Track", "TrackerConfig", "appearance", "appearance_distance", "body_box", "iou_matrix",
]
