"""ONNX Runtime backend: an exported SMPLer-X graph (`backends.onnx_export`) on the CPU, or on an NVIDIA GPU
through the CUDA or TensorRT execution provider when the installed onnxruntime has them. No torch needed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import onnxruntime

from mocap_app.core.errors import ConfigError, DependencyError, ModelFileError
from mocap_app.models.layout import INPUT_IMG_HW, INPUT_NAME, OUTPUT_NAMES

from .base import BackendInfo

logger = logging.getLogger(__name__)

CPU, CUDA, TENSORRT_EP = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
# device word → providers in order of preference (ONNX Runtime falls back along the list per node).
DEVICE_PROVIDERS = {"cpu": (CPU,), "cuda": (CUDA, CPU), "tensorrt": (TENSORRT_EP, CUDA, CPU)}
# precision → devices that run it: fp32/int8 are graphs of their own; fp16 is the TensorRT EP's build flag.
PRECISION_DEVICES = {"fp32": ("cpu", "cuda", "tensorrt"), "int8": ("cpu",), "fp16": ("tensorrt",)}


def best_device(precision: str = "fp32") -> str:
    """The fastest device word the installed onnxruntime offers for `precision` (TensorRT EP > CUDA > CPU)."""
    available = set(onnxruntime.get_available_providers())
    for device in ("tensorrt", "cuda", "cpu"):
        if DEVICE_PROVIDERS[device][0] in available and device in PRECISION_DEVICES.get(precision, ()):
            return device
    return "cpu"


class OnnxRuntimeBackend:
    """One InferenceSession over an exported graph.

    path: the .onnx file. size: the SMPLer-X size it holds (from its sidecar). precision: fp32, int8 (a quantised
    graph) or fp16 (TensorRT EP only). device: "auto" (`best_device`), "cpu", "cuda" or "tensorrt" (the TensorRT EP,
    whose engines it caches in `trt_cache_dir`). batch_max: the largest batch the graph was exported for.
    threads: intra-op threads (None: one per core).
    """

    name: ClassVar[str] = "onnxruntime"
    suffixes: ClassVar[tuple[str, ...]] = (".onnx",)

    def __init__(self, path: Path, size: str, precision: str = "fp32", device: str = "auto", batch_max: int = 8,
                 threads: int | None = None, trt_cache_dir: Path | None = None) -> None:
        if precision not in PRECISION_DEVICES:
            raise ConfigError(f"The onnxruntime backend does not run precision {precision!r}.",
                              f"Use one of: {', '.join(PRECISION_DEVICES)} (bf16: --backend torch).")
        device = best_device(precision) if device == "auto" else device
        if device not in DEVICE_PROVIDERS:
            raise ConfigError(f"Unknown onnxruntime device {device!r}.",
                              f"Use one of: auto, {', '.join(DEVICE_PROVIDERS)}.")
        if device not in PRECISION_DEVICES[precision]:
            raise ConfigError(f"onnxruntime runs {precision} only on {', '.join(PRECISION_DEVICES[precision])}, "
                              f"not on {device}.", "Choose another precision or device.")
        wanted = DEVICE_PROVIDERS[device][0]
        if wanted not in onnxruntime.get_available_providers():
            raise DependencyError(f"This onnxruntime ({onnxruntime.__version__}) has no {wanted}.",
                                  "Install onnxruntime-gpu (with CUDA/cuDNN, and TensorRT for its provider) on a "
                                  "machine with an NVIDIA GPU, or use device cpu.")
        self.path = Path(path)
        self.size = size
        self.precision = precision
        self.device = device
        self.batch_max = batch_max
        self.output_names = OUTPUT_NAMES
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        try:
            self._session: onnxruntime.InferenceSession | None = onnxruntime.InferenceSession(
                str(self.path), options, providers=self._providers(device, trt_cache_dir))
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise ModelFileError(f"ONNX Runtime cannot load {self.path.name}: {str(exc).splitlines()[0][:200]}",
                                 "Rebuild it: python main.py build-engine --format onnx (the old file is replaced).") \
                from exc
        names = {output.name for output in self._session.get_outputs()}
        if names != set(OUTPUT_NAMES) or [i.name for i in self._session.get_inputs()] != [INPUT_NAME]:
            raise ModelFileError(f"{self.path.name} is not a SMPLer-X graph of this app (outputs {sorted(names)}).",
                                 "Rebuild it with python main.py build-engine --format onnx.")

    def _providers(self, device: str, trt_cache_dir: Path | None) -> list:
        providers: list = []
        for provider in DEVICE_PROVIDERS[device]:
            if provider == TENSORRT_EP:
                options = {"trt_fp16_enable": self.precision == "fp16", "trt_engine_cache_enable": True,
                           "trt_engine_cache_path": str(trt_cache_dir or self.path.parent),
                           "trt_profile_min_shapes": f"{INPUT_NAME}:1x3x{INPUT_IMG_HW[0]}x{INPUT_IMG_HW[1]}",
                           "trt_profile_opt_shapes": f"{INPUT_NAME}:1x3x{INPUT_IMG_HW[0]}x{INPUT_IMG_HW[1]}",
                           "trt_profile_max_shapes": f"{INPUT_NAME}:{self.batch_max}x3x{INPUT_IMG_HW[0]}x"
                                                     f"{INPUT_IMG_HW[1]}"}
                providers.append((provider, options))
            else:
                providers.append(provider)
        return providers

    @property
    def session(self) -> onnxruntime.InferenceSession:
        if self._session is None:
            raise RuntimeError("this OnnxRuntimeBackend was closed")
        return self._session

    def describe(self) -> BackendInfo:
        providers = ", ".join(self.session.get_providers())
        return BackendInfo(self.name, self.device, self.precision, (self.batch_max, 3, *INPUT_IMG_HW), self.size,
                           f"onnxruntime {onnxruntime.__version__}: {providers}; {self.path.name}")

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        chunks = [self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch[start:start + self.batch_max]})
                  for start in range(0, batch.shape[0], self.batch_max)]  # the graph's batch axis ends at batch_max
        return {name: np.concatenate([chunk[i] for chunk in chunks]).astype(np.float32, copy=False)
                for i, name in enumerate(OUTPUT_NAMES)}

    def warmup(self) -> None:
        self(np.zeros((1, 3, *INPUT_IMG_HW), dtype=np.float32))

    def close(self) -> None:
        self._session = None
