"""PyTorch backend: runs an `nn.Module` eagerly, fp32 or with bf16/fp16 autocast."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mocap_app.core.errors import ConfigError
from mocap_app.models.smplerx import INPUT_IMG_HW, OUTPUT_NAMES

from .base import PRECISIONS
from .checkpoint import load_checkpoint

logger = logging.getLogger(__name__)


class TorchBackend:
    """Runs a network that maps an (N, 3, H, W) batch to a dict of tensors.

    Reduced precision uses autocast, so weights stay fp32 and numerically sensitive ops stay in fp32;
    outputs are always returned as float32 numpy arrays.
    """

    name: ClassVar[str] = "torch"
    suffixes: ClassVar[tuple[str, ...]] = (".pth.tar", ".pth", ".pt")

    def __init__(self, model: nn.Module, device: str = "cpu", precision: str = "fp32",
                 output_names: tuple[str, ...] = OUTPUT_NAMES,
                 input_hw: tuple[int, int] = INPUT_IMG_HW) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"Unknown precision {precision!r}.", f"Use one of: {', '.join(PRECISIONS)}.")
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("The torch backend was asked for a CUDA device, but torch sees no GPU.",
                              "Use device 'cpu', or install a CUDA build of torch on a machine with a GPU.")
        self.precision = precision
        self.output_names = tuple(output_names)
        self.input_hw = input_hw
        self._model: nn.Module | None = model.to(self.device).eval()

    @classmethod
    def from_checkpoint(cls, path: Path, device: str = "cpu", precision: str = "fp32") -> TorchBackend:
        """Load an official SMPLer-X checkpoint (raises ModelFileError for a bad file)."""
        return cls(load_checkpoint(Path(path)), device=device, precision=precision)

    @property
    def size(self) -> str:
        return self.model.config.name

    @property
    def model(self) -> nn.Module:
        if self._model is None:
            raise RuntimeError("this TorchBackend was closed")
        return self._model

    def _autocast(self) -> torch.autocast:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        with torch.inference_mode(), self._autocast():
            outputs = self.model(inputs)
        return {name: outputs[name].float().cpu().numpy() for name in self.output_names}

    def warmup(self) -> None:
        self(np.zeros((1, 3, *self.input_hw), dtype=np.float32))

    def close(self) -> None:
        self._model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
