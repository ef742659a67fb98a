"""The interface every inference backend implements.

A backend runs one network on a batch of pre-processed crops and returns its named outputs as numpy arrays;
it knows nothing about images, boxes or SMPL-X. Estimators own pre- and post-processing (decoding stays fp32 and
numpy, `models.layout.decode_outputs`), so every runtime only has to produce the same named outputs from the same
input batch. Backend modules import their runtime (torch, onnxruntime, tensorrt) at module level; the table in
`backends.registry` imports a module only when its backend is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

PRECISIONS = ("fp32", "bf16", "fp16", "int8")
Progress = Callable[[str], None]  # receives one line per build step (exports and engine builds take a while)


@dataclass(frozen=True)
class BackendInfo:
    """What a loaded backend runs, for logs, `doctor`, the status bar and benchmarks.

    name: table name ("torch", "onnxruntime", "tensorrt"). device: where it computes ("cpu", "cuda:0",
    "CUDAExecutionProvider", ...). precision: one of PRECISIONS. input_shape: (N, 3, H, W) with N the largest batch
    the backend accepts (-1: any). size: the SMPLer-X size ("s", "b", "l", "h"; "tiny" in tests).
    detail: one line on how it runs (providers, engine file, compile mode).
    """

    name: str
    device: str
    precision: str
    input_shape: tuple[int, int, int, int]
    size: str
    detail: str = ""

    def line(self) -> str:
        text = f"{self.name} {self.precision} on {self.device}, input {'x'.join(map(str, self.input_shape))}"
        return f"{text} ({self.detail})" if self.detail else text


@runtime_checkable
class InferenceBackend(Protocol):
    """name: the backend's table name. suffixes: model files it opens. precision: one of PRECISIONS.
    output_names: keys of every result. size: the SMPLer-X size the model holds."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    precision: str
    output_names: tuple[str, ...]
    size: str

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """batch: (N, 3, H, W) float32 → {output name: float32 array with leading dimension N}."""
        ...

    def describe(self) -> BackendInfo:
        """Name, device, precision and input shape of what runs."""
        ...

    def warmup(self) -> None:
        """Run once on a dummy batch so the first real frame does not pay for lazy initialisation."""
        ...

    def close(self) -> None:
        """Release the model and any runtime resources; the backend is unusable afterwards."""
        ...
