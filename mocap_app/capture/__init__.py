"""Capture: frame sources (camera, video file, image folder) and the capture thread."""

from .sources import (
    IMAGE_SUFFIXES,
    CameraSource,
    FrameSource,
    ImageFolderSource,
    SourceInfo,
    VideoFileSource,
    list_cameras,
    open_camera,
    open_source,
)
from .thread import CaptureStats, CaptureThread

__all__ = [
    "IMAGE_SUFFIXES",
    "CameraSource",
    "CaptureStats",
    "CaptureThread",
    "FrameSource",
    "ImageFolderSource",
    "SourceInfo",
    "VideoFileSource",
    "list_cameras",
    "open_camera",
    "open_source",
]
