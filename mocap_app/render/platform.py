"""Choose PyOpenGL's platform (EGL or OSMesa) for the whole process, before OpenGL is imported.

PyOpenGL reads PYOPENGL_PLATFORM once, when `OpenGL.platform` is first imported, and keeps that
platform for the life of the process. This module is the only place the app sets it, by one rule:
the `render.platform` setting decides; its default, "auto", keeps a PYOPENGL_PLATFORM the user set
to egl or osmesa and otherwise means egl. The CLI's root callback calls `select_platform` before
any command runs; the renderer calls it again as a check.
"""

from __future__ import annotations

import os
import sys

from mocap_app.core.errors import ConfigError, DependencyError

from .probe import PLATFORMS

ENV_VAR = "PYOPENGL_PLATFORM"
AUTO = "auto"
DEFAULT_PLATFORM = "egl"  # works headless with Mesa and on NVIDIA drivers; OSMesa is the software fallback


def resolve_platform(setting: str) -> str:
    """The platform `setting` ("auto", "egl" or "osmesa") means in this environment."""
    if setting == AUTO:
        from_env = os.environ.get(ENV_VAR, "").lower()
        return from_env if from_env in PLATFORMS else DEFAULT_PLATFORM
    if setting not in PLATFORMS:
        raise ConfigError(f"Unknown render platform {setting!r}.",
                          f"Set render.platform to one of {', '.join((AUTO, *PLATFORMS))}.")
    return setting


def select_platform(setting: str) -> str:
    """Make PyOpenGL use the platform `setting` resolves to in this process; idempotent. Returns that platform.

    Raises ConfigError for an unknown name and DependencyError when OpenGL was already loaded with
    another platform (something imported OpenGL too early).
    """
    name = resolve_platform(setting)
    current = os.environ.get(ENV_VAR)
    if "OpenGL.platform" in sys.modules and current != name:
        raise DependencyError(
            f"OpenGL was already loaded with platform {current or 'default (GLX, needs a display)'}, "
            f"so it cannot switch to {name}.",
            f"Set {ENV_VAR}={name} in the environment, or select the platform before anything imports OpenGL.")
    os.environ[ENV_VAR] = name
    return name
