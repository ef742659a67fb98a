"""Soak run: the whole live path for a long time — a video replayed as a camera through person detection and
tracking, the estimator, online smoothing, the crash-safe recorder and the overlay video — sampling resident
memory, throughput and capture-to-result latency at fixed intervals (for `bench soak`).

Memory growth is judged after the first minute (imports, the avatar, MediaPipe's graphs and the encoder settle
by then): `rss_growth_pct` compares the last sample with the one at `warmup_s`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap_app.capture import CaptureThread
from mocap_app.capture.replay import LiveReplaySource
from mocap_app.core.config import AppConfig
from mocap_app.core.memory import rss_bytes

from .journal import JournalWriter
from .process import (
    ProcessOptions,
    build_body,
    build_detection,
    build_estimators,
    close_all,
    online_smoother,
    smoothing_settings,
)
from .runner import FrameResult, Pipeline, capture_queue_size
from .sinks import JournalSink, OverlayVideoSink


@dataclass(frozen=True)
class SoakSample:
    """One interval. elapsed_s: since the start. rss_mb: resident memory now. fps: results per second in the
    interval. latency_ms_p50/p95: capture → result (after the sinks) over the interval's frames. dropped: frames
    the capture thread dropped so far (it keeps the newest, like a camera). journal_mb: the recording's size."""

    elapsed_s: float
    rss_mb: float
    fps: float
    latency_ms_p50: float
    latency_ms_p95: float
    dropped: int
    journal_mb: float


@dataclass
class SoakReport:
    samples: list[SoakSample] = field(default_factory=list)
    frames: int = 0
    laps: int = 0
    warmup_s: float = 60.0

    def figures(self) -> dict:
        """Named figures (units in the keys): the run's length, the memory after warm-up and at the end, and
        the growth between them; throughput and latency over the whole run after warm-up."""
        after = [s for s in self.samples if s.elapsed_s >= self.warmup_s] or self.samples[-1:]
        base = min(after, key=lambda s: s.elapsed_s)
        last = self.samples[-1]
        return {
            "duration_s": round(last.elapsed_s, 1), "frames": self.frames, "laps": self.laps,
            "rss_mb_at_warmup": base.rss_mb, "rss_mb_end": last.rss_mb,
            "rss_mb_max_after_warmup": max(s.rss_mb for s in after),
            "rss_growth_pct": round(100.0 * (last.rss_mb - base.rss_mb) / base.rss_mb, 2),
            "fps_mean": round(float(np.mean([s.fps for s in after])), 2),
            "latency_ms_p50_median": round(float(np.median([s.latency_ms_p50 for s in after])), 1),
            "latency_ms_p95_max": round(max(s.latency_ms_p95 for s in after), 1),
            "dropped_frames": last.dropped, "journal_mb": last.journal_mb,
        }


def run_soak(video: Path, minutes: float, folder: Path, config: AppConfig, *, interval_s: float = 10.0,
             warmup_s: float = 60.0, max_people: int = 2, overlay: bool = True,
             on_sample: Callable[[SoakSample], None] | None = None,
             progress: Callable[[str], None] = lambda line: None) -> SoakReport:
    """Replay `video` live for `minutes` through the full pipeline, writing the journal (and overlay) into
    `folder`; returns the samples taken every `interval_s`."""
    options = ProcessOptions(max_people=max_people)
    estimators = build_estimators(options, config)
    detection = build_detection(options)
    source = LiveReplaySource(video, loop=True, duration_s=60.0 * minutes)
    writer = JournalWriter.new(folder, "soak", fps=source.info.fps)
    sinks: list = [JournalSink(writer)]
    if overlay:
        body = build_body(config, progress)
        sinks.append(OverlayVideoSink(folder / "soak_overlay.mp4", source.info.fps, source.info.width,
                                      source.info.height, body, config.render.platform,
                                      msaa_samples=config.render.msaa_samples))
    smoothing = smoothing_settings(config)
    smoother = online_smoother(smoothing, source.info.fps)
    capture = CaptureThread(source, queue_size=capture_queue_size(True, config.capture.queue_size),
                            prepare=lambda frame: frame.rgb)
    pipeline = Pipeline(capture, estimators, detector=detection[0], tracker=detection[1], smoother=smoother,
                        sinks=sinks, queue_size=config.capture.queue_size)
    report = SoakReport(warmup_s=warmup_s)
    window: list[float] = []  # latencies of this interval (on_result runs on the caller's thread only)
    start = time.monotonic()
    next_sample = start + interval_s

    def take_sample(now: float) -> None:
        latencies, window[:] = list(window), []
        sample = SoakSample(
            elapsed_s=round(now - start, 1), rss_mb=round(rss_bytes() / 1e6, 1),
            fps=round(len(latencies) / interval_s, 2),
            latency_ms_p50=round(float(np.percentile(latencies, 50)), 1) if latencies else float("nan"),
            latency_ms_p95=round(float(np.percentile(latencies, 95)), 1) if latencies else float("nan"),
            dropped=capture.stats.dropped, journal_mb=round(writer.path.stat().st_size / 1e6, 2))
        report.samples.append(sample)
        if on_sample is not None:
            on_sample(sample)

    def on_result(result: FrameResult) -> None:
        nonlocal next_sample
        window.append((time.perf_counter_ns() - result.frame.timestamp_ns) / 1e6)
        report.frames += 1
        now = time.monotonic()
        if now >= next_sample:
            take_sample(now)
            next_sample += interval_s

    try:
        pipeline.run(on_result)
    finally:
        close_all([*estimators, *detection])
    report.laps = source.laps
    return report
