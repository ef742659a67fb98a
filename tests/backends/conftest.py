"""The tiny reference network as a checkpoint file, and its ONNX graph built once per run (the export is the
slowest step here, ~20 s on 2 cores)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "smplerx"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/data/smplerx/weights.pt under an official-looking name ({'network': 'module.' keys})."""
    path = tmp_path_factory.mktemp("checkpoints") / "smpler_x_tiny.pth.tar"
    shutil.copyfile(DATA / "weights.pt", path)
    return path


@pytest.fixture(scope="session")
def built_engines(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An engines folder holding the tiny checkpoint's fp32 ONNX graph (and sidecar), built through build-engine's
    own path. Tests that change files work on a copy (`engines_copy`)."""
    from mocap_app.backends.build import BuildSpec, ensure_artifact

    folder = tmp_path_factory.mktemp("engines")
    ensure_artifact(BuildSpec(tiny_checkpoint, "onnx", "fp32", folder))  # batches of 1-8
    return folder


@pytest.fixture
def engines_copy(built_engines: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built_engines, tmp_path / "engines"))
