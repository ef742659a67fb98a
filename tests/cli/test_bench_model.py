"""`bench model`: one table with every backend × precision, the accuracy columns, figures in JSON with units in
the keys, the CPU peak read from lscpu, and clear usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from typer.testing import CliRunner

from mocap_app.cli.app import app
from mocap_app.cli.bench_model import cpu_peak, joint_angle_errors_deg

DATA = Path(__file__).resolve().parents[1] / "data" / "smplerx"
LSCPU_ZEN4 = """Vendor ID:                               AuthenticAMD
Model name:                              AMD EPYC
CPU family:                              25
Core(s) per socket:                      2
Socket(s):                               1
Flags:                                   fpu sse sse2 avx f16c fma avx2 avx512f avx512_bf16
"""


def invoke(*args: str):
    return CliRunner().invoke(app, ["bench", "model", *args], env={"COLUMNS": "250"})


def test_every_backend_side_by_side_with_its_accuracy_cost(tmp_path):
    checkpoint = tmp_path / "tiny.pth.tar"
    torch.save(torch.load(DATA / "weights.pt", weights_only=True), checkpoint)
    out = tmp_path / "bench.json"
    result = invoke("--checkpoint", str(checkpoint), "--backend", "torch", "--precision", "fp32", "--precision",
                    "bf16", "--no-compile", "--rounds", "1", "--iterations", "1", "--warmup", "0", "--json", str(out),
                    "--engines", str(tmp_path / "engines"))
    assert result.exit_code == 0, result.output
    assert "SMPLer-X (tiny)" in result.output and "torch fp32" in result.output and "torch bf16" in result.output
    figures = json.loads(out.read_text())
    assert set(figures["results"]) == {"torch fp32", "torch bf16"} and figures["reference"] == "torch fp32"
    assert 5 < figures["gflop_per_frame"] < 15  # tiny: a 2-block ViT, the full-size neck and heads
    assert figures["cpu"]["peak_gflop_per_s"] > 0 and figures["floor_ms_per_frame"] > 0
    for label, row in figures["results"].items():
        assert row["ms_per_frame"] > 0 and abs(row["fps"] * row["ms_per_frame"] / 1000 - 1) < 0.02
        assert abs(row["ratio_to_floor"] - row["ms_per_frame"] / figures["floor_ms_per_frame"]) < 0.02
        assert (row["angle_err_max_deg"] == 0) == (label == "torch fp32")
    mismatch = invoke("--checkpoint", str(checkpoint), "--size", "b", "--rounds", "1", "--iterations", "1")
    assert mismatch.exit_code == 2 and "holds size tiny" in mismatch.output


def test_cpu_peak_from_lscpu_flags() -> None:
    peak = cpu_peak(LSCPU_ZEN4, cpuinfo="cpu MHz\t\t: 2596.136\n")
    assert (peak.cores, peak.ghz, peak.flop_per_cycle) == (2, 2.596136, 32) and "Zen 4" in peak.how
    assert abs(peak.gflop_per_s - 166.15) < 0.01
    intel = cpu_peak(LSCPU_ZEN4.replace("AuthenticAMD", "GenuineIntel") + "CPU max MHz: 3000.0\n")
    assert (intel.flop_per_cycle, intel.ghz) == (64, 3.0)
    zen3 = LSCPU_ZEN4.replace(" avx512f avx512_bf16", "").replace("25", "23")
    avx2 = cpu_peak(zen3, cpuinfo="cpu MHz: 1000")
    assert avx2.flop_per_cycle == 32 and "AVX2" in avx2.how


def test_joint_angle_error_is_the_geodesic_angle_per_joint() -> None:
    zero = {key: np.zeros((1, n)) for key, n in (("smplx_root_pose", 3), ("smplx_body_pose", 63),
                                                 ("smplx_jaw_pose", 3), ("smplx_lhand_pose", 45),
                                                 ("smplx_rhand_pose", 45))}
    turned = {key: value.copy() for key, value in zero.items()}
    turned["smplx_body_pose"][0, 3:6] = [0.0, np.radians(30), 0.0]  # joint 2 of 53 turned 30°
    errors = joint_angle_errors_deg(zero, turned)
    assert errors.shape == (1, 53) and abs(errors[0, 2] - 30) < 1e-6 and np.delete(errors[0], 2).max() < 1e-6


def test_unknown_size_backend_or_precision_is_a_usage_error():
    assert invoke("--size", "xl").exit_code == 2
    assert invoke("--backend", "openvino").exit_code == 2
    assert invoke("--precision", "int4").exit_code == 2
