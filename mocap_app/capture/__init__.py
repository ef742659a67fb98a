"""Capture: frame sources (camera, video file, image folder) and the capture thread."""

from .base import TIMINGS, FrameSource, SourceInfo, letterbox
from .sources import (
    IMAGE_SUFFIXES,
    CameraSource,
    ImageFolderSource,
    list_cameras,
    open_camera,
    open_source,
)
from .thread import CaptureStats, CaptureThread
from .video import VideoFileSource

__all__ = [
    "IMAGE_SUFFIXES",
    "TIMINGS",
    "CameraSource",
    "CaptureStats",
    "CaptureThread",
    "FrameSource",
    "ImageFolderSource",
    "SourceInfo",
    "VideoFileSource",
    "letterbox",
    "list_cameras",
    "open_camera",
    "open_source",
]
