"""What inference runtimes this machine has — for `doctor`. Imports optional runtimes defensively."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeInfo:
    """name: runtime; version: installed version or None; available: usable here;
    detail: providers/devices, or why it is not usable."""

    name: str
    version: str | None
    available: bool
    detail: str


def torch_info() -> RuntimeInfo:
    try:
        import torch
    except ImportError as exc:
        return RuntimeInfo("torch", None, False, f"not installed ({exc})")
    if torch.cuda.is_available():
        devices = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        detail = f"CUDA {torch.version.cuda}: {devices}"
    else:
        detail = f"CPU only ({torch.get_num_threads()} threads); no CUDA GPU"
    return RuntimeInfo("torch", torch.__version__, True, detail)


def onnxruntime_info() -> RuntimeInfo:
    try:
        import onnxruntime
    except ImportError as exc:
        return RuntimeInfo("onnxruntime", None, False, f"not installed ({exc})")
    providers = ", ".join(onnxruntime.get_available_providers())
    return RuntimeInfo("onnxruntime", onnxruntime.__version__, True, f"providers: {providers}")


def tensorrt_info() -> RuntimeInfo:
    try:
        version = importlib.metadata.version("tensorrt")
    except importlib.metadata.PackageNotFoundError:
        version = None
    try:
        import tensorrt
    except (ImportError, OSError) as exc:  # a bindings-only install fails on its missing shared libraries
        detail = "not installed" if version is None else f"installed but does not load: {exc}"
        return RuntimeInfo("tensorrt", version, False, detail)
    return RuntimeInfo("tensorrt", tensorrt.__version__, True, "loads")
