"""Crash reports: what a user attaches to a bug report when the app fails on something that is not their error.

One text file per crash: the command line, the traceback (with chained causes), and the environment that
decides most numerical and driver behaviour — Python, OS, CPU and its vector extensions, the versions of the
packages the app runs on, and the environment variables that change them. Written atomically to
`$MOCAP_LOG_DIR`, else `$XDG_STATE_HOME/mocap/logs` (`~/.local/state/mocap/logs`).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import sys
import tempfile
import traceback
from pathlib import Path

from .errors import ExportError
from .files import atomic_write

LOG_DIR_ENV = "MOCAP_LOG_DIR"
# Distributions whose versions explain most reports (import names differ: opencv-contrib-python is cv2).
PACKAGES = ("mocap-app", "numpy", "torch", "onnxruntime", "tensorrt", "mediapipe", "opencv-contrib-python",
            "opencv-python", "smplx", "anny", "pyrender", "PyOpenGL", "trimesh", "PySide6-Essentials", "filterpy",
            "scipy", "typer", "protobuf")
# Environment variables that change which kernels, drivers or files the app uses.
ENV_VARS = ("PYOPENGL_PLATFORM", "QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "ATEN_CPU_CAPABILITY",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "CUDA_VISIBLE_DEVICES", "MOCAP_CONFIG",
            "MOCAP_HOME", "ANNY_CACHE_DIR")
# CPU flags that select different math kernels (the usual cause of "passes here, fails there").
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni")


def log_dir() -> Path:
    if os.environ.get(LOG_DIR_ENV):
        return Path(os.environ[LOG_DIR_ENV])
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "mocap" / "logs"


def cpu_description() -> str:
    """The CPU model, logical CPU count and the SIMD flags that change figures (for reports and benchmarks)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.machine())
    flags_line = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    flags = set(flags_line.split(":", 1)[-1].split())
    return f"{model}, {os.cpu_count()} logical CPUs, flags: {' '.join(f for f in CPU_FLAGS if f in flags) or '-'}"


def environment_lines() -> list[str]:
    """`key: value` lines describing this machine and install (no secrets: only the variables listed above)."""
    lines = [f"python: {sys.version.split()[0]} ({sys.executable})",
             f"platform: {platform.platform()}",
             f"cpu: {cpu_description()}"]
    for name in PACKAGES:
        try:
            lines.append(f"{name}: {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    lines += [f"${name}: {os.environ[name]}" for name in ENV_VARS if name in os.environ]
    return lines


def write_crash_report(error: BaseException, argv: list[str], folder: Path | None = None) -> Path:
    """Write the report for `error` raised while running `argv`; returns its path. Falls back to the temporary
    folder when the log folder cannot be written; when neither can, re-raises `error` so the traceback at least
    reaches the terminal."""
    stamp = datetime.datetime.now()
    text = "\n".join([
        f"mocap crash report, {stamp.isoformat(timespec='seconds')}",
        f"command: {' '.join(argv)}",
        f"cwd: {Path.cwd()}",
        "",
        *environment_lines(),
        "",
        "".join(traceback.format_exception(error)).rstrip(),
        "",
    ])
    name = f"crash-{stamp:%Y%m%d-%H%M%S}-{os.getpid()}.log"
    for target in (folder or log_dir(), Path(tempfile.gettempdir())):
        try:
            target.mkdir(parents=True, exist_ok=True)
            return atomic_write(target / name, lambda handle: handle.write(text.encode("utf-8")))
        except (OSError, ExportError):
            continue
    raise error
