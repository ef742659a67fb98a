"""`bench soak` end to end for a few seconds: samples come at their interval with memory, fps and latency."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mocap_app.core.config import load_config
from mocap_app.pipeline.soak import run_soak

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "demo.mp4"


@pytest.mark.slow
def test_a_short_soak_samples_memory_fps_and_latency(tmp_path: Path) -> None:
    report = run_soak(SAMPLE, 0.15, tmp_path, load_config(), interval_s=3.0, warmup_s=3.0, max_people=1,
                      overlay=False)
    assert len(report.samples) >= 2 and report.frames > 20
    figures = report.figures()
    assert figures["rss_mb_end"] > 50 and figures["fps_mean"] > 0
    assert not math.isnan(figures["latency_ms_p50_median"]) and figures["latency_ms_p50_median"] > 0
    assert figures["journal_mb"] > 0  # the recorder ran all along
