"""Every module imports: a name moved out of a module that another still imports fails here, not in the hands
of the one command that loads it (a calibration script, a rarely used bench)."""

from __future__ import annotations

import importlib
import pkgutil

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
