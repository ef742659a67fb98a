"""The live window under a real X server (Xvfb, tests/conftest.py): it opens on the sample clip played as a camera,
draws the body over the video and in the 3-D view, records a take and exports it through the dialog's code
path, survives a camera that stops mid-take, keeps its settings, and leaves no thread behind when closed."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import CaptureError
from mocap_app.pipeline.live import SAMPLE_CLIP, LiveSource, sample_source
from mocap_app.pipeline.process import ProcessOptions
from mocap_app.smoothing import PRESETS
from tests.export.conftest import read_with
from tests.pipeline.takes_data import dead_pid

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
pytestmark = pytest.mark.skipif(not SAMPLE_CLIP.is_file(), reason="the sample clip is not in this checkout")


@pytest.fixture
def no_leaked_threads():
    """Fails a test that leaves a Python thread running after its window closed (napari's QThread check, for the
    pipeline's, the render and preview threads)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"


class Window:
    """A MainWindow with its render thread and controller, closed like the app closes it."""

    def __init__(self, qtbot, tmp_path: Path, start: LiveSource | None) -> None:
        from PySide6.QtCore import QSettings

        from mocap_app.gui.app import LiveApp

        self.config = AppConfig()
        self.settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        self.settings.setValue("takes_folder", str(tmp_path / "takes"))
        self.live = LiveApp(self.config, self.settings, [("Sample clip (live)", sample_source())], start,
                            ProcessOptions(), banner="No camera was found: the sample clip plays as a live source.",
                            progress=print)
        self.window, self.controller = self.live.window, self.live.controller
        self.drawn: list = []  # people of each preview drawn
        self.controller.people.connect(self.drawn.append)
        qtbot.addWidget(self.window)
        self.window.show()

    def close(self) -> None:
        self.live.close()


def bluish_share(image: np.ndarray, box: np.ndarray | None = None) -> float:
    """Share of the pixels (in `box`, xyxy) that are the first track's light blue (blue 50 above red): the mesh,
    shaded; the sample clip's person is skin-coloured, its room grey-brown."""
    if box is not None:
        x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, None)
        image = image[y0:y1, x0:x1]
    pixels = image.astype(np.int32)
    return float(((pixels[..., 2] - pixels[..., 0]) > 50).mean())


def test_the_window_shows_the_body_records_a_take_and_exports_it(qtbot, tmp_path, no_leaked_threads):
    app = Window(qtbot, tmp_path, sample_source())
    try:
        window = app.window
        # The sample clip live: previews arrive with a body (the default avatar, first build ~1 min).
        qtbot.waitUntil(lambda: sum(1 for people in app.drawn if people) >= 30, timeout=180_000)
        assert window.banner.isVisible() and "sample clip" in window.banner.text()
        session = app.controller.session
        assert session is not None and session.running
        # Mesh pixels where the person is, in the camera view; the body on the floor grid in the 3-D view.
        qtbot.waitUntil(lambda: window.last_preview is not None and window.last_preview.people > 0, timeout=10_000)
        frame = window.last_preview
        shown = frame.composite(window.last_video.rgb)  # what the camera view paints
        print("MEASURE", bluish_share(shown, frame.boxes[0]), bluish_share(window.orbit_view.image_rgb()))
        assert bluish_share(shown, frame.boxes[0]) > 0.1  # measured 0.26 on the sample clip
        orbit = window.orbit_view.image_rgb()
        assert orbit.shape == (480, 480, 3)
        assert bluish_share(orbit) > 0.01  # measured 0.055 (the body on its grid, 480x480)

        # Record 2 s (the space bar's action), stop, export FBX and BVH through the dialog's code path.
        assert window.start_recording()
        qtbot.wait(2000)
        take = window.stop_recording()
        assert take is not None and take.is_file()
        recorded = window.takes_list.count()
        assert recorded == 1
        written = {}
        for fmt in ("fbx", "bvh"):
            dialog = window.export_take(take)
            dialog.boxes["format"].setCurrentText(fmt)
            dialog.boxes["mesh"].setCurrentText("none")
            dialog.output.setText(str(tmp_path / f"take.{fmt}"))
            dialog.start()
            assert dialog.wait(120)
            qtbot.waitUntil(lambda d=dialog: d.export_button.isEnabled(), timeout=10_000)
            assert dialog.written, dialog.status.text()
            written[fmt] = dialog.written[0]
            dialog.close()
        frames = _take_frames(take)
        fbx = read_with("ufbx", written["fbx"], [0])
        bvh = read_with("bvhio", written["bvh"], [0])
        assert len(fbx["bones"]) == 55 and len(bvh["joints"]) == 55  # smplx skeleton with hands and face
        assert abs(bvh["frame_count"] - frames) <= 1, (bvh["frame_count"], frames)  # rounding of the span
        assert abs(round(fbx["time_end"] * fbx["fps"]) + 1 - frames) <= 1, (fbx["time_end"], fbx["fps"], frames)

        ARTIFACTS.mkdir(exist_ok=True)
        shot = window.grab()
        assert shot.save(str(ARTIFACTS / "gui_window.png"))
        assert shot.width() > 800

        # Play the take back: its bodies drawn frame by frame from the timeline, scrubbed to the end.
        window.play_take(take)
        qtbot.waitUntil(lambda: window.playback is not None, timeout=30_000)
        assert window.playback_row.isVisible() and window.controller.session is None  # the live view stopped
        last = window.playback.num_frames - 1
        assert abs(last + 1 - frames) <= 1
        window.playback_bar.slider.setValue(last)
        qtbot.waitUntil(lambda: window.last_preview is not None and window.last_preview.frame_index == last,
                        timeout=10_000)
        assert window.last_preview.people == 1
        window.back_to_live()
        qtbot.waitUntil(lambda: window.controller.session is not None and window.controller.session.running,
                        timeout=60_000)
    finally:
        app.close()


