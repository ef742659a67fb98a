"""The bridge between a `LiveSession` (pipeline threads) and the window (Qt's thread): signals only.

Loading a model, rendering and the pipeline never run on the UI thread: the session starts on a worker thread,
results go to a preview thread that keeps only the newest one and has it drawn by the drawing process
(`PreviewProcess`), and what is ready arrives as signals. The video
is painted at the camera's rate from the capture thread's frames (live sources) and the people's layer at the
rate it can be drawn: both hand over only the newest item, so a slow painter drops frames, never lags.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import MocapError
from mocap_app.core.frames import Detection, Frame
from mocap_app.pipeline.live import LiveSession, LiveSource
from mocap_app.pipeline.preview import PreviewFrame, PreviewProcess
from mocap_app.pipeline.process import ProcessOptions
from mocap_app.pipeline.runner import FrameResult
from mocap_app.render.geometry import OrbitView

logger = logging.getLogger(__name__)

# Drawing budgets (the drawing itself runs in `PreviewProcess`, at the lowest priority). On 2 cores the estimator
# (two MediaPipe workers) needs nearly all of them; the mesh layer (~7 ms uncontended, llvmpipe) and the 3-D view
# (~9 ms) take what is left, so they take long on a busy CPU whatever the cap: alternating fresh windows (Zen 4,
# 2 cores) gave the layer at 15 and 30 a second no sooner body (271-296 ms against 239-310 at 10) and fewer
# estimates (20.0-20.2 and 18.5-18.6 a second against 19.4-23.4). 10/4 keeps the body from looking like a slide show.
MAX_LAYER_FPS = 10.0
MAX_ORBIT_FPS = 4.0


def describe(error: BaseException) -> str:
    """A user-readable message (with the hint) for an error shown in the window."""
    if isinstance(error, MocapError):
        return f"{error.message}\n{error.hint}" if getattr(error, "hint", "") else error.message
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class VideoFrame:
    """rgb: (H, W, 3) uint8; timestamp_ns: capture time (capture clock: `time.perf_counter_ns` for cameras)."""

    rgb: np.ndarray
    timestamp_ns: int
    index: int


class _Newest:
    """A one-slot mailbox: `put` replaces what is there; `take` empties it. `put` returns whether the slot was
    empty (then the reader needs waking)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: object | None = None

    def put(self, item: object) -> bool:
        with self._lock:
            was_empty, self._item = self._item is None, item
        return was_empty

    def take(self) -> object | None:
        with self._lock:
            item, self._item = self._item, None
        return item


