"""House rules read from the code: the layout of STYLE.md §8.1 (tools/check_layers.py, a copy of the
team's checker) and ruff's lint settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_point_downward_and_heavy_libraries_stay_in_their_package() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "check_layers.py"), str(ROOT)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_pipeline_layers_loads_no_qt_or_tensorrt() -> None:
    code = ("import sys, importlib, pkgutil, mocap_app\n"
            "for m in pkgutil.iter_modules(mocap_app.__path__):\n"
            "    if m.name not in ('gui', 'cli', '__main__'): importlib.import_module('mocap_app.' + m.name)\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('PySide6', 'tensorrt')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
