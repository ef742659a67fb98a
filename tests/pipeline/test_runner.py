from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mocap_app.capture import CaptureThread, VideoFileSource
from mocap_app.capture.replay import LiveReplaySource
from mocap_app.core import CameraIntrinsics, Detection, Frame, SmplxParams
from mocap_app.pipeline.runner import FrameResult, Pipeline
from tests.capture.conftest import write_video


class SlowEstimator:
    def __init__(self, delay_s: float = 0.004, fail_at: int | None = None) -> None:
        self.delay_s, self.fail_at = delay_s, fail_at

    def estimate(self, frame: Frame, persons: list[Detection]) -> list[SmplxParams]:
        if frame.index == self.fail_at:
            raise RuntimeError(f"estimator broke at frame {frame.index}")
        time.sleep(self.delay_s)
        camera = CameraIntrinsics.from_fov(frame.width, frame.height)
        return [SmplxParams.neutral(camera, track_id=p.track_id, frame_index=frame.index,
                                    timestamp_ns=frame.timestamp_ns) for p in persons]


class TwoPeople:
    def detect(self, frame: Frame) -> list[Detection]:
        time.sleep(0.004)
        return [Detection(np.array([0, 0, 10, 20]), 0.9), Detection(np.array([50, 0, 60, 20]), 0.8)]


class CountingTracker:
    def update(self, detections: list[Detection], frame_index: int) -> list[Detection]:
        # Track 1 is seen in every frame, track 2 only in even ones.
        tracked = [Detection(detections[0].box, detections[0].score, 1)]
        if frame_index % 2 == 0:
            tracked.append(Detection(detections[1].box, detections[1].score, 2))
        return tracked


class RecordingSink:
    def __init__(self) -> None:
        self.frames: list[int] = []
        self.closed = False
        self.aborted = False

    def consume(self, result: FrameResult) -> None:
        time.sleep(0.004)
        self.frames.append(result.frame.index)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def shift_smoother(people: list[SmplxParams], frame_index: int) -> list[SmplxParams]:
    return [dataclasses.replace(p, transl=p.transl + 1.0) for p in people]


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "v.mp4", 40)


def test_every_frame_flows_through_all_stages_in_order_and_stages_overlap(video: Path) -> None:
    sink = RecordingSink()
    pipeline = Pipeline(CaptureThread(VideoFileSource(video)), SlowEstimator(), detector=TwoPeople(),
                        tracker=CountingTracker(), smoother=shift_smoother, sinks=[sink])
    seen: list[FrameResult] = []
    report = pipeline.run(seen.append)
    assert [r.frame.index for r in seen] == list(range(40)) == sink.frames and sink.closed
    assert report.frames == 40 and report.frames_per_track == {1: 40, 2: 20}
    assert seen[0].people[0].transl[2] == pytest.approx(4.0) and seen[0].raw_people[0].transl[2] == pytest.approx(3.0)
    busy = {t.name: t.busy_s for t in report.stages}
    assert set(busy) == {"detect", "estimate", "smooth", "sinks"}
    assert all(t.items == 40 for t in report.stages)
    # Three stages sleeping 4 ms per frame each: run in sequence they would take their sum.
    assert sum(busy.values()) > 1.3 * report.wall_s
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]


def test_a_stage_error_reaches_the_caller_and_every_thread_ends(video: Path) -> None:
    sink = RecordingSink()
    pipeline = Pipeline(CaptureThread(VideoFileSource(video)), SlowEstimator(fail_at=12), sinks=[sink])
    with pytest.raises(RuntimeError, match="broke at frame 12"):
        pipeline.run()
    assert sink.frames == list(range(12))  # frames before the failure were delivered
    assert sink.aborted and not sink.closed  # a failed run is not finished as if complete
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]


def test_cancel_ends_the_run_early_and_keeps_what_was_processed(video: Path) -> None:
    sink = RecordingSink()
    pipeline = Pipeline(CaptureThread(VideoFileSource(video)), SlowEstimator(0.01), sinks=[sink])

    def cancel_after_five(result: FrameResult) -> None:
        if result.frame.index == 5:
            pipeline.cancel()

    report = pipeline.run(cancel_after_five)
    assert report.cancelled and 6 <= report.frames < 40
    assert sink.frames == list(range(report.frames)) and sink.aborted and not sink.closed
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]


class JitteryEstimator(SlowEstimator):
    """Takes a different time per frame, so parallel workers finish out of order."""

    def __init__(self, worker: int, fail_at: int | None = None) -> None:
        super().__init__(fail_at=fail_at)
        self.worker, self.seen = worker, []

    def estimate(self, frame: Frame, persons: list[Detection]) -> list[SmplxParams]:
        self.seen.append(frame.index)
        self.delay_s = 0.001 + 0.006 * ((frame.index * 7 + self.worker) % 3)
        return super().estimate(frame, persons)


def test_parallel_estimators_take_alternate_frames_and_results_stay_in_order(video: Path) -> None:
    workers = [JitteryEstimator(0), JitteryEstimator(1), JitteryEstimator(2)]
    results: list[FrameResult] = []
    report = Pipeline(CaptureThread(VideoFileSource(video)), workers).run(results.append)
    assert [r.frame.index for r in results] == list(range(40))
    assert [r.people[0].frame_index for r in results] == list(range(40))
    assert [w.seen for w in workers] == [list(range(k, 40, 3)) for k in range(3)]  # always the same frames
    estimate = next(t for t in report.stages if t.name == "estimate")
    assert estimate.items == 40


