"""The capture → detect/track → estimate → smooth → sinks pipeline, one thread per stage.

Stages overlap: while frame n is being estimated, frame n+1 is being detected and frame n-1 is
being smoothed and written. Channels between stages are bounded; for files they block (every
frame is processed), for live input they keep the newest frame (latency stays low, drops are
counted). `pipeline.process` (the `process` command) drives it; a live front end is meant to drive
the same class with a camera source.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from mocap_app.capture import CaptureStats, CaptureThread
from mocap_app.core.channel import Channel
from mocap_app.core.frames import Detection, Frame
from mocap_app.core.params import SmplxParams

from .stages import NewestFirstStage, RoundRobinStage, Stage, StageTiming

LIVE_QUEUE_SIZE = 1  # items a live channel holds: the newest


def capture_queue_size(live: bool, queue_size: int) -> int:
    """The capture thread's queue: the settings' size for files, only the newest frame for live sources."""
    return LIVE_QUEUE_SIZE if live else queue_size


class PersonDetector(Protocol):
    def detect(self, frame: Frame) -> list[Detection]: ...


class PersonTracker(Protocol):
    def update(self, detections: list[Detection], frame_index: int) -> list[Detection]: ...


class PeopleEstimator(Protocol):
    def estimate(self, frame: Frame, persons: list[Detection]) -> list[SmplxParams]: ...


class OnlineSmoother(Protocol):
    def __call__(self, people: list[SmplxParams], frame_index: int) -> list[SmplxParams]: ...


class Sink(Protocol):
    """Receives every processed frame in order on the sink thread (recorder, overlay video, preview).
    `close()` ends a run that went through; `abort()` one that was cancelled or failed: nothing half-done may
    stay under a final name (the journal, the recovery path, is kept either way)."""

    def consume(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class FrameResult:
    """One processed frame: the image, the tracked person boxes and the (smoothed) estimates."""

    frame: Frame
    persons: list[Detection]
    people: list[SmplxParams]
    raw_people: list[SmplxParams] = field(default_factory=list)


@dataclass(frozen=True)
class PipelineReport:
    """frames: frames that reached the end; wall_s: seconds from start to the last result;
    stages: busy time per stage (their sum above wall_s shows how much the stages overlapped);
    capture: counters of the capture thread; frames_per_track: how many frames each person was seen."""

    frames: int
    wall_s: float
    stages: list[StageTiming]
    capture: CaptureStats
    frames_per_track: dict[int, int]
    cancelled: bool

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0


def whole_frame(frame: Frame) -> list[Detection]:
    """The one 'person' an estimator without a detector gets: the full image."""
    return [Detection.whole_image(frame.width, frame.height)]


class Pipeline:
    def __init__(self, capture: CaptureThread, estimator: PeopleEstimator | list[PeopleEstimator], *,
                 detector: PersonDetector | None = None, tracker: PersonTracker | None = None,
                 smoother: OnlineSmoother | None = None, sinks: list[Sink] | None = None,
                 queue_size: int = 4, live: bool | None = None) -> None:
        self.capture = capture
        # Several estimators = parallel workers on alternating frames (for estimators that release the GIL).
        estimators = list(estimator) if isinstance(estimator, list | tuple) else [estimator]
        self.detector, self.tracker, self.smoother = detector, tracker, smoother
        self.sinks = list(sinks or [])
        live = capture.source.info.is_live if live is None else live
        # Live: the capture queue keeps the newest frame, so a slow estimator costs dropped frames, not latency;
        # after the estimators nothing is dropped (the work is done: a take records every estimated frame).
        capacity = LIVE_QUEUE_SIZE if live else queue_size
        make = lambda: Channel(capacity)  # noqa: E731
        self._estimates_ch: Channel[tuple[Frame, list[Detection], list[SmplxParams]]] = make()
        self._smoothed_ch: Channel[FrameResult] = make()
        self._results_ch: Channel[FrameResult] = make()
        works = [functools.partial(self._estimate, e) for e in estimators]
        if live and len(works) > 1:  # each free worker takes the newest frame: nothing detected is dropped
            front = [NewestFirstStage("estimate", "detect", self._detect, works, capture.frames, self._estimates_ch)]
        else:
            persons_ch: Channel[tuple[Frame, list[Detection]]] = Channel(capacity, drop_oldest=live)
            front = [Stage("detect", self._detect, capture.frames, persons_ch),
                     Stage("estimate", works[0], persons_ch, self._estimates_ch) if len(works) == 1 else
                     RoundRobinStage("estimate", works, persons_ch, self._estimates_ch)]
        self._stages = [
            *front,
            Stage("smooth", self._smooth, self._estimates_ch, self._smoothed_ch),
            Stage("sinks", self._feed_sinks, self._smoothed_ch, self._results_ch, on_close=self._close_sinks),
        ]
        self._cancelled = threading.Event()
        self._abandoned = threading.Event()  # the caller stopped reading results before the end
        self._frames_per_track: dict[int, int] = {}

    # -- stage work (each on its own thread) ------------------------------------------------------
    def _detect(self, frame: Frame) -> tuple[Frame, list[Detection]]:
        if self.detector is None:
            return frame, whole_frame(frame)
        persons = self.detector.detect(frame)
        if self.tracker is not None:
            persons = self.tracker.update(persons, frame.index)
        return frame, persons

    @staticmethod
    def _estimate(estimator: PeopleEstimator, item: tuple[Frame, list[Detection]],
                  ) -> tuple[Frame, list[Detection], list[SmplxParams]]:
        frame, persons = item
        return frame, persons, (estimator.estimate(frame, persons) if persons else [])

    def _smooth(self, item: tuple[Frame, list[Detection], list[SmplxParams]]) -> FrameResult:
        frame, persons, raw = item
        people = self.smoother(raw, frame.index) if self.smoother is not None else raw
        return FrameResult(frame, persons, people, raw)

    def _feed_sinks(self, result: FrameResult) -> FrameResult:
        for sink in self.sinks:
            sink.consume(result)
        for person in result.raw_people:  # seen, not bridged by the smoother
            self._frames_per_track[person.track_id] = self._frames_per_track.get(person.track_id, 0) + 1
        return result

    def _close_sinks(self, error: BaseException | None) -> None:
        complete = error is None and not self._cancelled.is_set() and not self._abandoned.is_set()
        failures = []
        for sink in self.sinks:  # every sink gets its close, even after another one failed
            try:
                sink.close() if complete else sink.abort()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    # -- control -----------------------------------------------------------------------------------
    def results(self) -> Iterator[FrameResult]:
        """Start the stages and yield every processed frame in order; raises the first stage error."""
        for stage in self._stages:
            stage.start()
        self.capture.start()
        finished = False
        try:
            while (result := self._results_ch.get()) is not None:
                yield result
            finished = True
        finally:
            if not finished:  # an exception here (Ctrl-C) or the caller left early
                self._abandoned.set()
            self.stop()

    def run(self, on_result: Callable[[FrameResult], None] | None = None) -> PipelineReport:
        """Process the whole input; returns the report. `cancel()` from another thread ends it early."""
        start = time.perf_counter()
        frames = 0
        for result in self.results():
            frames += 1
            if on_result is not None:
                on_result(result)
        return PipelineReport(frames, time.perf_counter() - start, self.stage_timings(),
                              self.capture.stats, dict(self._frames_per_track), self._cancelled.is_set())

    def stage_timings(self) -> list[StageTiming]:
        """Busy time per stage so far (readable while running)."""
        return [t for s in self._stages for t in s.timings]

    def cancel(self) -> None:
        """End the run early (thread-safe): stages stop, sinks are closed, recorded frames kept."""
        self._cancelled.set()
        self.capture.frames.cancel()

    def stop(self, timeout: float = 10.0) -> None:
        self.capture.stop()
        for stage in self._stages:  # after an early exit, wake stages blocked on either side
            if stage.is_alive:
                stage.cancel()
        for stage in self._stages:
            stage.join(timeout)
