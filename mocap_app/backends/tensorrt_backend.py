"""TensorRT backend: an engine built from our ONNX graph with the TensorRT Python API (10.x/11.x), cached in
`engines/` with a sidecar key (checkpoint hash, precision, batch range, TensorRT version, GPU name and compute
capability), and run with `execute_async_v3` on torch-allocated CUDA buffers.

TensorRT's libraries come from NVIDIA's package index, not PyPI alone (README "GPUs"); `import tensorrt` happens
only when this module is imported, i.e. when the backend is chosen. Version differences are decided once, at load.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import tensorrt as trt
import torch

from mocap_app.core.errors import ConfigError, DependencyError
from mocap_app.models.layout import INPUT_IMG_HW, INPUT_NAME, OUTPUT_NAMES

from .artifacts import EngineMismatchError
from .base import BackendInfo

logger = logging.getLogger(__name__)

TRT_PRECISIONS = ("fp32", "fp16", "bf16")  # int8 would need a calibration set: ONNX Runtime's int8 runs on the CPU
WORKSPACE_BYTES = 4 << 30


def gpu_identity(device: int = 0) -> str:
    """'<GPU name> sm_<major><minor>': what an engine is specific to besides the TensorRT version."""
    if not torch.cuda.is_available():
        raise DependencyError("TensorRT needs an NVIDIA GPU, and torch sees none.",
                              "Use --backend onnxruntime or torch on this machine.")
    major, minor = torch.cuda.get_device_capability(device)
    return f"{torch.cuda.get_device_name(device)} sm_{major}{minor}"


def runtime_version() -> str:
    return f"tensorrt {trt.__version__}"


class _Progress(trt.IProgressMonitor):
    """Forwards TensorRT's build phases (top level only) to a progress callback."""

    def __init__(self, progress) -> None:
        trt.IProgressMonitor.__init__(self)
        self.progress = progress

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        if parent_phase is None:
            self.progress(f"TensorRT: {phase_name} ({num_steps} steps) …")

    def step_complete(self, phase_name: str, step: int) -> bool:
        return True  # False would cancel the build

    def phase_finish(self, phase_name: str) -> None:
        pass


def build_engine(onnx_path: Path, engine_path: Path, precision: str, batch_min: int, batch_opt: int, batch_max: int,
                 progress=logger.info) -> Path:
    """Parse `onnx_path` into a TensorRT network, build it for `precision` with one optimisation profile over the
    batch range, and write the serialized engine to `engine_path`. Raises EngineMismatchError when the parser or
    the builder refuses (their messages included)."""
    if precision not in TRT_PRECISIONS:
        raise ConfigError(f"TensorRT engines are built here in {', '.join(TRT_PRECISIONS)}, not {precision}.",
                          "int8 runs on the CPU: --backend onnxruntime --precision int8.")
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network = builder.create_network(0)  # TensorRT 10+: networks are always explicit-batch
    parser = trt.OnnxParser(network, trt_logger)
    progress(f"TensorRT {trt.__version__}: parsing {onnx_path.name} …")
    if not parser.parse_from_file(str(onnx_path)):  # from the file: external weights (.onnx.data) are found
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineMismatchError(f"TensorRT cannot parse {onnx_path.name}: {errors[:500]}",
                                  "Rebuild the ONNX graph (python main.py build-engine --format onnx), or report it.")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "bf16":
        config.set_flag(trt.BuilderFlag.BF16)
    profile = builder.create_optimization_profile()
    shape = (3, *INPUT_IMG_HW)
    profile.set_shape(INPUT_NAME, (batch_min, *shape), (batch_opt, *shape), (batch_max, *shape))
    config.add_optimization_profile(profile)
    monitor = _Progress(progress)  # held here for the whole build: the builder calls it from C++
    config.progress_monitor = monitor
    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineMismatchError(f"TensorRT could not build an engine from {onnx_path.name} ({precision}).",
                                  "Run with --verbose for TensorRT's log.")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = engine_path.with_name(f".{engine_path.name}.tmp")
    temporary.write_bytes(memoryview(serialized))
    temporary.replace(engine_path)
    progress(f"TensorRT engine built in {time.perf_counter() - start:.0f} s → {engine_path.name} "
             f"({engine_path.stat().st_size / 1e6:.0f} MB)")
    return engine_path