def test_a_parallel_worker_error_reaches_the_caller_in_order(video: Path) -> None:
    sink = RecordingSink()
    pipeline = Pipeline(CaptureThread(VideoFileSource(video)), [JitteryEstimator(0), JitteryEstimator(1, fail_at=9)],
                        sinks=[sink])
    with pytest.raises(RuntimeError, match="broke at frame 9"):
        pipeline.run()
    assert sink.frames == list(range(9)) and sink.aborted and not sink.closed
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]


def test_ctrl_c_with_parallel_workers_ends_every_thread_within_two_seconds(video: Path) -> None:
    """A KeyboardInterrupt in the caller's thread: before, full lanes kept two workers blocked until 10-s join
    timeouts (21 s to exit with 2 MediaPipe workers)."""
    sink = RecordingSink()
    workers = [SlowEstimator(0.05), SlowEstimator(0.05)]
    pipeline = Pipeline(CaptureThread(VideoFileSource(video)), workers, sinks=[sink])

    def interrupt(result: FrameResult) -> None:
        if result.frame.index == 4:
            raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(interrupt)
    assert time.monotonic() - start < 2.0
    assert sink.aborted and not sink.closed
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]


class CountingDetector:
    """Records the frames it is given (in the order given) and what it handed on."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def detect(self, frame: Frame) -> list[Detection]:
        self.seen.append(frame.index)
        time.sleep(0.002)
        return [Detection(np.array([0, 0, 10, 20]), 0.9)]


class AgeRecorder(SlowEstimator):
    """Records how old each frame is when its estimate starts (capture clock: perf_counter_ns)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(delay_s)
        self.ages_ms: list[float] = []

    def estimate(self, frame: Frame, persons: list[Detection]) -> list[SmplxParams]:
        self.ages_ms.append((time.perf_counter_ns() - frame.timestamp_ns) / 1e6)
        return super().estimate(frame, persons)


class FailingOnCall(SlowEstimator):
    """Fails on its `fail_on`-th call (live runs skip frames, so a frame index may never come)."""

    def __init__(self, delay_s: float, fail_on: int | None = None) -> None:
        super().__init__(delay_s)
        self.calls, self.fail_on = 0, fail_on

    def estimate(self, frame: Frame, persons: list[Detection]) -> list[SmplxParams]:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError(f"estimator broke at frame {frame.index}")
        return super().estimate(frame, persons)


def live_capture(video: Path) -> CaptureThread:
    """The 30 fps test clip played once as a camera (drop-oldest, one frame queued)."""
    return CaptureThread(LiveReplaySource(video, loop=False), queue_size=1)


def test_live_workers_take_the_newest_frame_and_drop_nothing_they_started(video: Path) -> None:
    """Two workers at 100 ms a frame against a 30 fps camera: frames are dropped at the camera only. Every frame
    detected is estimated, every estimate reaches the sinks in order (a take records them all)."""
    detector, sink = CountingDetector(), RecordingSink()
    workers = [AgeRecorder(0.1), AgeRecorder(0.1)]
    pipeline = Pipeline(live_capture(video), workers, detector=detector, sinks=[sink])
    results: list[FrameResult] = []
    report = pipeline.run(results.append)
    indices = [r.frame.index for r in results]
    assert indices == detector.seen == sink.frames and sink.closed
    assert indices == sorted(set(indices)) and 15 <= len(indices) <= 32  # 1.3 s of video, 20 estimates a second
    assert report.capture.dropped == 40 - len(indices)
    timings = {t.name: t.items for t in report.stages}
    assert timings["detect"] == timings["estimate"] == timings["smooth"] == len(indices)
    # A free worker takes the frame captured last: under a frame period (33 ms) plus the detection (2 ms) old,
    # against up to 200 ms with two frames queued per worker. 80: scheduling on a loaded 2-core CI machine.
    ages = [age for w in workers for age in w.ages_ms]
    assert len(ages) == len(indices) and max(ages) < 80.0, sorted(ages)[-5:]
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]


def test_a_live_worker_error_reaches_the_caller_after_the_frames_taken_before_it(video: Path) -> None:
    sink = RecordingSink()
    workers = [FailingOnCall(0.03), FailingOnCall(0.05, fail_on=3)]
    pipeline = Pipeline(live_capture(video), workers, detector=CountingDetector(), sinks=[sink])
    with pytest.raises(RuntimeError, match="broke at frame") as failure:
        pipeline.run()
    failed_at = int(str(failure.value).rsplit(" ", 1)[1])
    delivered = pipeline.detector.seen[:pipeline.detector.seen.index(failed_at)]
    assert sink.frames == delivered and len(delivered) >= 3 and sink.aborted and not sink.closed
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]


def test_cancelling_a_live_run_with_parallel_workers_ends_every_thread_at_once(video: Path) -> None:
    sink = RecordingSink()
    pipeline = Pipeline(CaptureThread(LiveReplaySource(video, loop=True), queue_size=1),
                        [SlowEstimator(0.05), SlowEstimator(0.05)], detector=CountingDetector(), sinks=[sink])

    def cancel_after_five(result: FrameResult) -> None:
        if len(sink.frames) == 5:
            pipeline.cancel()

    start = time.monotonic()
    report = pipeline.run(cancel_after_five)
    assert report.cancelled and time.monotonic() - start < 2.0
    assert sink.frames == sorted(sink.frames) and len(sink.frames) >= 5 and sink.aborted
    assert not [t for t in threading.enumerate() if t.name.startswith(("stage", "capture"))]
