"""Video files decoded with PyAV (FFmpeg's libraries): upright images, container timestamps, completeness checked.

Why PyAV and not OpenCV's `VideoCapture` (both wrap FFmpeg): PyAV hands over each frame's presentation
timestamp with its stream's time base and the frame's display matrix (rotation *and* mirroring), and names
what a file holds (an audio-only file is "no video stream", not "damaged"). OpenCV guesses a frame count
from duration × fps for formats without one (a healthy variable-frame-rate .mkv with a pause then reads as
truncated) and auto-rotates by the angle only (a mirrored phone video comes out upside down).

Rules applied to every file, whatever its codec or pixel format (8/10-bit, 4:2:0/4:2:2/4:4:4, greyscale):
- images: (H, W, 3) uint8 BGR, converted by FFmpeg's swscale;
- orientation: the display matrix is applied (90° rotations and mirrors; other angles snap to the nearest
  quarter turn), so a portrait phone video is delivered upright and `SourceInfo.width/height` are those of
  the upright image;
- size: every image has the first one's size; a stream that changes size midway (joined recordings) has
  the later frames letterboxed into it (`letterbox`, the image folders' rule);
- timing: `timestamp_ns` of each image is its presentation time measured from the first frame, so
  variable frame rates survive; `SourceInfo.fps` is the stream's average rate (frames ÷ duration). A
  container whose rate is implausible (≤ 0 or ≥ 1000 fps, e.g. a broken writer's header of 1000) has
  its frames spaced at `FALLBACK_FPS` instead (`SourceInfo.timing == "nominal"`).
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from mocap_app.core.errors import CaptureError

from .base import SourceInfo, letterbox

logger = logging.getLogger(__name__)

# Frame rates a camera or screen recorder really delivers; outside (0, MAX_FPS) the container is wrong.
MAX_FPS = 1000.0
FALLBACK_FPS = 30.0
# Decoder threads: enough for 4K H.264/HEVC in real time; each one holds a decoded picture.
MAX_DECODER_THREADS = 8
NS = 1_000_000_000
# A timestamp this many frame intervals behind the previous one is a restart, not a frame out of order.
RESTART_FRAMES = 2


def _av():
    """PyAV, imported when a video is first opened: the camera-only paths (GUI start-up, doctor) never load
    a second copy of FFmpeg."""
    import av

    return av


def display_transform(matrix: bytes | None) -> tuple[bool, bool, bool]:
    """(transpose, flip_rows, flip_cols) that turn a coded image upright, from FFmpeg's 3x3 display matrix
    (36 bytes, int32, 16.16 fixed point; a coded pixel (p, q) is shown at (a·p + c·q, b·p + d·q)).
    Angles that are not multiples of 90° snap to the nearest one."""
    if matrix is None or len(matrix) < 36:
        return False, False, False
    a, b, _, c, d = (v / 65536 for v in struct.unpack("<5i", matrix[:20]))
    if abs(a) + abs(d) >= abs(b) + abs(c):  # no quarter turn: shown x from coded x, shown y from coded y
        return False, d < 0, a < 0
    return True, b < 0, c < 0  # shown x from coded y, shown y from coded x


def orient(image: np.ndarray, transform: tuple[bool, bool, bool]) -> np.ndarray:
    """`image` (H, W, C) turned upright by `display_transform`'s result; a C-contiguous array."""
    transpose, flip_rows, flip_cols = transform
    if transpose:
        image = image.transpose(1, 0, 2)
    if flip_rows:
        image = image[::-1]
    if flip_cols:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def _plausible(rate: Fraction | None) -> bool:
    return rate is not None and 0 < float(rate) < MAX_FPS


def stream_fps(stream) -> tuple[float, bool]:
    """(nominal fps, whether the container's timestamps can be trusted) of a PyAV video stream: its average
    rate, else FFmpeg's guess (r_frame_rate), else FALLBACK_FPS. An unknown average leaves the timestamps
    to speak; an implausible one discredits them (they come from the same bad claim, e.g. an AVI header)."""
    average = stream.average_rate
    if _plausible(average):
        return float(average), True
    guessed = stream.guessed_rate
    return (float(guessed) if _plausible(guessed) else FALLBACK_FPS), not average


def _stream_summary(container, cover) -> str:
    kinds: dict[str, int] = {}
    for stream in container.streams:
        kind = "cover picture" if stream.type == "video" and stream.disposition & cover else stream.type
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items()) or "no streams"


