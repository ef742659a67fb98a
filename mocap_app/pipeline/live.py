"""A live run for the desktop app: a camera (or a video played as one) through the same stages as `process`,
with the newest result handed to the viewer and recording switched on and off while it runs.

source → capture thread (drop-oldest) → subject follower / tracker → estimators → online smoother → sinks:
the recorder (a crash-safe journal per take, raw estimates) and the viewer callback. Nothing here waits on the
caller: `on_result` runs on the pipeline's sink thread and must only hand the result on (a Qt signal).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mocap_app.body.feet import LockedFeet
from mocap_app.capture import CaptureThread, FrameSource, open_camera, open_source
from mocap_app.capture.replay import LiveReplaySource
from mocap_app.core.config import AppConfig
from mocap_app.core.errors import CaptureError, MocapError
from mocap_app.core.frames import Frame
from mocap_app.smoothing import SmoothingConfig
from mocap_app.stream import VmcStream

from .journal import JournalWriter
from .process import (
    ProcessOptions,
    build_detection,
    build_estimators,
    close_all,
    drawn_skeleton,
    online_smoother,
    smoothing_settings,
)
from .runner import FrameResult, Pipeline, capture_queue_size

logger = logging.getLogger(__name__)

SAMPLE_CLIP = Path(__file__).resolve().parents[2] / "assets" / "samples" / "demo.mp4"


@dataclass(frozen=True)
class LiveSource:
    """What to capture from. kind: "camera" (`camera` index), "video" (`path`; `realtime`: paced at its own
    fps and looped like a camera, else every frame as fast as it is processed) or "folder" (images, `path`)."""

    kind: str
    camera: int = 0
    path: Path | None = None
    realtime: bool = True

    @property
    def label(self) -> str:
        if self.kind == "camera":
            return f"camera {self.camera}"
        name = self.path.name if self.path is not None else "?"
        return f"{name} (live replay)" if self.kind == "video" and self.realtime else name

    def open(self, config: AppConfig) -> FrameSource:
        """The opened source; CaptureError when it cannot be read."""
        if self.kind == "camera":
            return open_camera(config.capture, self.camera)
        if self.path is None:
            raise CaptureError("No file was chosen.", "Open a video file or an image folder.")
        if self.kind == "video" and self.realtime:
            if not self.path.is_file():
                raise CaptureError(f"Video {self.path} does not exist.", "Check the path.")
            return LiveReplaySource(self.path, loop=True)
        return open_source(self.path, config.capture)


def sample_source() -> LiveSource:
    """The bundled sample clip played as a camera (the app's source when no camera is found)."""
    if not SAMPLE_CLIP.is_file():
        raise CaptureError(f"No camera was found and the sample clip {SAMPLE_CLIP} is missing.",
                           "Connect a camera, or open a video with --video FILE.")
    return LiveSource("video", path=SAMPLE_CLIP, realtime=True)


@dataclass(frozen=True)
class LiveStats:
    """Rates over the last `RATE_WINDOW_S` seconds. capture_fps: frames the source delivered; estimate_fps:
    frames that came out of the pipeline; estimator_ms: mean estimator time per frame; dropped: frames the
    pipeline could not keep up with (since the start)."""

    capture_fps: float
    estimate_fps: float
    estimator_ms: float
    dropped: int
    captured: int


RATE_WINDOW_S = 2.0


class _Recorder:
    """The pipeline sink that writes the takes: raw estimates of every frame while a take is open.

    A write that fails (disk full) ends the take, keeps what it holds and reports through `on_error`; the live
    view goes on."""

    def __init__(self, on_error: Callable[[MocapError], None]) -> None:
        self._lock = threading.Lock()
        self._writer: JournalWriter | None = None
        self._on_stop: Callable[[JournalWriter], None] = JournalWriter.close
        self._on_error = on_error
        self.frames = 0
        self.track_ids: set[int] | None = None  # people a take records (None: everyone)

    def start(self, writer: JournalWriter, on_stop: Callable[[JournalWriter], None] | None = None) -> None:
        with self._lock:
            if self._writer is not None:
                raise RuntimeError("a take is already being recorded")
            self._writer, self.frames = writer, 0
            self._on_stop = on_stop or JournalWriter.close

    def stop(self) -> JournalWriter | None:
        """End the take (its writer closed by `on_stop`): the writer, for its path and record count."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._on_stop(writer)
        return writer

    @property
    def recording(self) -> bool:
        return self._writer is not None

    def consume(self, result: FrameResult) -> None:
        with self._lock:
            writer = self._writer
            if writer is None:
                return
            people = result.raw_people if self.track_ids is None else [
                p for p in result.raw_people if p.track_id in self.track_ids]
            try:
                writer.append(people)
                self.frames += 1
            except MocapError as exc:
                self._writer = None
                failed = exc
            else:
                return
        self._on_stop(writer)
        self._on_error(failed)

    def close(self) -> None:
        self.stop()

    abort = close


class LiveSession:
    """One live run (see the module doc). `on_result(result)` on the sink thread for every frame that comes out;
    `on_end(error)` once when the run ends (None: stopped or the source ended; else the error — a camera
    unplugged, a file that stopped decoding — with any take in progress closed and kept); `on_recording_error`
    when a take had to stop (disk full). `stream` sends the person followed to a VMC receiver while it is started
    (`stream.start(config)` / `stream.stop()` / `stream.status()`, at any time; `options.stream` starts it).

    Build and start it off the UI thread: `start()` loads the estimators."""

    def __init__(self, config: AppConfig, source: LiveSource, options: ProcessOptions,
                 on_result: Callable[[FrameResult], None], on_end: Callable[[BaseException | None], None],
                 on_recording_error: Callable[[MocapError], None] = lambda exc: None,
                 on_frame: Callable[[Frame], None] | None = None) -> None:
        """on_frame: called on the capture thread with every frame a live source delivers (RGB ready), before
        the pipeline may drop it — a viewer paints the video at the camera's rate from it."""
        self.config, self.source, self.options = config, source, options
        self._on_result, self._on_end, self._on_frame = on_result, on_end, on_frame
        self.recorder = _Recorder(on_recording_error)
        self.stream = VmcStream()  # its skeleton is set in start(): loading it may take a while
        self._pipeline: Pipeline | None = None
        self._thread: threading.Thread | None = None
        self._components: list = []
        self._times: list[tuple[float, int, int]] = []  # (monotonic s, captured, results) samples for the rates
        self._results = 0
        self.info = None  # SourceInfo once started
        self.detection = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the source, load the estimators and start the stages; raises the app's errors."""
        frame_source = self.source.open(self.config)
        try:
            self.stream.rest_joints = drawn_skeleton(self.config)
            if self.options.stream is not None:
                self.stream.start(self.options.stream)
            estimators = build_estimators(self.options, self.config)
            detector, tracker = build_detection(self.options)
        except BaseException:
            self.stream.stop()
            frame_source.close()
            raise
        self._components = [*estimators, detector, tracker]
        self.detection = detector
        self.info = frame_source.info
        tap = self._on_frame if frame_source.info.is_live else None

        def prepare(frame: Frame) -> None:
            frame.rgb  # noqa: B018 - converted once, here, off the estimators' path
            if tap is not None:
                tap(frame)

        queue_size = self.config.capture.queue_size
        capture = CaptureThread(frame_source, queue_size=capture_queue_size(frame_source.info.is_live, queue_size),
                                prepare=prepare)
        smoother = self._shown_smoother(smoothing_settings(self.config, self.options.smoothing), frame_source.info.fps)
        self._pipeline = Pipeline(capture, estimators, detector=detector, tracker=tracker, smoother=smoother,
                                  sinks=[self.recorder, self.stream], queue_size=queue_size)
        self._thread = threading.Thread(target=self._run, name="live pipeline", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        error: BaseException | None = None
        assert self._pipeline is not None
        try:
            for result in self._pipeline.results():
                self._results += 1
                self._sample()
                self._on_result(result)
        except BaseException as exc:  # reported to the window; the session is over
            error = exc
            logger.warning("live run ended: %s", exc)
        finally:
            self.recorder.stop()
            close_all(self._components)
            self._on_end(error)

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the run (any take in progress is closed and kept) and join its threads."""
        if self._pipeline is not None:
            self._pipeline.cancel()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("the live pipeline did not stop within %.0f s", timeout_s)
            self._thread = None

    @property
    def results(self) -> int:
        """Frames that came out of the pipeline so far."""
        return self._results

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def smoothing(self) -> SmoothingConfig | None:
        """The online smoothing in use (None: off, or not started)."""
        smoother = self._pipeline.smoother if self._pipeline is not None else None
        return getattr(smoother, "config", None)

    def set_smoothing(self, smoothing: SmoothingConfig) -> None:
        """Use these online smoothing parameters from the next frame on (the smoother starts afresh: one frame
        is not smoothed). Takes record raw estimates: this changes what is shown, not what a take holds."""
        if self._pipeline is None or self.info is None:
            return
        self._pipeline.smoother = self._shown_smoother(smoothing, self.info.fps)

    def _shown_smoother(self, smoothing: SmoothingConfig | None, fps: float):
        """What the window and the stream get: the online smoother's output, with feet locked causally when the
        config says so (`[feet] mode`, as `process` shows them)."""
        smoother = online_smoother(smoothing, fps)
        return LockedFeet(smoother, drawn_skeleton(self.config), fps) if self.config.feet.mode == "lock" else smoother

    def select_subject(self, x: float, y: float) -> bool:
        """Follow the person under image pixel (x, y) from the next frame (one-subject runs); False when the run
        follows everyone (`--max-people` above 1) and there is no subject to choose."""
        if self.detection is None or not hasattr(self.detection, "select_at"):
            return False
        self.detection.select_at(x, y)
        return True

    # -- recording ----------------------------------------------------------------------------------
    def start_recording(self, writer: JournalWriter, on_stop: Callable[[JournalWriter], None] | None = None) -> None:
        self.recorder.start(writer, on_stop)

    def stop_recording(self) -> JournalWriter | None:
        """End the take in progress: its closed writer (`path`, `records`), or None when none was recorded."""
        return self.recorder.stop()

    # -- figures --------------------------------------------------------------------------------------
    def _sample(self) -> None:
        now = time.monotonic()
        captured = self._pipeline.capture.stats.captured if self._pipeline is not None else 0
        self._times.append((now, captured, self._results))
        while len(self._times) > 2 and now - self._times[0][0] > RATE_WINDOW_S:
            self._times.pop(0)

    def stats(self) -> LiveStats:
        if self._pipeline is None:
            return LiveStats(0.0, 0.0, 0.0, 0, 0)
        capture = self._pipeline.capture.stats
        samples = list(self._times)
        capture_fps = estimate_fps = 0.0
        if len(samples) >= 2 and samples[-1][0] > samples[0][0]:
            span = samples[-1][0] - samples[0][0]
            capture_fps = (samples[-1][1] - samples[0][1]) / span
            estimate_fps = (samples[-1][2] - samples[0][2]) / span
        timing = next((s for s in self._pipeline.stage_timings() if s.name == "estimate"), None)
        estimator_ms = timing.ms_per_item if timing is not None else 0.0
        return LiveStats(capture_fps, estimate_fps, estimator_ms, capture.dropped, capture.captured)
