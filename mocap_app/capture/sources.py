"""Frame sources: a webcam, a video file, a folder of images — one `FrameSource` interface.

A source is read from one thread only (the capture thread). `read()` returns the next image, or
None at the end of the stream; it raises `CaptureError` when the input turns out to be broken
(after every decodable frame before the break has been returned).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2  # quiet: mocap_app/__init__.py sets OpenCV's log level before any import of cv2
import numpy as np

from mocap_app.core.config import CaptureConfig
from mocap_app.core.errors import CaptureError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class SourceInfo:
    """What a source knows about itself once opened.

    kind: "camera", "video" or "images". is_live: frames arrive in real time and may be dropped.
    fps: nominal frame rate (frames per second). frame_count: frames in a file or folder, None for
    a camera (for video files it is the container's claim, checked against what decodes).
    width, height: pixels of the first frame. name: short label for logs and clip metadata.
    """

    kind: str
    is_live: bool
    fps: float
    frame_count: int | None
    width: int
    height: int
    name: str


class FrameSource(Protocol):
    info: SourceInfo

    def read(self) -> np.ndarray | None:
        """Next (H, W, 3) uint8 BGR image, or None at the end of the stream."""
        ...

    def close(self) -> None: ...


class VideoFileSource:
    """Decodes a video file with OpenCV's FFmpeg backend, checking it is complete.

    OpenCV never raises on broken files: it fails to open (no index: e.g. an mp4 cut before its
    moov atom) or stops reading early. We compare the frames decoded with the container's frame
    count and report a truncated file after yielding every frame that did decode.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        hint = "Check the path, or re-export the video (H.264 or MPEG-4 in .mp4/.mkv/.avi)."
        if not self.path.exists():
            raise CaptureError(f"Video file {self.path} does not exist.", hint)
        if not self.path.is_file():
            raise CaptureError(f"{self.path} is not a file.", "Pass a video file, or a folder of images.")
        if self.path.stat().st_size == 0:
            raise CaptureError(f"Video file {self.path} is empty (0 bytes).", hint)
        self._capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not self._capture.isOpened():
            self._capture.release()
            raise CaptureError(
                f"{self.path} cannot be decoded: it is not a video, or it is damaged "
                "(for example a recording that was interrupted before it was finalised).", hint)
        first = self._read_raw()
        if first is None:
            self._capture.release()
            raise CaptureError(f"{self.path} contains no decodable video frames.", hint)
        self._pending: np.ndarray | None = first
        fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.info = SourceInfo(
            kind="video", is_live=False, fps=fps if 0 < fps < 1000 else 30.0,
            frame_count=count if count > 0 else None,
            width=int(first.shape[1]), height=int(first.shape[0]), name=self.path.name)
        self.frames_read = 0

    def _read_raw(self) -> np.ndarray | None:
        ok, image = self._capture.read()
        return image if ok else None

    def read(self) -> np.ndarray | None:
        image, self._pending = (self._pending, None) if self._pending is not None else (self._read_raw(), None)
        if image is not None:
            self.frames_read += 1
            return image
        expected = self.info.frame_count
        # A container may round its count; more than one missing frame means the data stops early.
        if expected is not None and self.frames_read < expected - 1:
            raise CaptureError(
                f"{self.path} is truncated or damaged: decoding stopped after {self.frames_read} "
                f"of {expected} frames.",
                f"The first {self.frames_read} frames were read; re-export or re-copy the file to get the rest.")
        return None

    def close(self) -> None:
        self._capture.release()


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class ImageFolderSource:
    """The images of a folder in natural order (frame2 before frame10), at a nominal frame rate."""

    def __init__(self, folder: str | Path, fps: float = 30.0) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise CaptureError(f"Image folder {self.folder} does not exist.", "Check the path.")
        self.paths = sorted((p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                            key=_natural_key)
        if not self.paths:
            raise CaptureError(f"{self.folder} contains no images ({', '.join(IMAGE_SUFFIXES)}).",
                               "Put the frames as image files directly in that folder.")
        first = self._load(self.paths[0])
        self._pending: np.ndarray | None = first
        self._next = 1
        self.info = SourceInfo(kind="images", is_live=False, fps=float(fps), frame_count=len(self.paths),
                               width=int(first.shape[1]), height=int(first.shape[0]), name=self.folder.name)

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise CaptureError(f"Image {path} cannot be decoded (damaged or not an image).",
                               "Replace or remove that file and run again.")
        return image

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        if self._next >= len(self.paths):
            return None
        path = self.paths[self._next]
        self._next += 1
        return self._load(path)

    def close(self) -> None:
        self._pending = None


def _open_with_timeout(open_fn, timeout_s: float, what: str) -> cv2.VideoCapture:
    """Run a possibly hanging device open on a helper thread; give up after `timeout_s`."""
    result: dict[str, cv2.VideoCapture] = {}
    opener = threading.Thread(target=lambda: result.setdefault("capture", open_fn()), daemon=True,
                              name=f"open {what}")
    opener.start()
    opener.join(timeout_s)
    if opener.is_alive():
        raise CaptureError(f"{what} did not respond within {timeout_s:g} s.",
                           "Unplug and re-plug the camera, or close other programs using it.")
    return result["capture"]


def camera_backend() -> int:
    """The OpenCV capture API that opens cameras reliably on this OS."""
    if os.name == "nt":
        return cv2.CAP_DSHOW
    if os.uname().sysname == "Darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_V4L2


class CameraSource:
    """A webcam by index. Opening fails within `open_timeout_s`; a camera that stops delivering
    frames (unplugged) ends the stream: `read()` returns None and `disconnected` is set."""

    # Consecutive failed grabs before the camera counts as gone (a few can be transient).
    MAX_FAILED_READS = 5

    def __init__(self, index: int = 0, width: int = 640, height: int = 480, fps: float = 30.0,
                 open_timeout_s: float = 3.0) -> None:
        self.index = index
        what = f"Camera {index}"

        def open_camera() -> cv2.VideoCapture:
            capture = cv2.VideoCapture(index, camera_backend())
            if capture.isOpened():
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                capture.set(cv2.CAP_PROP_FPS, fps)
            return capture

        self._capture = _open_with_timeout(open_camera, open_timeout_s, what)
        if not self._capture.isOpened():
            found = list_cameras()
            listing = f"Cameras found: {', '.join(map(str, found))}." if found else "No camera was found."
            raise CaptureError(f"No camera at index {index}. {listing}",
                               "Connect a camera, or choose another with --camera N (see `python main.py doctor`).")
        first = self._capture.read()[1]
        if first is None:
            self._capture.release()
            raise CaptureError(f"{what} opened but delivers no frames.",
                               "Close other programs using the camera and try again.")
        self._pending: np.ndarray | None = first
        reported_fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        self.info = SourceInfo(kind="camera", is_live=True, fps=reported_fps if reported_fps > 0 else fps,
                               frame_count=None, width=int(first.shape[1]), height=int(first.shape[0]),
                               name=f"camera{index}")
        self.disconnected = False

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        for _ in range(self.MAX_FAILED_READS):
            ok, image = self._capture.read()
            if ok and image is not None:
                return image
        logger.warning("Camera %d stopped delivering frames; ending the stream.", self.index)
        self.disconnected = True
        return None

    def close(self) -> None:
        self._capture.release()


def list_cameras(max_index: int = 10) -> list[int]:
    """Indices of cameras that open. On Linux only /dev/video* nodes are tried (no slow probing)."""
    if os.name == "posix" and Path("/dev").is_dir() and os.uname().sysname == "Linux":
        candidates = sorted(int(p.name.removeprefix("video")) for p in Path("/dev").glob("video[0-9]*"))
    else:
        candidates = list(range(max_index))
    found = []
    for index in candidates:
        try:
            capture = _open_with_timeout(lambda i=index: cv2.VideoCapture(i, camera_backend()), 3.0, f"Camera {index}")
        except CaptureError:
            continue
        if capture.isOpened():
            found.append(index)
        capture.release()
    return found


def open_camera(settings: CaptureConfig, index: int | None = None) -> CameraSource:
    """The camera `index` (default: the `capture.camera_index` setting) at the settings' resolution, frame rate
    and open timeout."""
    return CameraSource(settings.camera_index if index is None else index, settings.width, settings.height,
                        settings.fps, settings.open_timeout_s)


def open_source(spec: str | int | Path, settings: CaptureConfig | None = None) -> FrameSource:
    """A camera index (int or digits), a folder of images, or a video file, opened with the `[capture]`
    settings (camera resolution/fps/timeout, image-folder frame rate)."""
    settings = settings or CaptureConfig()
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return open_camera(settings, int(spec))
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path, settings.image_folder_fps)
    return VideoFileSource(path)