class VideoFileSource:
    """A video file, decoded in order by PyAV; see the module docstring for the rules applied.

    Broken files: a file FFmpeg cannot open (not a video, an mp4 cut before its index) raises CaptureError
    at once; one that stops early (fewer frames than its container counts, or a demuxing error) raises it
    from `read()` after every frame that did decode. `timestamp_ns`: presentation time of the image the
    last `read()` returned, in nanoseconds from the first frame.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        self.path = Path(path)
        hint = "Check the path, or re-export the video (H.264 or MPEG-4 in .mp4/.mkv/.avi)."
        if not self.path.exists():
            raise CaptureError(f"Video file {self.path} does not exist.", hint)
        if not self.path.is_file():
            raise CaptureError(f"{self.path} is not a file.", "Pass a video file, or a folder of images.")
        if self.path.stat().st_size == 0:
            raise CaptureError(f"Video file {self.path} is empty (0 bytes).", hint)
        av = _av()
        self._errors = av.FFmpegError
        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            raise CaptureError(
                f"{self.path} cannot be decoded: it is not a video, or it is damaged "
                f"(for example a recording that was interrupted before it was finalised): {exc}.", hint) from exc
        cover = av.stream.Disposition.attached_pic  # an audio file's cover art is a one-picture "video" stream
        videos = [s for s in self._container.streams.video if not s.disposition & cover]
        if not videos:
            summary = _stream_summary(self._container, cover)
            self._container.close()
            raise CaptureError(f"{self.path} has no video stream (it holds {summary}).",
                               "Pass the video recording itself, not its sound track.")
        self._stream = stream = videos[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads or min(MAX_DECODER_THREADS, os.cpu_count() or 1)
        self._time_base = stream.time_base or Fraction(1, NS)
        fps, trusted = stream_fps(stream)
        self._step_ns = NS / fps
        self._frames = self._decode()
        self.frames_read = 0
        self.timestamp_ns: int | None = None
        self._first_pts: int | None = None
        self._pts: int | None = None
        self._last_ns: int | None = None
        self._offset_ns = 0
        self._trusted = trusted
        self._size: tuple[int, int] | None = None
        self._transform = (False, False, False)
        self._failure: Exception | None = None
        self.resized = 0
        try:
            first = self._next_image()
        except BaseException:
            self.close()
            raise
        if first is None:
            self.close()
            raise CaptureError(f"{self.path} contains no decodable video frames.", hint)
        self._pending: tuple[np.ndarray, int] | None = (first, self._next_timestamp_ns(self._pts))
        if not trusted:
            logger.warning("%s states %s fps; its frames are spaced at %g fps instead.", self.path.name,
                           f"{float(stream.average_rate):g}" if stream.average_rate else "no", fps)
        count = stream.frames
        self.info = SourceInfo(
            kind="video", is_live=False, fps=fps, frame_count=count if count > 0 else None,
            width=int(first.shape[1]), height=int(first.shape[0]), name=self.path.name,
            timing="container" if trusted else "nominal")

    def _decode(self) -> Iterator:
        """The stream's frames in presentation order. A packet the decoder rejects is skipped (FFmpeg
        conceals the damage in later frames); a demuxing error ends the stream and is kept in `_failure`."""
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except self._errors as exc:
                self._failure = exc
                return
            try:
                yield from packet.decode()
            except self._errors as exc:
                logger.debug("%s: skipping an undecodable packet: %s", self.path.name, exc)

    def _next_image(self) -> np.ndarray | None:
        frame = next(self._frames, None)
        if frame is None:
            return None
        if self._size is None:  # the first frame fixes the orientation and the delivered size
            matrix = next((bytes(d) for d in frame.side_data if d.type.name == "DISPLAYMATRIX"), None)
            self._transform = display_transform(matrix)
        self._pts = frame.pts
        image = orient(frame.to_ndarray(format="bgr24"), self._transform)
        if self._size is None:
            self._size = (image.shape[1], image.shape[0])
        elif (image.shape[1], image.shape[0]) != self._size:
            if not self.resized:
                logger.warning("%s changes size at frame %d (%dx%d, was %dx%d): later frames of another size "
                               "are letterboxed.", self.path.name, self.frames_read, image.shape[1],
                               image.shape[0], *self._size)
            self.resized += 1
            image = letterbox(image, *self._size)
        return image

    def _next_timestamp_ns(self, pts: int | None) -> int:
        """Presentation time from the first frame. Frames without a timestamp, every frame of an untrusted
        container, and a frame a little out of order follow the previous one by one nominal interval;
        timestamps that start again (recordings joined byte for byte) continue from there."""
        stamp = None
        if self._trusted and pts is not None:
            if self._first_pts is None:
                self._first_pts = pts
            stamp = round((pts - self._first_pts) * self._time_base * NS) + self._offset_ns
        last = self._last_ns
        if stamp is not None and last is not None and stamp <= last:
            follow = round(last + self._step_ns)
            if last - stamp > RESTART_FRAMES * self._step_ns:
                logger.warning("%s: timestamps start again at frame %d; continuing from %.3f s.", self.path.name,
                               self.frames_read, follow / NS)
                self._offset_ns += follow - stamp
            stamp = follow
        elif stamp is None:
            stamp = 0 if last is None else round(last + self._step_ns)
        self._last_ns = stamp
        return stamp

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            (image, self.timestamp_ns), self._pending = self._pending, None
            self.frames_read += 1
            return image
        image = self._next_image()
        if image is not None:
            self.timestamp_ns = self._next_timestamp_ns(self._pts)
            self.frames_read += 1
            return image
        expected = self.info.frame_count
        # A container may round its count; more than one missing frame means the data stops early.
        if expected is not None and self.frames_read < expected - 1:
            raise CaptureError(
                f"{self.path} is truncated or damaged: decoding stopped after {self.frames_read} "
                f"of {expected} frames.",
                f"The first {self.frames_read} frames were read; re-export or re-copy the file to get the rest.")
        if self._failure is not None:
            raise CaptureError(f"{self.path} is damaged: reading stopped after {self.frames_read} frames "
                               f"({self._failure}).",
                               f"The first {self.frames_read} frames were read; re-export or re-copy the file.")
        return None

    def close(self) -> None:
        # The decoding generator and this object hold the stream, whose codec keeps FFmpeg's frame threads alive
        # until the cycle through `self` is collected: two idle threads per video opened, unless let go here.
        self._frames.close()
        self._container.close()
        self._stream = None
