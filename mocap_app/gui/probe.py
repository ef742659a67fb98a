"""Which Qt platform plugin works here — for `doctor`. Runs Qt in a subprocess: a Qt app without a
usable platform aborts the whole process, which must not take the caller down."""

from __future__ import annotations

import os
import subprocess
import sys

_SCRIPT = "from PySide6.QtGui import QGuiApplication; app = QGuiApplication([]); print(app.platformName())"


def probe_qt_platform(platform: str | None = None, timeout_s: float = 20.0) -> tuple[bool, str]:
    """Start a QGuiApplication with `platform` (None = what Qt would pick by itself).
    Returns (works, platform name or the reason it failed)."""
    env = dict(os.environ)
    # OpenCV's wheel points this at its bundled Qt5 plugins on import; Qt 6 must use its own.
    env.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    if platform is None:
        env.pop("QT_QPA_PLATFORM", None)
        if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            return False, "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    else:
        env["QT_QPA_PLATFORM"] = platform
    try:
        result = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True,
                                timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout_s:.0f} s"
    if result.returncode == 0:
        return True, result.stdout.strip()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    fallback = lines[-1] if lines else ""
    reason = next((line for line in lines if "could not" in line.lower() or "cannot" in line.lower()), fallback)
    return False, reason.strip() or f"exit code {result.returncode}"
