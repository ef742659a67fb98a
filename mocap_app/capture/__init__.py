"""Capture: frame sources (camera, video file, image folder) and the capture thread."""

from .base import TIMINGS, FrameSource, SourceInfo, letterbox
from .sources import (
    IMAGE_SUFFIXES,
    CameraMode,
    CameraSource,
    ImageFolderSource,
    find_cameras,
    list_cameras,
    open_camera,
    open_source,
)
from .thread import CaptureStats, CaptureThread
from .video import VideoFileSource

__all__ = [
    "IMAGE_SUFFIXES",
    "TIMINGS",
    "CameraMode",
    "CameraSource",
    "CaptureStats",
    "CaptureThread",
    "FrameSource",
    "ImageFolderSource",
    "SourceInfo",
    "VideoFileSource",
    "find_cameras",
    "letterbox",
    "list_cameras",
    "open_camera",
    "open_source",
]
