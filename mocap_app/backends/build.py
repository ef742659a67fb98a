"""Finding or building the ONNX graph / TensorRT engine a checkpoint runs as (`python main.py build-engine`, and
the onnxruntime / tensorrt backends on first use).

A valid artifact is found by its key (`artifacts.ArtifactKey`) without loading the checkpoint, so a machine with
onnxruntime alone runs a graph built elsewhere (copy engines/ along with the checkpoint). Building needs torch (and
`onnx` + `onnxscript` for the export; TensorRT and a GPU for an engine). int8 and TensorRT engines are made from the
fp32 graph, which is built first when missing.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from mocap_app.core.errors import DependencyError

from .artifacts import (
    FORMATS,
    ArtifactKey,
    EngineMismatchError,
    check_artifact,
    file_sha256,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from .base import Progress

logger = logging.getLogger(__name__)

DEFAULT_BATCH_MAX = 8  # persons per call an artifact accepts (the estimator's default max_batch)


@dataclass(frozen=True)
class BuildSpec:
    """What to find or build. checkpoint: official SMPLer-X file. format: "onnx" | "tensorrt". precision: fp32,
    int8 (onnx), fp16/bf16 (tensorrt). engines_dir: where artifacts live. batch_min/opt/max: batch range (opt: the
    batch TensorRT tunes for)."""

    checkpoint: Path
    format: str
    precision: str
    engines_dir: Path
    batch_min: int = 1
    batch_opt: int = 1
    batch_max: int = DEFAULT_BATCH_MAX


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _target(spec: BuildSpec, size: str, sha: str) -> ArtifactKey:
    runtime = gpu = ""
    if spec.format == "tensorrt":
        from .tensorrt_backend import gpu_identity, runtime_version

        runtime, gpu = runtime_version(), gpu_identity()
    return ArtifactKey(spec.format, size, sha, spec.precision, spec.batch_min, spec.batch_opt, spec.batch_max,
                       runtime=runtime, gpu=gpu)


def find_artifact(spec: BuildSpec, sha: str | None = None) -> tuple[Path, ArtifactKey]:
    """The artifact for `spec` whose sidecar matches the current key, without loading the checkpoint.

    Raises EngineMismatchError naming what differs when there is none (missing, built for another checkpoint,
    precision, batch range, runtime or GPU, or an unreadable sidecar).
    """
    sha = sha or file_sha256(spec.checkpoint, spec.engines_dir)
    pattern = f"smplerx-*-{sha[:12]}-{spec.precision}*{FORMATS[spec.format]}"
    problems = []
    for path in sorted(Path(spec.engines_dir).glob(pattern)):
        try:
            stored = read_sidecar(path)
            key = _target(spec, stored.size, sha)
            check_artifact(path, key)
            return path, key
        except EngineMismatchError as exc:
            problems.append(exc.message)
    what = f"{spec.format} {spec.precision} artifact for {Path(spec.checkpoint).name}"
    raise EngineMismatchError(f"No valid {what} in {spec.engines_dir}" + (f": {' '.join(problems)}" if problems
                                                                             else " (none built yet)."),
                              f"Build it: python main.py build-engine --checkpoint {spec.checkpoint} "
                              f"--format {spec.format} --precision {spec.precision}")


def ensure_artifact(spec: BuildSpec, rebuild: bool = False, progress: Progress = logger.info
                    ) -> tuple[Path, ArtifactKey]:
    """The valid artifact for `spec`, built (with progress) when missing or stale; `rebuild` builds it anyway."""
    sha = file_sha256(spec.checkpoint, spec.engines_dir)
    if not rebuild:
        try:
            return find_artifact(spec, sha)
        except EngineMismatchError as exc:
            progress(f"{exc.message} Building it.")
    return _build(spec, sha, progress)


def _require_torch(spec: BuildSpec) -> None:
    if importlib.util.find_spec("torch") is None:
        raise DependencyError(f"Building the {spec.format} artifact of {Path(spec.checkpoint).name} needs torch, "
                              "which is not installed here.",
                              "Build it on a machine with torch (python main.py build-engine ...) and copy the "
                              "engines/ files with their .json sidecars here.")


def _build(spec: BuildSpec, sha: str, progress: Progress) -> tuple[Path, ArtifactKey]:
    _require_torch(spec)
    from .checkpoint import load_checkpoint

    start = time.perf_counter()
    if spec.format == "onnx" and spec.precision == "fp32":
        progress(f"loading {Path(spec.checkpoint).name} …")
        model = load_checkpoint(spec.checkpoint)
        key = _target(spec, model.config.name, sha)
        path = Path(spec.engines_dir) / key.file_name()
        from .onnx_export import export_onnx

        _remove_artifact(path)  # the sidecar goes first: a half-written graph never has a valid one
        export_onnx(model, path, spec.batch_max, progress)
    else:
        fp32 = BuildSpec(spec.checkpoint, "onnx", "fp32", spec.engines_dir, spec.batch_min, spec.batch_opt,
                         spec.batch_max)
        source, source_key = ensure_artifact(fp32, progress=progress)
        key = _target(spec, source_key.size, sha)
        path = Path(spec.engines_dir) / key.file_name()
        _remove_artifact(path)
        if spec.format == "onnx":
            if spec.precision != "int8":
                raise DependencyError(f"ONNX graphs are built in fp32 or int8, not {spec.precision}.",
                                      "fp16/bf16 run through --format tensorrt (or the torch backend).")
            from .onnx_export import quantize_int8

            quantize_int8(source, path, progress)
        else:
            from .tensorrt_backend import build_engine

            build_engine(source, path, spec.precision, spec.batch_min, spec.batch_opt, spec.batch_max, progress)
    seconds = time.perf_counter() - start
    write_sidecar(path, key, build_seconds=round(seconds, 1), checkpoint=str(spec.checkpoint),
                  versions={name: _package_version(name) for name in ("torch", "onnx", "onnxscript", "onnxruntime",
                                                                       "tensorrt")})
    progress(f"{path.name} ready ({seconds:.0f} s), metadata in {sidecar_path(path).name}")
    return path, key


def _remove_artifact(path: Path) -> None:
    sidecar_path(path).unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    Path(f"{path}.data").unlink(missing_ok=True)
