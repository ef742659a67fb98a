"""`bench live`: the sample clip fed as a live camera through the whole app path (estimate, smooth, both views
drawn, frames painted), side by side with the pipeline alone in the same run."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mocap_app.core.config import AppConfig
from mocap_app.pipeline.live import LiveSession, LiveSource, sample_source
from mocap_app.pipeline.process import ProcessOptions
from mocap_app.pipeline.runner import FrameResult

WARMUP_S = 4.0  # models loaded, trackers locked on, the avatar built: not measured


@dataclasses.dataclass(frozen=True)
class LiveFigures:
    """One side of the comparison, over the measured seconds. displayed_fps: frames painted per second (the
    pipeline alone: results per second); latency: capture → painted (alone: capture → result out of the
    pipeline), ms; body_latency: capture of the frame the drawn body was estimated on → painted, ms."""

    seconds: float
    estimate_fps: float
    displayed_fps: float
    latency_median_ms: float
    latency_p95_ms: float
    body_latency_median_ms: float
    body_latency_p95_ms: float
    estimator_ms: float
    dropped: int


def _median_p95(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return float(np.median(values)), float(np.percentile(values, 95))


def run_pipeline_alone(config: AppConfig, source: LiveSource, options: ProcessOptions, seconds: float,
                       progress: Callable[[str], None] = lambda line: None) -> LiveFigures:
    latencies: list[float] = []  # of the measured seconds only
    measuring = threading.Event()

    def on_result(result: FrameResult) -> None:
        if measuring.is_set():
            latencies.append((time.perf_counter_ns() - result.frame.timestamp_ns) / 1e6)

    session = LiveSession(config, source, options, on_result=on_result, on_end=lambda error: None)
    progress("pipeline alone: starting")
    session.start()
    try:
        time.sleep(WARMUP_S)
        before = session.stats()
        start_s = time.monotonic()
        measuring.set()
        time.sleep(seconds)
        span = time.monotonic() - start_s
        after = session.stats()
        count = len(latencies)
    finally:
        session.stop()
    median, p95 = _median_p95(latencies)
    return LiveFigures(span, count / span, count / span, median, p95, median, p95, after.estimator_ms,
                       after.dropped - before.dropped)


def run_app(config: AppConfig, source: LiveSource, options: ProcessOptions, seconds: float,
            progress: Callable[[str], None] = lambda line: None) -> LiveFigures:
    """The window itself on `source` (Qt offscreen when there is no display), measured for `seconds`."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .app import LiveApp

    app = QApplication.instance() or QApplication(["mocap-bench"])
    painted: list[tuple[int, int, int | None]] = []  # (timestamp, painted, layer timestamp)
    with tempfile.TemporaryDirectory() as scratch:
        settings = QSettings(str(Path(scratch) / "bench.ini"), QSettings.Format.IniFormat)
        settings.setValue("takes_folder", str(Path(scratch) / "takes"))
        live = LiveApp(config, settings, [], None, options, progress=progress)
        window, controller = live.window, live.controller
        try:
            window.resize(1400, 640)
            window.show()
            progress("app: starting (the avatar loads first)")
            window.open_source(source)
            drawn = []
            controller.people.connect(lambda people: drawn.append(bool(people)))
            window.camera_view.painted.connect(lambda stamp, layer, at: painted.append((stamp, at, layer)))
            deadline = time.monotonic() + 300.0
            while not any(drawn) and time.monotonic() < deadline:  # the first body drawn: everything is loaded
                app.processEvents()
                time.sleep(0.005)
            _pump(app, WARMUP_S)
            session = controller.session
            assert session is not None, "the live session did not start"
            before = session.stats()
            first = len(painted)
            results_before = session.results
            start_s = time.monotonic()
            _pump(app, seconds)
            span = time.monotonic() - start_s
            after = session.stats()
            results = session.results - results_before
        finally:
            live.close()
    measured = painted[first:]
    video = [(at - stamp) / 1e6 for stamp, at, _ in measured]
    body = [(at - layer) / 1e6 for _, at, layer in measured if layer is not None]
    return LiveFigures(span, results / span, len(measured) / span, *_median_p95(video), *_median_p95(body),
                       after.estimator_ms, after.dropped - before.dropped)


def _pump(app, seconds: float) -> None:
    """Run Qt's event loop for `seconds`, as the app's own loop runs (a processEvents poll costs CPU)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(1000 * seconds), loop.quit)
    loop.exec()


def run_live_bench(config: AppConfig, seconds: float = 20.0, video: Path | None = None, rounds: int = 1,
                   progress: Callable[[str], None] = lambda line: None) -> dict[str, list[LiveFigures]]:
    """Both sides on the same live source and model, alternating `rounds` times (pipeline alone, then the app,
    then the app first, ...): a shared machine's speed drifts by tens of percent over minutes, and a ratio is
    taken within a round. Returns each side's figures, round by round."""
    source = sample_source() if video is None else LiveSource("video", path=video, realtime=True)
    options = ProcessOptions.from_settings(config)
    figures: dict[str, list[LiveFigures]] = {"pipeline": [], "app": []}
    for k in range(rounds):
        for side in ("pipeline", "app") if k % 2 == 0 else ("app", "pipeline"):
            progress(f"round {k + 1}/{rounds}: {side}")
            run = run_pipeline_alone if side == "pipeline" else run_app
            figures[side].append(run(config, source, options, seconds, progress))
    return figures
