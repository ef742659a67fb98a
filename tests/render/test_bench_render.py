from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_render_times_both_views_with_the_configured_body_model(smplx_body_models: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "render.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--set", f"paths.body_models={smplx_body_models}",
         "--set", "render.platform=egl", "bench", "render", "--frames", "3", "--size", "320x240",
         "--json", str(out)],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
        env=dict(os.environ, COLUMNS="200", XDG_CONFIG_HOME=str(tmp_path)))  # no user settings file
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert figures["body_model"].endswith("SMPLX_NEUTRAL.npz") and figures["platform"] == "egl"
    assert (figures["width"], figures["height"], figures["frames"]) == (320, 240, 3)
    for key in ("smplx_forward_ms", "overlay_ms", "orbit_ms", "frame_ms"):
        assert figures[key] > 0
    assert "camera overlay view" in result.stdout and "orbit view" in result.stdout
