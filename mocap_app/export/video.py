"""Writing a video file that is either complete under its final name or not there at all.

Frames are encoded with PyAV (FFmpeg's libx264, H.264 in MP4: plays in every browser, editor and OS player)
into a hidden temporary file beside the target. `finish()` flushes the encoder, closes the container (the MP4
index is written last), checks that the file decodes with the frame count written, and only then renames it
over the target. `abort()` — or any failure — removes the temporary file and leaves an existing target alone.
OpenCV's VideoWriter is not used: it reports no write errors, so a full disk gave an unplayable file and
"success".
"""

from __future__ import annotations

import contextlib
import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from mocap_app.capture import letterbox
from mocap_app.core.errors import ExportError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
_HINT = "Free disk space or choose another folder (or file system without a size limit), then run again."
# How often the free space of the target's file system is checked: a writer blocked by a full disk must say so
# within about a second, not at the end of the take.
_SPACE_CHECK_S = 0.5
_MIN_FREE_BYTES = 1 << 20


def _fps_fraction(fps: float) -> Fraction:
    """The frame rate as the rational FFmpeg wants: 29.97 → 30000/1001, 25 → 25."""
    for base in (1, 1001):
        candidate = Fraction(round(fps * base), base)
        if candidate > 0 and abs(float(candidate) - fps) < 1e-3:
            return candidate
    return Fraction(fps).limit_denominator(100_000)


class AtomicVideoWriter:
    """H.264 video of fixed size; frames are (height, width, 3) uint8 BGR. Frames of another size are letterboxed
    into the video's size (aspect kept, black bars), never dropped."""

    def __init__(self, path: Path, fps: float, width: int, height: int, crf: int = 20) -> None:
        import av  # deferred: FFmpeg's libraries are only needed when a video is written

        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise ExportError(f"The overlay video {self.path.name} must end in {', '.join(VIDEO_SUFFIXES)}.",
                              "Name it like overlay.mp4.")
        if not self.path.parent.is_dir():
            raise ExportError(f"Folder {self.path.parent} does not exist.", "Create it first, or choose another path.")
        if self.path.is_dir():
            raise ExportError(f"{self.path} is a folder, not a file name.", "Choose a file name ending in .mp4.")
        # H.264 with 4:2:0 chroma needs even sizes; the last odd row/column is padded when frames are written.
        self.width, self.height = width + width % 2, height + height % 2
        self._tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.partial{self.path.suffix}")
        self._av_error = av.error.FFmpegError
        try:
            self._container = av.open(str(self._tmp), mode="w")
            self._stream = self._container.add_stream("libx264", rate=_fps_fraction(fps))
            self._stream.width, self._stream.height = self.width, self.height
            self._stream.pix_fmt = "yuv420p"
            # One encoder thread: the estimator needs the other cores; veryfast keeps a frame at a few ms.
            self._stream.options = {"preset": "veryfast", "crf": str(crf)}
            self._stream.codec_context.thread_count = 1
        except (OSError, self._av_error) as exc:
            self._tmp.unlink(missing_ok=True)
            raise ExportError(f"Cannot write the video {self.path}: {exc}.", _HINT) from exc
        self._frame_type = av.VideoFrame
        self.frames = 0
        self._next_space_check = 0.0
        self._closed = False

    def _fit(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if (w + w % 2, h + h % 2) == (self.width, self.height) and (w, h) != (self.width, self.height):
            return np.pad(image, ((0, self.height - h), (0, self.width - w), (0, 0)), mode="edge")  # odd size
        return letterbox(image, self.width, self.height)

    def _check_space(self) -> None:
        now = time.monotonic()
        if now < self._next_space_check:
            return
        self._next_space_check = now + _SPACE_CHECK_S
        stats = os.statvfs(self._tmp.parent)
        if stats.f_bavail * stats.f_frsize < _MIN_FREE_BYTES:
            raise OSError(28, "No space left on device")

    def write(self, image: np.ndarray) -> None:
        """Encode one BGR frame; raises ExportError (and removes the partial file) when the write fails."""
        if self._closed:
            raise RuntimeError("this AtomicVideoWriter is closed")
        try:
            self._check_space()
            frame = self._frame_type.from_ndarray(np.ascontiguousarray(self._fit(image)), format="bgr24")
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (OSError, self._av_error) as exc:
            self.abort()
            raise ExportError(f"Writing the video {self.path} failed after {self.frames} frames: "
                              f"{getattr(exc, 'strerror', None) or exc}.", _HINT) from exc
        self.frames += 1

    def finish(self) -> Path:
        """Flush, close, check the file decodes with every frame, then move it to its final name."""
        if self._closed:
            raise RuntimeError("this AtomicVideoWriter is closed")
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except (OSError, self._av_error) as exc:
            self.abort()
            raise ExportError(f"Finishing the video {self.path} failed: {getattr(exc, 'strerror', None) or exc}.",
                              _HINT) from exc
        self._closed = True
        decoded = self._count_frames()
        if decoded != self.frames:
            self._tmp.unlink(missing_ok=True)
            raise ExportError(f"The video {self.path} came out with {decoded} of {self.frames} frames readable; "
                              "it was not kept.", _HINT)
        os.replace(self._tmp, self.path)
        return self.path

    def _count_frames(self) -> int:
        import av

        try:
            with av.open(str(self._tmp)) as check:
                return sum(1 for _ in check.demux(check.streams.video[0]) if _.size)
        except (OSError, self._av_error, IndexError):
            return 0

    def abort(self) -> None:
        """Stop writing and remove the partial file; the target, if it existed, is untouched."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError, self._av_error):
                self._container.close()
        self._tmp.unlink(missing_ok=True)