def _take_frames(path: Path) -> int:
    """Frames a file of the take holds: its recorded span (capture clock) at the take's frame rate."""
    from mocap_app.pipeline.journal import read_journal

    scan = read_journal(path)
    span_s = (int(scan.records["timestamp_ns"].max()) - int(scan.records["timestamp_ns"].min())) / 1e9
    return round(span_s * float(scan.header["fps"])) + 1


@dataclasses.dataclass(frozen=True)
class StoppingCamera(LiveSource):
    """A camera that delivers `frames` more frames of the sample clip once `armed` is set, then is unplugged (the
    countdown starts with the take: however long the body takes to appear on a busy machine)."""

    frames: int = 45
    armed: threading.Event = dataclasses.field(default_factory=threading.Event, compare=False)

    def open(self, config: AppConfig):
        from mocap_app.capture.replay import LiveReplaySource

        frames, armed = self.frames, self.armed

        class Unplugged(LiveReplaySource):
            disconnected = False

            def read(self):
                nonlocal frames
                if frames <= 0:
                    raise CaptureError("Camera 7 stopped delivering frames (unplugged?).", "Plug it back in.")
                if armed.is_set():
                    frames -= 1
                return super().read()

        return Unplugged(SAMPLE_CLIP)


def test_a_camera_that_stops_mid_take_leaves_an_exportable_take_and_a_message(qtbot, tmp_path, no_leaked_threads):
    app = Window(qtbot, tmp_path, None)
    try:
        window = app.window
        camera = StoppingCamera("camera", camera=7, frames=60)
        window.open_source(camera)
        qtbot.waitUntil(lambda: any(app.drawn), timeout=180_000)
        assert window.start_recording(), window.message.text()
        camera.armed.set()
        qtbot.waitUntil(lambda: window.message.isVisible(), timeout=30_000)
        assert "stopped delivering" in window.message.text() and "kept" in window.message.text()
        assert not window.record_button.isChecked()
        assert window.takes_list.count() == 1
        take = window.selected_take()
        dialog = window.export_take(take)
        dialog.boxes["format"].setCurrentText("bvh")
        dialog.boxes["mesh"].setCurrentText("none")
        dialog.output.setText(str(tmp_path / "cut.bvh"))
        dialog.start()
        assert dialog.wait(120) and dialog.written, dialog.status.text()
        dialog.close()
        assert read_with("bvhio", dialog.written[0], [0])["frame_count"] >= 1
    finally:
        app.close()


