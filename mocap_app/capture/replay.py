"""A video file played as if it were a camera: paced at the video's own frame rate, looped, live.

For soak tests and demos without a webcam. The capture thread treats it like a camera (`is_live`): frames the
pipeline cannot keep up with are dropped, oldest first, and `Frame.timestamp_ns` is the grab time on the
capture thread's clock, so capture-to-screen latency is measured as with a real camera.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .base import SourceInfo
from .video import VideoFileSource


class LiveReplaySource:
    """`path` replayed in real time; from the start again at its end while `loop`, for at most `duration_s`
    seconds (None: until closed). `laps`: how many times the video was started."""

    def __init__(self, path: str | Path, loop: bool = True, duration_s: float | None = None) -> None:
        self.path = Path(path)
        self.loop = loop
        self.duration_s = duration_s
        self._video = VideoFileSource(self.path)
        video = self._video.info
        self.info = SourceInfo(kind="camera", is_live=True, fps=video.fps, frame_count=None, width=video.width,
                               height=video.height, name=f"{video.name} (live replay)", timing="clock")
        self.timestamp_ns: int | None = None  # live: the capture thread's clock
        self.laps = 1
        self._period_s = 1.0 / video.fps
        self._start = time.monotonic()
        self._next_due = self._start

    def read(self) -> np.ndarray | None:
        if self.duration_s is not None and time.monotonic() - self._start >= self.duration_s:
            return None
        image = self._video.read()
        if image is None and self.loop:
            self._video.close()
            self._video = VideoFileSource(self.path)
            self.laps += 1
            image = self._video.read()
        if image is None:
            return None
        # Deliver at the video's pace, as a camera would; a late consumer does not make it faster.
        delay = self._next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_due = max(self._next_due + self._period_s, time.monotonic() - self._period_s)
        return image

    def close(self) -> None:
        self._video.close()
