"""Process-wide test settings; must run before any Qt/OpenGL/OpenCV import."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Without a display Qt aborts the whole run; tests render offscreen unless a display is given (xvfb-run).
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
