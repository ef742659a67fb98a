"""Frame sources: a webcam, a video file (capture/video.py), a folder of images — one `FrameSource` interface.

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

import cv2  # quiet: mocap_app/__init__.py sets OpenCV's log level before any import of cv2
import numpy as np

from mocap_app.core.config import CaptureConfig
from mocap_app.core.errors import CaptureError

from .base import FrameSource, SourceInfo, letterbox
from .video import VideoFileSource

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class ImageFolderSource:
    """The images of a folder in natural order (frame2 before frame10), at a nominal frame rate.

    Each image is shown upright as a photo viewer shows it (its EXIF orientation is applied, OpenCV's
    default), then fitted to the first image's upright size: an image of another size is scaled with its
    proportions kept and centred on black (letterboxed), so every frame is processed and the overlay
    video keeps them all; a warning names the first such file. `timestamp_ns`: index ÷ fps.
    """

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
        self.timestamp_ns: int | None = None
        self.letterboxed = 0
        self.info = SourceInfo(kind="images", is_live=False, fps=float(fps), frame_count=len(self.paths),
                               width=int(first.shape[1]), height=int(first.shape[0]), name=self.folder.name,
                               timing="nominal")

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise CaptureError(f"Image {path} cannot be decoded (damaged or not an image).",
                               "Replace or remove that file and run again.")
        return image

    def _fit(self, image: np.ndarray, path: Path) -> np.ndarray:
        width, height = self.info.width, self.info.height
        if image.shape[:2] != (height, width):
            if not self.letterboxed:
                logger.warning("%s is %dx%d, not %dx%d like %s: it and any other image of another size are "
                               "letterboxed to %dx%d.", path.name, image.shape[1], image.shape[0], width, height,
                               self.paths[0].name, width, height)
            self.letterboxed += 1
        return letterbox(image, width, height)

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
            self.timestamp_ns = 0
            return image
        if self._next >= len(self.paths):
            return None
        path = self.paths[self._next]
        image = self._fit(self._load(path), path)
        self.timestamp_ns = round(self._next * 1e9 / self.info.fps)
        self._next += 1
        return image

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
        self.timestamp_ns: int | None = None  # live: the capture thread stamps each grab

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


@dataclass(frozen=True)
class CameraMode:
    """A camera that opens: its index and the frame size it reports before the app asks for a mode (pixels; 0
    when it does not say)."""

    index: int
    width: int
    height: int

    @property
    def label(self) -> str:
        return f"Camera {self.index} ({self.width}x{self.height})" if self.width else f"Camera {self.index}"


def find_cameras(max_index: int = 10) -> list[CameraMode]:
    """Cameras that open, with the frame size each reports. On Linux only /dev/video* nodes are tried (no slow
    probing)."""
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
            found.append(CameraMode(index, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                                    int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)))
        capture.release()
    return found


def list_cameras(max_index: int = 10) -> list[int]:
    """Indices of cameras that open (`find_cameras`)."""
    return [camera.index for camera in find_cameras(max_index)]


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
