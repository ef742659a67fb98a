"""SMPLer-X → ONNX (the whole network: ViT, heads, BoxNet and both hand RoI crops) and its int8 variant.

The graph comes from torch's dynamo exporter (opset 18; the TorchScript exporter mis-traces the hand path) with
a dynamic batch axis and the fixed-grid RoI-align (`models.smplerx.use_fixed_roi_grid`). int8 is ONNX Runtime's
dynamic quantisation: weights of the MatMul/Gemm layers stored as int8, activations quantised per call.
Exporting needs torch, `onnx` and `onnxscript` (build time only; running an exported graph needs onnxruntime alone).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import time
from pathlib import Path

import torch
from torch import nn

from mocap_app.core.errors import DependencyError
from mocap_app.models.layout import INPUT_IMG_HW, INPUT_NAME, OUTPUT_NAMES
from mocap_app.models.smplerx import use_fixed_roi_grid

from .artifacts import OPSET
from .base import Progress

logger = logging.getLogger(__name__)

# protobuf's 2 GB limit: bigger networks (H, 2.6 GB of fp32 weights) keep their weights in `<name>.onnx.data`.
SINGLE_FILE_LIMIT_BYTES = 1_800_000_000
# Conv is left in fp32: ONNX Runtime's ConvInteger made SMPLer-X-S slower than fp32 (449 vs 460 ms, MatMul/Gemm
# alone 280 ms, 2-core Zen 4, same run), and the ViT's FLOPs are in its matmuls.
QUANTIZED_OPS = ("MatMul", "Gemm")


def require_export_tools() -> None:
    """DependencyError unless the packages the exporter needs are installed."""
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise DependencyError(f"Exporting SMPLer-X to ONNX needs {' and '.join(missing)}, which is not installed.",
                              f"pip install {' '.join(missing)} (building engines needs it; running them does not).")


class _OutputTuple(nn.Module):
    """The network with its outputs as a tuple in `OUTPUT_NAMES` order (what an ONNX graph lists)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(img)
        return tuple(outputs[name] for name in OUTPUT_NAMES)


def _weights_bytes(model: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))


def export_onnx(model: nn.Module, path: Path, batch_max: int, progress: Progress = logger.info) -> Path:
    """Write `model` (fp32, eval) as an ONNX graph taking `INPUT_NAME` (N, 3, 512, 384), 1 ≤ N ≤ batch_max, to
    `path` (plus `path`.data for networks over 1.8 GB). The model's RoI grid is fixed during the export only."""
    require_export_tools()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    roi = getattr(model, "hand_roi_net", None)
    previous = getattr(roi, "roi_samples", None)
    use_fixed_roi_grid(model)
    example = torch.rand(min(2, batch_max), 3, *INPUT_IMG_HW, generator=torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1, max=batch_max)
    start = time.perf_counter()
    progress(f"exporting the graph (torch {torch.__version__}, opset {OPSET}) …")
    try:
        log = io.StringIO()  # the exporter prints its own step lines; keep them for the debug log
        with contextlib.redirect_stdout(log), torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(_OutputTuple(model.float()).eval(), (example,), str(path), input_names=[INPUT_NAME],
                              output_names=list(OUTPUT_NAMES), dynamic_shapes=({0: batch},), dynamo=True,
                              opset_version=OPSET, external_data=_weights_bytes(model) > SINGLE_FILE_LIMIT_BYTES)
        logger.debug("exporter output:\n%s", log.getvalue())
    finally:
        if roi is not None:
            roi.roi_samples = previous
    progress(f"exported in {time.perf_counter() - start:.1f} s → {path.name} "
             f"({path.stat().st_size / 1e6:.1f} MB)")
    return path


def quantize_int8(source: Path, target: Path, progress: Progress = logger.info) -> Path:
    """ONNX Runtime dynamic int8 quantisation of `source`'s weight MatMul/Gemm/Conv layers → `target`."""
    require_export_tools()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    start = time.perf_counter()
    progress(f"quantising {', '.join(QUANTIZED_OPS)} weights to int8 …")
    root = logging.getLogger()
    level = root.level
    if level > logging.DEBUG:  # the quantiser logs a line per tensor on the root logger; kept with --verbose only
        root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                         op_types_to_quantize=list(QUANTIZED_OPS),
                         use_external_data_format=Path(f"{source}.data").is_file())
    finally:
        root.setLevel(level)
    progress(f"quantised in {time.perf_counter() - start:.1f} s → {target.name} ({target.stat().st_size / 1e6:.1f} MB)")
    return target
