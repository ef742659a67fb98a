"""The backends table and the one place a backend is chosen: name → where the class lives, which model files it
opens, what it needs installed; `load_backend` opens a checkpoint (or a built artifact) with the backend asked for,
and "auto" walks the candidates in order of speed, falling back past each one that cannot run here.

Classes are imported only when chosen, so asking which backend opens a file never imports a runtime (torch,
onnxruntime, tensorrt) that the user may not have.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from mocap_app.core.errors import DependencyError, MocapError, ModelFileError, UnsupportedFormatError

from .artifacts import ArtifactKey, EngineMismatchError, engines_home, read_sidecar
from .base import PRECISIONS, InferenceBackend, Progress
from .build import BuildSpec, ensure_artifact, find_artifact

logger = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pth.tar", ".pth", ".pt")


@dataclass(frozen=True)
class BackendEntry:
    """name: table key. module, cls: where the class is. suffixes: model-file suffixes it opens (lowercase).
    requires: importable packages it needs. install_hint: what to do when one is missing."""

    name: str
    module: str
    cls: str
    suffixes: tuple[str, ...]
    requires: tuple[str, ...]
    install_hint: str

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.cls)

    def missing(self) -> list[str]:
        """Required packages that are not installed (found without importing them)."""
        return [name for name in self.requires if not _installed(name)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken or blocked package counts as absent
        return False


BACKENDS: dict[str, BackendEntry] = {
    "torch": BackendEntry("torch", "mocap_app.backends.torch_backend", "TorchBackend", CHECKPOINT_SUFFIXES,
                          ("torch",), "pip install torch (requirements.txt)."),
    "onnxruntime": BackendEntry("onnxruntime", "mocap_app.backends.onnxruntime_backend", "OnnxRuntimeBackend",
                                (".onnx",), ("onnxruntime",),
                                "pip install onnxruntime (or onnxruntime-gpu on an NVIDIA machine)."),
    "tensorrt": BackendEntry("tensorrt", "mocap_app.backends.tensorrt_backend", "TensorRTBackend", (".engine",),
                             ("tensorrt", "torch"),
                             "On a machine with an NVIDIA GPU: pip install -r requirements-gpu.txt "
                             "--extra-index-url https://pypi.nvidia.com (README, GPUs)."),
}
BACKEND_CHOICES = ("auto", *BACKENDS)


def backend_for_file(path: Path) -> BackendEntry:
    """The table entry whose suffix `path` ends with."""
    name = Path(path).name.lower()
    for entry in BACKENDS.values():
        if name.endswith(entry.suffixes):
            return entry
    table = "; ".join(f"{entry.name}: {', '.join(entry.suffixes)}" for entry in BACKENDS.values())
    raise UnsupportedFormatError(f"No inference backend opens {Path(path).name}.",
                                 f"Model files each backend opens — {table}.")


def cuda_available() -> bool:
    """Whether torch (when installed) sees a CUDA GPU; without torch only ONNX Runtime's own providers can tell."""
    if not _installed("torch"):
        return False
    import torch

    return torch.cuda.is_available()


def require(entry: BackendEntry) -> None:
    """DependencyError naming what to install when `entry` cannot run here."""
    missing = entry.missing()
    if missing:
        raise DependencyError(f"The {entry.name} backend needs {', '.join(missing)}, which is not installed.",
                              entry.install_hint)
    if entry.name == "tensorrt":
        try:
            importlib.import_module("tensorrt")
        except (ImportError, OSError) as exc:  # the bindings wheel alone fails on its missing libraries
            raise DependencyError(f"tensorrt is installed but does not load ({str(exc).splitlines()[0]}).",
                                  entry.install_hint) from exc
        if not cuda_available():
            raise DependencyError("The tensorrt backend needs an NVIDIA GPU, and none is visible.",
                                  "Use --backend onnxruntime or torch here.")


def default_precision(backend: str = "auto") -> str:
    """What precision "auto" means for `backend`: fp16 where an NVIDIA GPU runs it (torch, TensorRT), else fp32."""
    return "fp16" if backend in ("auto", "torch", "tensorrt") and cuda_available() else "fp32"


