"""Built inference artifacts (ONNX graphs, TensorRT engines) in `engines/`, each with a JSON sidecar saying what it
was built from and for. An artifact is used only when its sidecar matches the current checkpoint, precision, batch
range, runtime versions and GPU (STYLE §7: the cache key is everything that invalidates it); otherwise it is rebuilt,
never used silently. Names carry the checkpoint hash prefix and precision so different builds live side by side.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mocap_app.core.config import REPO_ROOT, cache_home, running_from_checkout
from mocap_app.core.errors import ModelFileError

logger = logging.getLogger(__name__)

FORMATS = {"onnx": ".onnx", "tensorrt": ".engine"}
SIDECAR_SUFFIX = ".json"
METADATA_VERSION = 1
_HASH_CHUNK = 1 << 22


class EngineMismatchError(ModelFileError):
    """A built artifact was made from another checkpoint, precision, runtime or GPU, or its sidecar is unreadable."""


# Bumped whenever the exported network changes (models.smplerx, the fixed RoI grid, output names, opset, the
# quantised op set): graphs and engines of an older version are rebuilt. 2: int8 without Conv.
GRAPH_VERSION = 2
OPSET = 18


@dataclass(frozen=True)
class ArtifactKey:
    """Everything that makes an artifact valid for this run; equal keys → the artifact may be used.

    format: "onnx" | "tensorrt". size: SMPLer-X size. checkpoint_sha256: hex digest of the checkpoint file.
    precision: fp32 | fp16 | bf16 | int8 (int8: dynamically quantised weights). batch_min, batch_opt, batch_max:
    the persons-per-call range the graph/engine accepts (TensorRT optimisation profile). graph: our network's
    export version and ONNX opset. runtime: "tensorrt X.Y.Z" for an engine ("" for ONNX graphs, which any
    onnxruntime loads). gpu: GPU name and compute capability ("NVIDIA H100 80GB HBM3 sm_90"), "" for CPU graphs.
    """

    format: str
    size: str
    checkpoint_sha256: str
    precision: str
    batch_min: int
    batch_opt: int
    batch_max: int
    graph: str = f"v{GRAPH_VERSION} opset {OPSET}"
    runtime: str = ""
    gpu: str = ""

    def file_name(self) -> str:
        gpu = f"-{self.gpu.rsplit(' ', 1)[-1]}" if self.gpu else ""
        return f"smplerx-{self.size}-{self.checkpoint_sha256[:12]}-{self.precision}{gpu}{FORMATS[self.format]}"

    def differences(self, other: ArtifactKey) -> list[str]:
        """'field: built X, now Y' for each field that differs."""
        return [f"{field.name}: built {getattr(other, field.name)!r}, now {getattr(self, field.name)!r}"
                for field in dataclasses.fields(self) if getattr(self, field.name) != getattr(other, field.name)]


def engines_home() -> Path:
    """A checkout's engines/ folder; an installed copy's cache (~/.cache/mocap/engines or $MOCAP_HOME/cache)."""
    return REPO_ROOT / "engines" if running_from_checkout() else cache_home() / "engines"


def sidecar_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + SIDECAR_SUFFIX)


def write_sidecar(artifact: Path, key: ArtifactKey, **facts: object) -> Path:
    """Store `key` (plus informative `facts`: build seconds, versions of tools) beside `artifact`, atomically."""
    payload = {"metadata_version": METADATA_VERSION, "key": dataclasses.asdict(key), "facts": facts}
    return _atomic_write_text(sidecar_path(artifact), json.dumps(payload, indent=2) + "\n")


def read_sidecar(artifact: Path) -> ArtifactKey:
    """The key stored beside `artifact`; EngineMismatchError when the sidecar is missing, unreadable or old."""
    path = sidecar_path(artifact)
    try:
        payload = json.loads(path.read_text())
        if payload.get("metadata_version") != METADATA_VERSION:
            raise ValueError(f"metadata version {payload.get('metadata_version')}")
        return ArtifactKey(**payload["key"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise EngineMismatchError(f"{artifact.name} has no readable metadata ({path.name}: {exc}).",
                                  "It is rebuilt; `python main.py build-engine` rebuilds it on purpose.") from exc


def check_artifact(artifact: Path, key: ArtifactKey) -> None:
    """Raise EngineMismatchError unless `artifact` exists and its sidecar equals `key`."""
    if not artifact.is_file():
        raise EngineMismatchError(f"{artifact} does not exist.", "Build it with `python main.py build-engine`.")
    differences = key.differences(read_sidecar(artifact))
    if differences:
        raise EngineMismatchError(f"{artifact.name} was built for something else: {'; '.join(differences)}.",
                                  "It is rebuilt for this checkpoint, runtime and GPU.")


def file_sha256(path: Path, engines_dir: Path) -> str:
    """Hex SHA-256 of a file's bytes. Checkpoints are hashed once per (path, size, mtime): the digest is kept in
    `engines_dir`/checkpoint-sha256.json, so a 2.6 GB H checkpoint costs its ~5 s only the first time."""
    path = Path(path).resolve()
    stat = path.stat()
    cache = Path(engines_dir) / "checkpoint-sha256.json"
    tag = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and isinstance(known.get(tag), str):
        return known[tag]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    known = known if isinstance(known, dict) else {}
    known[tag] = digest.hexdigest()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(cache, json.dumps(known, indent=1) + "\n")
    except OSError as exc:  # a read-only engines folder only costs the hash next time
        logger.debug("could not cache the checkpoint hash in %s: %s", cache, exc)
    return known[tag]


def _atomic_write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
