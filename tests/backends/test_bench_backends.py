"""`bench model --backend onnxruntime` with the built tiny graph: fp32 and int8 side by side (the torch rows are
covered by tests/cli/test_bench_model.py)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mocap_app.cli.app import app


def test_fp32_and_int8_graphs_side_by_side_with_int8s_accuracy_cost(tiny_checkpoint, engines_copy, tmp_path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "model", "--checkpoint", str(tiny_checkpoint), "--backend", "onnxruntime", "--engines",
            str(engines_copy), "--precision", "fp32", "--precision", "int8", "--rounds", "1", "--iterations", "1",
            "--warmup", "0", "--json", str(out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    rows = figures["results"]
    assert set(rows) == {"onnxruntime fp32", "onnxruntime int8"} and figures["reference"] == "onnxruntime fp32"
    assert rows["onnxruntime fp32"]["angle_err_max_deg"] == 0 < rows["onnxruntime int8"]["angle_err_mean_deg"]
    assert "CPUExecutionProvider" in rows["onnxruntime int8"]["describe"]