@dataclass(frozen=True)
class Choice:
    """One way to run: backend name, device word ("auto", "cpu", "cuda", "tensorrt" for ORT's TensorRT EP), precision
    and why it was picked (shown by logs, doctor and the status bar)."""

    backend: str
    device: str
    precision: str
    reason: str


def candidates(backend: str, device: str, precision: str, has_cpu_graph: bool) -> list[Choice]:
    """The ways to try, best first. Explicit choices give one candidate; "auto" = TensorRT when a GPU and tensorrt
    are present, else ONNX Runtime's CUDA provider or torch CUDA (fp16 unless a precision is asked for), else on
    the CPU: int8 → ONNX Runtime; bf16 → torch; fp32 → ONNX Runtime when the graph is already built, else torch (a
    first run does not stop for an export; `build-engine --format onnx` makes one). Why ONNX Runtime first: `bench
    model`, SMPLer-X-S on a shared 2-core Zen 4, measured it 2.4-3.5x torch eager at 2 threads (torch's parallel
    regions suffer most from other processes) and equal at 1 thread (349 vs 370 ms)."""
    if backend not in BACKEND_CHOICES:
        raise UnsupportedFormatError(f"There is no inference backend named '{backend}'.",
                                     f"Choose one of: {', '.join(BACKEND_CHOICES)}.")
    if precision not in ("auto", *PRECISIONS):
        raise UnsupportedFormatError(f"There is no precision named '{precision}'.",
                                     f"Choose one of: auto, {', '.join(PRECISIONS)}.")
    gpu = cuda_available() and device in ("auto", "cuda")
    if backend != "auto":
        if precision == "auto":
            precision = default_precision(backend) if gpu else "fp32"
        return [Choice(backend, device, precision, "asked for")]
    choices = []
    if gpu:
        gpu_precision = "fp16" if precision == "auto" else precision
        if not BACKENDS["tensorrt"].missing() and gpu_precision in ("fp32", "fp16", "bf16"):
            choices.append(Choice("tensorrt", "cuda", gpu_precision, "NVIDIA GPU and TensorRT present"))
        if not BACKENDS["onnxruntime"].missing() and gpu_precision == "fp32":
            choices.append(Choice("onnxruntime", "cuda", "fp32", "NVIDIA GPU, ONNX Runtime CUDA provider"))
        if gpu_precision in ("fp32", "fp16", "bf16"):
            choices.append(Choice("torch", "cuda", gpu_precision, "NVIDIA GPU, torch CUDA"))
    cpu_precision = "fp32" if precision in ("auto", "fp16") else precision
    if cpu_precision == "int8":
        choices.append(Choice("onnxruntime", "cpu", "int8", "int8 runs on ONNX Runtime"))
    elif cpu_precision == "bf16":
        choices.append(Choice("torch", "cpu", "bf16", "bf16 runs on torch (AMX/AVX-512 bf16 where present)"))
    elif has_cpu_graph:
        choices += [Choice("onnxruntime", "cpu", "fp32", "CPU, ONNX graph built: ONNX Runtime is at least as fast"),
                    Choice("torch", "cpu", "fp32", "CPU, ONNX Runtime unavailable")]
    else:
        choices += [Choice("torch", "cpu", "fp32", "CPU, no ONNX graph built yet (build-engine --format onnx)"),
                    Choice("onnxruntime", "cpu", "fp32", "CPU, torch unavailable")]
    return choices


def _open(choice: Choice, checkpoint: Path, engines_dir: Path, build: bool, progress: Progress,
          batch_max: int, threads: int | None = None) -> InferenceBackend:
    entry = BACKENDS[choice.backend]
    require(entry)
    if choice.backend == "torch":
        return entry.load().from_checkpoint(checkpoint, device=choice.device, precision=choice.precision)
    fmt = "tensorrt" if choice.backend == "tensorrt" else "onnx"
    spec = BuildSpec(checkpoint, fmt, choice.precision, engines_dir, batch_max=batch_max)
    path, key = ensure_artifact(spec, progress=progress) if build else find_artifact(spec)
    try:
        return _construct(entry, path, key, choice.device, engines_dir, threads)
    except ModelFileError as exc:  # a file its runtime cannot load (corrupt, truncated) despite a valid sidecar
        if not build:
            raise
        progress(f"{exc.message} Rebuilding it.")
        path, key = ensure_artifact(spec, rebuild=True, progress=progress)
        return _construct(entry, path, key, choice.device, engines_dir, threads)