def test_settings_survive_a_restart(qtbot, tmp_path, no_leaked_threads):
    first = Window(qtbot, tmp_path, None)
    first.window.view_box.setCurrentText("skeleton")
    first.window.smoothing_box.setCurrentText("strong")
    first.window.orbit_view.set_view(dataclasses.replace(first.window.orbit_view.view, azimuth_deg=123.0))
    first.window.stream_address.setText("vmc://127.0.0.1:39540")
    first.close()
    second = Window(qtbot, tmp_path, None)
    try:
        assert second.window.view_box.currentText() == "skeleton"
        assert second.window.smoothing_box.currentText() == "strong"
        assert second.window.orbit_view.view.azimuth_deg == pytest.approx(123.0)
        assert second.controller.mode == "skeleton"
        assert second.window.stream_address.text() == "vmc://127.0.0.1:39540"
    finally:
        second.close()


def test_without_a_display_the_command_says_so_instead_of_aborting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, str(REPO / "main.py"), "live"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert lines[0].startswith("error: There is no display") and "process" in lines[1]


def test_live_controls_disk_full_and_the_next_start_after_a_crash(qtbot, tmp_path, no_leaked_threads):
    """The smoothing controls act on the running view; a disk that fills up mid-take ends the take with its
    frames kept and the view running; a take a crash left behind is offered at the next start."""
    from mocap_app.core.errors import ExportError
    from mocap_app.pipeline import takes as takes_api

    app = Window(qtbot, tmp_path, sample_source())
    try:
        window = app.window
        qtbot.waitUntil(lambda: any(app.drawn), timeout=180_000)
        session = app.controller.session
        window.smoothing_box.setCurrentText("strong")
        window.noise_spin.setValue(9.0)
        assert session.smoothing.rotation_noise_deg == 9.0
        assert session.smoothing.rotation_accel_deg == PRESETS["strong"].rotation_accel_deg
        window.smoothing_box.setCurrentText("off")
        assert session.smoothing is None and not window.noise_spin.isEnabled()

        # Streaming: the toggle sends the followed person to a real OSC receiver on loopback; a bad address is
        # said in the window and turns it off.
        from mocap_app.stream import VmcListener, unused_udp_port

        with VmcListener(unused_udp_port(), host="127.0.0.1") as listener:
            window.stream_address.setText(f"vmc://127.0.0.1:{listener.port}")
            window.stream_check.setChecked(True)
            qtbot.waitUntil(lambda: listener.summary().frames >= 10, timeout=30_000)
            assert "Hips" in listener.summary().bones and "LeftEye" in listener.summary().bones
            window._update_status()
            assert "stream vmc://127.0.0.1" in window.status_label.text()
            window.stream_check.setChecked(False)
        window.stream_address.setText("vmc://")
        window.stream_check.setChecked(True)
        assert not window.stream_check.isChecked() and "stream address" in window.message.text()
        window.show_message("")

        assert window.start_recording()
        writer = session.recorder._writer
        written = {"n": 0}
        append = writer.append

        def filling_up(people):
            if written["n"] >= 10:
                raise ExportError(f"Writing {writer.path} failed: No space left on device.", "Free disk space.")
            written["n"] += 1
            append(people)

        writer.append = filling_up
        qtbot.waitUntil(lambda: window.message.isVisible(), timeout=30_000)
        assert "No space left" in window.message.text() and not window.record_button.isChecked()
        drawn = len(app.drawn)
        qtbot.waitUntil(lambda: len(app.drawn) > drawn + 5, timeout=30_000)  # the view goes on
        (take,) = takes_api.list_takes(tmp_path / "takes")
        assert take.frames == 10 and not take.recording
    finally:
        app.close()

    # A crash while recording: the journal and its marker stay, naming a process that no longer runs.
    folder = tmp_path / "takes"
    writer = takes_api.begin_recording(folder, "take", 30.0, {"input": "camera 0"})
    writer.close()
    takes_api.marker_path(writer.path).write_text(f'{{"pid": {dead_pid()}}}')
    again = Window(qtbot, tmp_path, None)
    try:
        assert again.window.message.isVisible() and writer.path.stem in again.window.message.text()
        assert not takes_api.marker_path(writer.path).exists()  # offered once
        assert again.window.takes_list.count() == 2
    finally:
        again.close()