_TORCH_DTYPES = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
                 trt.int64: torch.int64, trt.bfloat16: torch.bfloat16}


class TensorRTBackend:
    """A deserialized engine and one execution context on CUDA device 0, with input and output buffers allocated
    by torch for the engine's largest batch.

    path: the .engine file (its sidecar checked by the caller, `backends.registry`). size, precision: from the
    sidecar. batch_max: the optimisation profile's largest batch; bigger batches run in chunks.
    """

    name: ClassVar[str] = "tensorrt"
    suffixes: ClassVar[tuple[str, ...]] = (".engine",)

    def __init__(self, path: Path, size: str, precision: str, batch_max: int) -> None:
        self.path = Path(path)
        self.size = size
        self.precision = precision
        self.batch_max = batch_max
        self.output_names = OUTPUT_NAMES
        self.device = torch.device("cuda", 0)
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if engine is None:  # a corrupt file, or one built by another TensorRT version
            raise EngineMismatchError(f"TensorRT {trt.__version__} cannot deserialize {self.path.name}.",
                                      "It is rebuilt (python main.py build-engine --format tensorrt).")
        self._engine = engine
        self._context = engine.create_execution_context()
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        if sorted(names) != sorted((INPUT_NAME, *OUTPUT_NAMES)):
            raise EngineMismatchError(f"{self.path.name} has tensors {names}, not SMPLer-X's.", "It is rebuilt.")
        self._stream = torch.cuda.Stream(self.device)
        self._input = torch.zeros((batch_max, 3, *INPUT_IMG_HW), dtype=torch.float32, device=self.device)
        self._context.set_input_shape(INPUT_NAME, tuple(self._input.shape))
        self._outputs: dict[str, torch.Tensor] = {}
        for name in OUTPUT_NAMES:  # shapes at the largest batch: every smaller batch fits in the same buffer
            shape = tuple(self._context.get_tensor_shape(name))
            self._outputs[name] = torch.empty(shape, dtype=_TORCH_DTYPES[engine.get_tensor_dtype(name)],
                                              device=self.device)

    def describe(self) -> BackendInfo:
        return BackendInfo(self.name, f"cuda:0 ({torch.cuda.get_device_name(0)})", self.precision,
                           (self.batch_max, 3, *INPUT_IMG_HW), self.size,
                           f"TensorRT {trt.__version__}; {self.path.name}")

    def _run(self, batch: torch.Tensor) -> dict[str, np.ndarray]:
        count = batch.shape[0]
        self._input[:count].copy_(batch, non_blocking=True)
        self._context.set_input_shape(INPUT_NAME, (count, 3, *INPUT_IMG_HW))
        self._context.set_tensor_address(INPUT_NAME, self._input.data_ptr())
        for name, buffer in self._outputs.items():
            self._context.set_tensor_address(name, buffer.data_ptr())
        self._stream.wait_stream(torch.cuda.current_stream(self.device))
        if not self._context.execute_async_v3(self._stream.cuda_stream):
            raise RuntimeError(f"TensorRT execution of {self.path.name} failed")
        self._stream.synchronize()
        # Outputs are packed for the current batch: the first count x (per-sample size) values of each buffer.
        return {name: buffer.flatten()[:count * (buffer.numel() // self.batch_max)]
                .view(count, *buffer.shape[1:]).float().cpu().numpy() for name, buffer in self._outputs.items()}

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).pin_memory()
        chunks = [self._run(inputs[start:start + self.batch_max]) for start in range(0, len(inputs), self.batch_max)]
        return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in OUTPUT_NAMES}

    def warmup(self) -> None:
        self(np.zeros((1, 3, *INPUT_IMG_HW), dtype=np.float32))

    def close(self) -> None:
        self._context = None
        self._engine = None
        self._outputs = {}
