"""Choose PyOpenGL's platform (EGL or OSMesa) for the whole process, before OpenGL is imported.

PyOpenGL reads PYOPENGL_PLATFORM once, when `OpenGL.platform` is first imported, and keeps that
platform for the life of the process. `main.py` calls `select_platform(config.render.platform)`
first; the renderer calls it again as a check.
"""

from __future__ import annotations

import os
import sys

from mocap_app.core.errors import ConfigError, DependencyError

from .probe import PLATFORMS

ENV_VAR = "PYOPENGL_PLATFORM"


def select_platform(name: str) -> None:
    """Make PyOpenGL use `name` ("egl" or "osmesa") in this process; idempotent.

    Raises ConfigError for an unknown name and DependencyError when OpenGL was already loaded with
    another platform (something imported OpenGL too early).
    """
    if name not in PLATFORMS:
        raise ConfigError(f"Unknown render platform {name!r}.",
                          f"Set render.platform to one of {', '.join(PLATFORMS)}.")
    current = os.environ.get(ENV_VAR)
    if "OpenGL.platform" in sys.modules and current != name:
        raise DependencyError(
            f"OpenGL was already loaded with platform {current or 'default (GLX, needs a display)'}, "
            f"so it cannot switch to {name}.",
            f"Set {ENV_VAR}={name} in the environment, or select the platform before anything imports OpenGL.")
    os.environ[ENV_VAR] = name
