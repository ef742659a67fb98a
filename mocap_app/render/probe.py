"""Can pyrender render offscreen with a given OpenGL platform here? — for `doctor`.

The check runs in a child process: PyOpenGL binds its platform once per process (from
PYOPENGL_PLATFORM at import), a broken driver can crash or hang the process that tries it, and the
app's own process may already have chosen another platform.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PLATFORMS = ("egl", "osmesa")

# Runs in the child: render one triangle at 8x8 and report the GL strings and the centre pixel.
_CHILD = r"""
import json
import numpy as np
if not hasattr(np, "infty"):
    np.infty = np.inf  # pyrender 0.1.45 still uses the alias that numpy 2 removed
import pyrender
from OpenGL.GL import GL_RENDERER, GL_VERSION, glGetString

material = pyrender.MetallicRoughnessMaterial(baseColorFactor=[1.0, 1.0, 1.0, 1.0], doubleSided=True)
triangle = pyrender.Primitive(positions=[[-1.0, -1.0, -2.0], [1.0, -1.0, -2.0], [0.0, 1.0, -2.0]],
                              indices=[[0, 1, 2]], material=material)
scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 1.0])
scene.add(pyrender.Mesh([triangle]))
scene.add(pyrender.PerspectiveCamera(yfov=1.2))
renderer = pyrender.OffscreenRenderer(8, 8)
try:
    color, _ = renderer.render(scene, flags=pyrender.RenderFlags.FLAT)
    info = {"renderer": glGetString(GL_RENDERER).decode(), "version": glGetString(GL_VERSION).decode(),
            "centre": int(color[4, 4].max())}
finally:
    renderer.delete()
print("PROBE_RESULT " + json.dumps(info))
"""


# Known failures (a substring of the child's error) and what fixes them.
_FIXES = (
    ("OSMesaCreateContextAttribs", "pyrender's pinned PyOpenGL 3.1.0 lacks OSMesa: pip install 'PyOpenGL>=3.1.4'"),
    ("OSMesa: cannot open shared object", "install Mesa's OSMesa library: apt-get install libosmesa6"),
    ("EGL: cannot open shared object", "install EGL: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"),
)


def _last_error_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    fix = next((fix for signature, fix in _FIXES if signature in text), None)
    return f"{last} [fix: {fix}]" if fix else last


def probe_platform(name: str, timeout_s: float = 30.0) -> tuple[bool, str]:
    """Render a tiny scene offscreen with PyOpenGL platform `name` ("egl" or "osmesa") in a subprocess.

    Returns (True, "<GL_RENDERER>, OpenGL <GL_VERSION>") when a frame was rendered and read back with
    the expected content, else (False, why): the child's last error line, a timeout or a blank frame.
    """
    if name not in PLATFORMS:
        return False, f"unknown platform {name!r}; choose one of {', '.join(PLATFORMS)}"
    env = dict(os.environ, PYOPENGL_PLATFORM=name)
    try:
        result = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                                timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return False, f"no frame within {timeout_s:.0f} s (the OpenGL driver hangs)"
    marker = next((line for line in result.stdout.splitlines() if line.startswith("PROBE_RESULT ")), None)
    if result.returncode != 0 or marker is None:
        return False, _last_error_line(result.stderr or result.stdout) + f" (exit code {result.returncode})"
    info = json.loads(marker.removeprefix("PROBE_RESULT "))
    if info["centre"] < 128:
        return False, f"{info['renderer']} rendered a blank frame"
    return True, f"{info['renderer']}, OpenGL {info['version']}"
