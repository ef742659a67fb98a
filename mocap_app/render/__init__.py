"""Offscreen rendering of body meshes with pyrender — the only package that imports pyrender/OpenGL.

Importing this package does not import OpenGL: `select_platform` must run first (the CLI root callback does),
and the GL code (`offscreen.MeshRenderer`) is loaded by `RenderThread` on its own thread.
"""

from .geometry import OrbitView
from .platform import select_platform
from .probe import probe_platform
from .thread import RenderThread

__all__ = ["OrbitView", "RenderThread", "probe_platform", "select_platform"]
