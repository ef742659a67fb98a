"""PyTorch backend: runs an `nn.Module` eagerly (or through torch.compile), fp32 or with bf16/fp16 autocast, on the
CPU or a CUDA GPU (optionally replayed as a CUDA graph)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mocap_app.core.errors import ConfigError
from mocap_app.models.layout import INPUT_IMG_HW, OUTPUT_NAMES
from mocap_app.models.smplerx import use_fixed_roi_grid

from .base import BackendInfo
from .checkpoint import load_checkpoint

logger = logging.getLogger(__name__)

TORCH_PRECISIONS = ("fp32", "bf16", "fp16")  # int8 is ONNX Runtime's (dynamic quantisation of the graph)


def default_device() -> str:
    """"cuda" when torch sees a GPU, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


class TorchBackend:
    """Runs a network that maps an (N, 3, H, W) batch to a dict of tensors.

    device: "cpu", "cuda", "cuda:N" or "auto" (a CUDA GPU when torch sees one; `from_checkpoint`'s default). The
    module is moved there in place. Reduced precision uses autocast, so
    weights stay fp32 and numerically sensitive ops stay in fp32; fp16 only on CUDA (CPUs have no fast fp16 path).
    compile: run through torch.compile (inductor), compiled on the first call of each batch size.
    cuda_graph_batch: on CUDA, capture one forward of this batch size as a CUDA graph and replay it for batches of
    that size (no per-kernel launch cost); other sizes run normally.
    Outputs are always float32 numpy arrays.
    """

    name: ClassVar[str] = "torch"
    suffixes: ClassVar[tuple[str, ...]] = (".pth.tar", ".pth", ".pt")

    def __init__(self, model: nn.Module, device: str = "cpu", precision: str = "fp32",
                 output_names: tuple[str, ...] = OUTPUT_NAMES, input_hw: tuple[int, int] = INPUT_IMG_HW,
                 compile: bool = False, cuda_graph_batch: int | None = None) -> None:
        if precision not in TORCH_PRECISIONS:
            raise ConfigError(f"The torch backend does not run precision {precision!r}.",
                              f"Use one of: {', '.join(TORCH_PRECISIONS)} (int8: --backend onnxruntime).")
        self.device = torch.device(default_device() if device == "auto" else device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("The torch backend was asked for a CUDA device, but torch sees no GPU.",
                              "Use device 'cpu', or install a CUDA build of torch on a machine with a GPU.")
        if precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("fp16 with the torch backend needs a CUDA GPU.", "Use bf16 or fp32 on the CPU.")
        self.precision = precision
        self.output_names = tuple(output_names)
        self.input_hw = input_hw
        self.compiled = compile
        self._model: nn.Module | None = model.to(self.device).eval()
        if compile or cuda_graph_batch is not None:
            use_fixed_roi_grid(self._model)  # the official RoI grid is sized on the host: no graph can hold it
        self._forward = torch.compile(self._model) if compile else self._model
        self._graph: _CudaGraph | None = None
        if cuda_graph_batch is not None:
            if self.device.type != "cuda":
                raise ConfigError("CUDA graphs need the torch backend on a CUDA device.", "Drop the CUDA graph option.")
            self._graph = _CudaGraph(self._run, cuda_graph_batch, input_hw, self.device)

    @classmethod
    def from_checkpoint(cls, path: Path, device: str = "auto", precision: str = "fp32", **options: object
                        ) -> TorchBackend:
        """Load an official SMPLer-X checkpoint (raises ModelFileError for a bad file)."""
        return cls(load_checkpoint(Path(path)), device=device, precision=precision, **options)  # type: ignore[arg-type]

    @property
    def size(self) -> str:
        return self.model.config.name

    @property
    def model(self) -> nn.Module:
        if self._model is None:
            raise RuntimeError("this TorchBackend was closed")
        return self._model

    def describe(self) -> BackendInfo:
        if self.device.type == "cuda":
            device = f"{self.device} ({torch.cuda.get_device_name(self.device)})"
        else:
            device = f"cpu ({torch.get_num_threads()} threads)"
        how = ["torch.compile" if self.compiled else "eager"]
        if self._graph is not None:
            how.append(f"CUDA graph at batch {self._graph.batch}")
        return BackendInfo(self.name, device, self.precision, (-1, 3, *self.input_hw), self.size, ", ".join(how))

    def _autocast(self) -> torch.autocast:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def _run(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.inference_mode(), self._autocast():
            outputs = self._forward(inputs)
        return {name: outputs[name].float() for name in self.output_names}

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self._graph is not None and inputs.shape[0] == self._graph.batch:
            outputs = self._graph(inputs)
        else:
            outputs = self._run(inputs)
        return {name: value.cpu().numpy() for name, value in outputs.items()}

    def warmup(self) -> None:
        self(np.zeros((1, 3, *self.input_hw), dtype=np.float32))

    def close(self) -> None:
        self._model = None
        self._forward = None
        self._graph = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


class _CudaGraph:
    """One forward of a fixed batch size captured as a CUDA graph (torch.cuda.CUDAGraph): inputs are copied into a
    static buffer and the graph replayed; the outputs are the graph's static tensors (copied out by the caller)."""

    def __init__(self, run, batch: int, input_hw: tuple[int, int], device: torch.device) -> None:
        self.batch = batch
        self.static_input = torch.zeros((batch, 3, *input_hw), device=device)
        stream = torch.cuda.Stream(device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):  # warm-up on a side stream, as the capture rules require
            for _ in range(3):
                run(self.static_input)
        torch.cuda.current_stream(device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_output = run(self.static_input)

    def __call__(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        self.static_input.copy_(inputs)
        self.graph.replay()
        return self.static_output
