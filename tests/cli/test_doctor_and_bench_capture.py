from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args: str, config: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    if config is not None:
        env["MOCAP_CONFIG"] = str(config)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_doctor_reports_each_missing_item_with_what_to_do(tmp_path: Path) -> None:
    checkpoints, body_models = tmp_path / "checkpoints", tmp_path / "body_models"
    (body_models / "smplx").mkdir(parents=True)
    checkpoints.mkdir()
    (checkpoints / "smpler_x_s32.pth.tar").write_bytes(b"PK\x03\x04" + b"\0" * 1000)  # a truncated download
    np.savez(body_models / "smplx" / "SMPLX_NEUTRAL.npz", v_template=np.zeros((10475, 3)))  # keys missing
    (body_models / "smplx" / "SMPLX_MALE.pkl").write_bytes(b"pickle")
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\ncheckpoints = "{checkpoints}"\nbody_models = "{body_models}"\n')

    result = run_main("doctor", config=config)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr  # the broken files are blocking problems
    for expected in ("Python", "PyTorch", "ONNX Runtime", "TensorRT", "OpenGL offscreen: egl", "Qt platform",
                     "MediaPipe", "Default avatar (Anny)", "Cameras", "not present: smpler_x_b32.pth.tar",
                     "smaller than its 128 MB of weights", "lacks f, shapedirs", "only SMPLX_MALE.pkl found",
                     "chumpy", "not present: SMPLX_FEMALE.npz", "smpl-x.is.tue.mpg.de"):
        assert expected in out, expected
    assert "smpler_x_s32.pth.tar" in result.stderr


def test_doctor_passes_on_a_machine_with_nothing_optional(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\ncheckpoints = "{tmp_path}"\nbody_models = "{tmp_path}"\n')
    result = run_main("doctor", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "missing (optional)" in result.stdout and "FAIL" not in result.stdout


def test_bad_config_gives_one_error_line_and_a_hint(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[render]\nplatform = "vulkan"\n')
    result = run_main("--config", str(config), "doctor")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {config}: 'render.platform=vulkan' is not allowed.",
        "hint: Valid 'render.platform' values are: auto, egl, osmesa.",
    ]


def test_bench_capture_compares_both_readers_on_the_same_file(tmp_path: Path) -> None:
    figures_path = tmp_path / "capture.json"
    result = run_main("bench", "capture", "--frames", "90", "--size", "320x240", "--rounds", "2",
                      "--json", str(figures_path))
    assert result.returncode == 0, result.stderr
    figures = json.loads(figures_path.read_text())
    assert figures["frames"] == 90 and (figures["width"], figures["height"]) == (320, 240)
    assert figures["bare_opencv_fps"] > 0 and figures["capture_thread_fps"] > 0
    assert "bare OpenCV loop" in result.stdout and "CaptureThread" in result.stdout


def test_unknown_raw_smoothing_parameter_is_reported_when_the_settings_load(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[smoothing.params]\nrotation_acel_deg = 2.0\n")
    result = run_main("--config", str(config), "doctor")
    assert result.returncode == 1
    assert "Unknown smoothing parameter(s): rotation_acel_deg" in result.stderr
