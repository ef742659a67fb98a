"""Process-wide test settings; must run before any Qt/OpenGL/OpenCV import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Without a display Qt aborts the whole run; tests render offscreen unless a display is given (xvfb-run).
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


@pytest.fixture(scope="session")
def smplx_body_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `paths.body_models` folder with a synthetic smplx/SMPLX_NEUTRAL.npz (real format; ~4 s, once per run)."""
    from mocap_app.body.synthetic_smplx import write_synthetic_smplx

    return write_synthetic_smplx(tmp_path_factory.mktemp("body_models"))


@pytest.fixture(scope="session")
def smplx_model(smplx_body_models: Path):  # -> SmplxModel (imported lazily: torch is slow to import)
    """The neutral synthetic SMPL-X model, loaded once per run."""
    from mocap_app.body.smplx_model import SmplxModel

    return SmplxModel(smplx_body_models, "neutral")


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `gpu` run only where CUDA works; elsewhere they are skipped with the reason."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import pytest
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA (torch.cuda.is_available() is False)")
    for item in gpu_items:
        item.add_marker(skip)
