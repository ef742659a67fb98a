"""`bench model`: one table with every requested precision, figures in JSON, clear usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from mocap_app.cli.app import app

DATA = Path(__file__).resolve().parents[1] / "data" / "smplerx"


def invoke(*args: str):
    return CliRunner().invoke(app, ["bench", "model", *args], env={"COLUMNS": "200"})


def test_random_weights_fp32_and_bf16_side_by_side(tmp_path):
    out = tmp_path / "bench.json"
    result = invoke("--size", "s", "--dtype", "fp32", "--dtype", "bf16", "--rounds", "1", "--iterations", "1",
                    "--warmup", "0", "--json", str(out))
    assert result.exit_code == 0, result.output
    assert "SMPLer-X-S32" in result.output and "fp32" in result.output and "bf16" in result.output
    figures = json.loads(out.read_text())
    assert figures["weights"] == "random" and set(figures["results"]) == {"fp32", "bf16"}
    assert 15 < figures["gflop_per_frame"] < 30  # ViT-S ≈ 10.5 + neck/heads
    for row in figures["results"].values():
        assert row["ms_per_frame"] > 0 and abs(row["fps"] * row["ms_per_frame"] / 1000 - 1) < 0.02


def test_checkpoint_sets_the_size(tmp_path):
    path = tmp_path / "tiny.pth.tar"
    torch.save(torch.load(DATA / "weights.pt", weights_only=True), path)
    result = invoke("--checkpoint", str(path), "--dtype", "fp32", "--rounds", "1", "--iterations", "1")
    assert result.exit_code == 0, result.output
    assert "SMPLer-X (tiny)" in result.output
    mismatch = invoke("--checkpoint", str(path), "--size", "b", "--rounds", "1", "--iterations", "1")
    assert mismatch.exit_code == 2 and "holds size tiny" in mismatch.output


def test_unknown_size_backend_or_precision_is_a_usage_error():
    assert invoke("--size", "xl").exit_code == 2
    assert invoke("--backend", "tensorrt").exit_code == 2
    assert invoke("--dtype", "int4").exit_code == 2
