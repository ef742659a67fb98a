"""The backends table: name → where the class lives and which model files it opens.

Classes are imported only when chosen, so asking which backend opens a file never imports a runtime
(torch, onnxruntime, tensorrt) that the user may not have.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from mocap_app.core.errors import UnsupportedFormatError

from .base import InferenceBackend


@dataclass(frozen=True)
class BackendEntry:
    """name: table key. module, cls: where the class is. suffixes: model-file suffixes it opens (lowercase)."""

    name: str
    module: str
    cls: str
    suffixes: tuple[str, ...]

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.cls)


BACKENDS: dict[str, BackendEntry] = {
    "torch": BackendEntry("torch", "mocap_app.backends.torch_backend", "TorchBackend", (".pth.tar", ".pth", ".pt")),
}


def backend_for_file(path: Path) -> BackendEntry:
    """The table entry whose suffix `path` ends with."""
    name = Path(path).name.lower()
    for entry in BACKENDS.values():
        if name.endswith(entry.suffixes):
            return entry
    table = "; ".join(f"{entry.name}: {', '.join(entry.suffixes)}" for entry in BACKENDS.values())
    raise UnsupportedFormatError(f"No inference backend opens {Path(path).name}.",
                                 f"Model files each backend opens — {table}.")


def load_backend(path: Path, backend: str = "auto", device: str = "cpu", precision: str = "fp32") -> InferenceBackend:
    """Open a model file with `backend` ("auto": the one its suffix names); errors in the file raise
    ModelFileError, a backend that does not exist or does not open such files UnsupportedFormatError."""
    if backend == "auto":
        entry = backend_for_file(path)
    elif backend not in BACKENDS:
        raise UnsupportedFormatError(f"There is no inference backend named '{backend}'.",
                                     f"Choose one of: auto, {', '.join(BACKENDS)}.")
    else:
        entry = BACKENDS[backend]
        if not Path(path).name.lower().endswith(entry.suffixes):
            raise UnsupportedFormatError(f"The {backend} backend does not open {Path(path).name}.",
                                         f"It opens {', '.join(entry.suffixes)} files; use backend auto.")
    return entry.load().from_checkpoint(Path(path), device=device, precision=precision)