def _construct(entry: BackendEntry, path: Path, key: ArtifactKey, device: str, engines_dir: Path | None,
               threads: int | None = None) -> InferenceBackend:
    if entry.name == "tensorrt":
        return entry.load()(path, key.size, key.precision, key.batch_max)
    return entry.load()(path, key.size, key.precision, device=device, batch_max=key.batch_max, threads=threads,
                        trt_cache_dir=engines_dir)


def _has_cpu_graph(checkpoint: Path, engines_dir: Path, batch_max: int) -> bool:
    if BACKENDS["onnxruntime"].missing() or not checkpoint.is_file() or not any(engines_dir.glob("*-fp32.onnx")):
        return False  # (no graph at all: the checkpoint need not be hashed)
    try:
        find_artifact(BuildSpec(checkpoint, "onnx", "fp32", engines_dir, batch_max=batch_max))
    except EngineMismatchError:
        return False
    return True


def load_backend(path: Path, backend: str = "auto", device: str = "auto", precision: str = "auto",
                 engines_dir: Path | None = None, build: bool = True, progress: Progress = logger.info,
                 batch_max: int = 8, threads: int | None = None) -> InferenceBackend:
    """Open a SMPLer-X checkpoint (or an artifact built from one) with `backend`.

    A checkpoint runs on torch directly, or through the ONNX graph / TensorRT engine built from it (found in
    `engines_dir`, default `artifacts.engines_home()`; built first when missing or stale unless build=False).
    "auto" tries `candidates` in order and falls back past each that cannot run here, logging why; an explicit
    backend that cannot run raises its error (DependencyError, EngineMismatchError, ModelFileError) with a hint.
    An .onnx/.engine file opens directly with the backend its suffix names (its sidecar gives size and precision).
    threads: ONNX Runtime's intra-op threads (None: one per core; torch keeps its process-wide setting).
    """
    path = Path(path)
    engines_dir = Path(engines_dir) if engines_dir is not None else engines_home()
    if not path.name.lower().endswith(CHECKPOINT_SUFFIXES):
        entry = backend_for_file(path)
        if backend not in ("auto", entry.name):
            raise UnsupportedFormatError(f"The {backend} backend does not open {path.name}.",
                                         f"It opens {', '.join(BACKENDS[backend].suffixes)} files; use backend auto.")
        return _open_artifact(entry, path, device)
    if backend == "tensorrt" and device == "cpu":
        raise UnsupportedFormatError("TensorRT runs on an NVIDIA GPU, not on the CPU.", "Use --backend onnxruntime.")
    choices = candidates(backend, device, precision, _has_cpu_graph(path, engines_dir, batch_max))
    failures = []
    for choice in choices:
        try:
            opened = _open(choice, path, engines_dir, build, progress, batch_max, threads)
        except MocapError as exc:
            if backend != "auto":
                raise
            failures.append(f"{choice.backend} ({choice.device}, {choice.precision}): {exc.message}")
            logger.warning("SMPLer-X: %s cannot run here (%s); trying the next backend.", choice.backend, exc.message)
            continue
        logger.info("SMPLer-X runs on %s — %s", opened.describe().line(), choice.reason)
        return opened
    raise DependencyError("No inference backend can run SMPLer-X here: " + " | ".join(failures),
                          "python main.py doctor lists what is installed; pip install torch or onnxruntime.")


def _open_artifact(entry: BackendEntry, path: Path, device: str) -> InferenceBackend:
    """A built .onnx/.engine given directly; an engine must have been built for this TensorRT and GPU."""
    require(entry)
    key = read_sidecar(path)
    if entry.name == "tensorrt":
        from .tensorrt_backend import gpu_identity, runtime_version

        differences = dataclasses.replace(key, runtime=runtime_version(), gpu=gpu_identity()).differences(key)
        if differences:
            raise EngineMismatchError(f"{path.name} was built for another TensorRT or GPU: {'; '.join(differences)}.",
                                      "Rebuild it here: python main.py build-engine --format tensorrt --checkpoint F")
    return _construct(entry, path, key, device, path.parent)