class SessionController(QObject):
    """Owns the live session and the preview thread. Thread-safe setters for what the views show (`mode`,
    `orbit`); everything the window learns arrives as a signal."""

    started = Signal(object)  # SourceInfo
    failed = Signal(str)  # the session could not start
    ended = Signal(str)  # the run ended: "" when stopped, else the message (camera lost...)
    video_ready = Signal()  # a new video frame waits in `newest_video()`
    preview_ready = Signal()  # a new preview waits in `newest_preview()`
    people = Signal(object)  # list[SmplxParams] of the newest estimated frame
    recording_failed = Signal(str)

    def __init__(self, config: AppConfig, drawer_factory: Callable[[], PreviewProcess]) -> None:
        """drawer_factory: starts what draws the previews (called on the preview thread: loading the body takes
        seconds, the avatar's first build a minute)."""
        super().__init__()
        self.config = config
        self._drawer_factory = drawer_factory
        self.renderer: PreviewProcess | None = None
        self.session: LiveSession | None = None
        self.mode = "mesh"
        self.orbit: OrbitView = OrbitView()
        self.live = True
        self._video, self._preview = _Newest(), _Newest()
        self._latest: FrameResult | None = None
        self._wake = threading.Condition()
        self._closing = False
        self._last_orbit = 0.0
        self._drawer = threading.Thread(target=self._draw_loop, name="preview", daemon=True)
        self._drawer.start()
        self._starter: threading.Thread | None = None

    # -- session ------------------------------------------------------------------------------------
    def open(self, source: LiveSource, options: ProcessOptions) -> None:
        """Stop any running session and start one on `source` (on a worker thread)."""
        self.stop()
        session = LiveSession(self.config, source, options, on_result=self._on_result, on_end=self._on_end,
                              on_recording_error=lambda exc: self.recording_failed.emit(describe(exc)),
                              on_frame=self._on_frame)
        self.session = session

        def start() -> None:
            try:
                session.start()
            except BaseException as exc:
                logger.warning("could not start %s: %s", source.label, exc)
                if self.session is session:
                    self.session = None
                self.failed.emit(describe(exc))
                return
            self.live = bool(session.info.is_live)
            self.started.emit(session.info)

        self._starter = threading.Thread(target=start, name="session start", daemon=True)
        self._starter.start()

    def stop(self) -> None:
        """End the session (a take in progress is closed and kept); waits for its threads."""
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        session, self.session = self.session, None
        if session is not None:
            session.stop()
        with self._wake:
            self._latest = None
        self._video.take()
        self._preview.take()

    def close(self) -> None:
        self.stop()
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._drawer.join()

    def show_people(self, people: list, width: int, height: int, index: int = 0) -> None:
        """Draw `people` (SmplxParams of a take being played back) over a plain background of the camera's size,
        like a live result: the preview thread draws it, the window gets `video_ready` and `preview_ready`."""
        background = np.full((height, width, 3), 48, np.uint8)
        frame = Frame(np.ascontiguousarray(background), index, 0, source="playback")
        if self._video.put(VideoFrame(background, 0, index)):
            self.video_ready.emit()
        persons = [Detection(np.asarray(p.box, np.float32), float(p.confidence), p.track_id) for p in people]
        with self._wake:
            self._latest = FrameResult(frame, persons, list(people), list(people))
            self._wake.notify()

    def newest_video(self) -> VideoFrame | None:
        return self._video.take()  # type: ignore[return-value]

    def newest_preview(self) -> PreviewFrame | None:
        return self._preview.take()  # type: ignore[return-value]

    # -- pipeline callbacks (pipeline threads) -----------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:  # capture thread, live sources
        if self._video.put(VideoFrame(frame.rgb, frame.timestamp_ns, frame.index)):
            self.video_ready.emit()

    def _on_result(self, result: FrameResult) -> None:  # sink thread
        if not self.live and self._video.put(VideoFrame(result.frame.rgb, result.frame.timestamp_ns,
                                                        result.frame.index)):
            self.video_ready.emit()  # a file played frame by frame: each frame with its own estimate
        with self._wake:
            self._latest = result  # only the newest is drawn: drawing never holds the pipeline back
            self._wake.notify()

    def _on_end(self, error: BaseException | None) -> None:
        self.ended.emit("" if error is None else describe(error))

    # -- the preview thread -------------------------------------------------------------------------------
    def _draw_loop(self) -> None:
        try:
            self.renderer = self._drawer_factory()
        except Exception as exc:  # without a body there is nothing to draw; the window says why
            logger.exception("starting the preview failed")
            self.failed.emit(describe(exc) if isinstance(exc, MocapError)
                             else f"The body shown could not be loaded: {describe(exc)}")
            return
        try:
            self._draw_newest()
        finally:
            self.renderer.close()

    def _draw_newest(self) -> None:
        next_due = 0.0
        while True:
            with self._wake:
                while self._latest is None and not self._closing:
                    self._wake.wait()
                if self._closing:
                    return
            pause = next_due - time.monotonic()
            if pause > 0:  # the layer's rate cap: the newest result when the time comes
                time.sleep(pause)
            with self._wake:
                result, self._latest = self._latest, None
            if result is None:
                continue
            now = time.monotonic()
            next_due = now + 1.0 / MAX_LAYER_FPS
            orbit = self.orbit if now - self._last_orbit >= 1.0 / MAX_ORBIT_FPS else None
            try:
                frame = self.renderer.draw(result, self.mode, orbit)
            except MocapError as exc:
                if not self.renderer.alive:  # the drawing process is gone: say so once, stop drawing
                    self.failed.emit(describe(exc))
                    return
                logger.warning("drawing a preview failed: %s", exc)  # one drawing; the next may work
                continue
            if orbit is not None:
                self._last_orbit = now
            if self._preview.put(frame):
                self.preview_ready.emit()
            self.people.emit(list(result.people))


def blank_preview(width: int = 640, height: int = 480) -> np.ndarray:
    return np.full((height, width, 3), 40, np.uint8)
