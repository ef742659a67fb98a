"""Every module imports: a name moved out of a module that another still imports fails here, not in the hands
of the one command that loads it (a calibration script, a rarely used bench)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mocap_app

OPTIONAL = {"mocap_app.backends.tensorrt_backend": "tensorrt"}  # imports its runtime at module level
MODULES = sorted(m.name for m in pkgutil.walk_packages(mocap_app.__path__, "mocap_app.")
                 if not m.name.endswith("__main__"))  # __main__ runs the app


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    importlib.import_module(name)


_DEFAULT_PATH = """
import sys
from mocap_app.body.avatar import AnnyAvatar
from mocap_app.body.skinned import skinned_body
from mocap_app.core.config import load_config
from mocap_app.pipeline.process import ProcessOptions, build_detection, build_estimators, close_all
import mocap_app.gui.app, mocap_app.cli.app
config = load_config(None, [])
options = ProcessOptions.from_settings(config)
close_all([*build_estimators(options, config), *build_detection(options)])
AnnyAvatar(progress=lambda line: None).load()
print(sorted(name for name in ("torch", "smplx", "anny", "warp") if name in sys.modules))
"""


def test_the_default_path_imports_neither_torch_nor_smplx(tmp_path) -> None:
    # torch + smplx cost ~1.5 s at every start and ~140k objects the collector walks in the live app; anny and
    # warp load only to build the avatar once. None of them is needed without the user's licensed files.
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", _DEFAULT_PATH], cwd=root, capture_output=True, text=True,
                            timeout=120, check=False, env={**os.environ, "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
