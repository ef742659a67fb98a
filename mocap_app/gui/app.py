"""Starting the desktop app: check for a display, pick the source, build the window, run Qt's loop."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import DependencyError
from mocap_app.pipeline.live import SAMPLE_CLIP, LiveSource, sample_source
from mocap_app.pipeline.preview import PreviewProcess
from mocap_app.pipeline.process import ProcessOptions

logger = logging.getLogger(__name__)

ORBIT_SIZE = (480, 480)
NO_CAMERA_BANNER = "No camera was found: the sample clip plays as a live source (at its own frame rate)."


def check_display() -> None:
    """Raise a DependencyError (not Qt's abort) when no window can be opened here."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform != "xcb" and not platform.startswith("wayland"):
        return  # offscreen, vnc, ...: the user chose a platform
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    raise DependencyError("There is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset).",
                          "Run it in a desktop session, or process files offline without a window: "
                          "python main.py process VIDEO -o take.fbx")


def camera_sources(config: AppConfig) -> list[tuple[str, LiveSource]]:
    """The cameras found with the frame size each reports, for the source picker."""
    from mocap_app.capture import find_cameras

    return [(camera.label, LiveSource("camera", camera=camera.index)) for camera in find_cameras()]


def choose_start(cameras: list[tuple[str, LiveSource]], requested: LiveSource | None,
                 last: LiveSource | None = None) -> tuple[LiveSource, str]:
    """The source the window opens on and the banner to show: the one asked for; else the last one used, while
    it is still there (that camera found, that file present); else the first camera; else the sample clip
    played live."""
    if requested is not None:
        return requested, ""
    if last is not None:
        if last.kind == "camera" and any(source == last for _, source in cameras):
            return last, ""
        if last.kind != "camera" and last.path is not None and last.path.exists():
            return last, ""
    if cameras:
        return cameras[0][1], ""
    return sample_source(), NO_CAMERA_BANNER


class LiveApp:
    """The main window with the preview controller and its drawing process behind it (run_window, bench live and
    the tests build it the same way); `close` shuts them down in order, leaving no thread or process behind."""

    def __init__(self, config: AppConfig, settings, sources: list[tuple[str, LiveSource]], start: LiveSource | None,
                 options: ProcessOptions, banner: str = "", progress: Callable[[str], None] = logger.info) -> None:
        from .session import SessionController
        from .window import MainWindow

        # Matte, per-vertex lit bodies, drawn by a process of their own at the lowest priority (`PreviewProcess`):
        # the window's drawing shares the CPU with the estimator, never its GIL.
        self.controller = SessionController(config, lambda: PreviewProcess(config, ORBIT_SIZE, progress))
        try:
            self.window = MainWindow(config, self.controller, settings, sources, start, options, banner)
        except BaseException:
            self.controller.close()
            raise

    def close(self) -> None:
        self.window.close()
        self.controller.close()


def _quit_on_signals(app, window) -> None:
    """Ctrl-C and SIGTERM close the window the way its close button does (a take in progress is kept), instead
    of an exception raised inside whatever Qt callback happens to run. Python handles signals only between
    bytecodes, so a timer gives it a moment every 200 ms while Qt's loop waits."""
    import signal

    from PySide6.QtCore import QTimer

    def close(signum, frame) -> None:
        logger.info("signal %d: closing the window", signum)
        window.close()
        app.quit()

    signal.signal(signal.SIGINT, close)
    signal.signal(signal.SIGTERM, close)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)


def run_window(config: AppConfig, options: ProcessOptions, source: LiveSource | None = None,
               settings_file: Path | None = None) -> int:
    """Open the main window and run until it is closed; returns Qt's exit code."""
    check_display()
    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)  # OpenCV points it at its Qt5 plugins; Qt 6 has its own
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .window import source_from_setting

    app = QApplication.instance() or QApplication(["mocap"])
    settings = (QSettings(str(settings_file), QSettings.Format.IniFormat) if settings_file is not None
                else QSettings("mocap", "mocap"))
    cameras = camera_sources(config)
    start, banner = choose_start(cameras, source, source_from_setting(settings.value("source")))
    sources = [*cameras]
    if SAMPLE_CLIP.is_file():  # an installed copy may not have it
        sources.append(("Sample clip (live)", sample_source()))
    live = LiveApp(config, settings, sources, start, options, banner)
    try:
        live.window.show()
        _quit_on_signals(app, live.window)
        return int(app.exec())
    finally:
        live.close()
