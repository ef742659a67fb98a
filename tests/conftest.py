"""Process-wide test settings; must run before any Qt/OpenGL/OpenCV import."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]



def _start_xvfb() -> str | None:
    """A virtual X screen for the GUI tests (Qt's xcb platform, as on a desktop): its DISPLAY, or None when
    Xvfb is not installed. Stopped when the test process exits."""
    if not shutil.which("Xvfb"):
        return None
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1600x1000x24", "-nolisten",
                               "tcp"], pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()  # Xvfb writes its display number once it accepts connections
    if not number:
        server.kill()
        return None
    atexit.register(server.terminate)
    return f":{number}"


# Without a display Qt aborts the whole run: the tests get a virtual screen (Xvfb), or offscreen rendering.
if not os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
    display = _start_xvfb()
    if display:
        os.environ["DISPLAY"] = display
    else:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# Floating-point checks across CPU configurations (the summation order of torch's CPU kernels changes the
# last bits, which is what the numerical tolerances in tests/models, tests/estimators and tests/body allow for):
#   MOCAP_TEST_TORCH_THREADS=N   torch.set_num_threads(N) once at session start (tests/models keeps N too)
#   MOCAP_TEST_NO_MKLDNN=1       torch.backends.mkldnn.enabled = False (no oneDNN convolutions/matmuls)
#   ATEN_CPU_CAPABILITY=avx2|default|avx512  (read by torch itself at import: e.g. AVX2 kernels on an AVX-512 CPU)
#   MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2  (read by MKL/oneDNN: their kernels of an AVX2-only CPU)
# Unset, nothing changes and torch is not imported here.
TORCH_THREADS = os.environ.get("MOCAP_TEST_TORCH_THREADS")


def pytest_configure(config) -> None:
    if TORCH_THREADS or os.environ.get("MOCAP_TEST_NO_MKLDNN"):
        import torch

        if TORCH_THREADS:
            torch.set_num_threads(int(TORCH_THREADS))
        if os.environ.get("MOCAP_TEST_NO_MKLDNN"):
            torch.backends.mkldnn.enabled = False


def pytest_report_header(config) -> str | None:
    if not (TORCH_THREADS or os.environ.get("MOCAP_TEST_NO_MKLDNN") or os.environ.get("ATEN_CPU_CAPABILITY")):
        return None
    import torch

    return (f"torch {torch.__version__}: {torch.get_num_threads()} threads, CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()}, oneDNN {'on' if torch.backends.mkldnn.enabled else 'off'}")


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
