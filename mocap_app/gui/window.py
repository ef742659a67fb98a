"""The main window: live camera view with the body drawn over it, the 3-D view, recording, takes and export."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mocap_app.core.config import AppConfig, data_home
from mocap_app.core.errors import MocapError
from mocap_app.pipeline import takes as takes_api
from mocap_app.pipeline.live import LiveSource
from mocap_app.pipeline.playback import TakePlayback
from mocap_app.pipeline.preview import VIEW_MODES, PreviewFrame
from mocap_app.pipeline.process import ProcessOptions, available_models
from mocap_app.render.geometry import track_color
from mocap_app.smoothing import PRESETS, SmoothingConfig
from mocap_app.stream import VMC_PORT, StreamConfig, parse_stream_address

from .export_dialog import ExportDialog
from .playback import PlaybackBar
from .session import SessionController, blank_preview, describe
from .widgets import ImageView, OrbitImageView

logger = logging.getLogger(__name__)

LATENCY_WINDOW = 120  # painted frames the latency figures cover
DEFAULT_STREAM_ADDRESS = f"vmc://127.0.0.1:{VMC_PORT}"  # a receiver on this machine


@dataclasses.dataclass
class DisplayStats:
    """What the status bar shows of the window's side (live sources; NaN when unknown): frames painted per second;
    capture-to-screen latency of the video (ms, median and p95 over the last `LATENCY_WINDOW` painted frames) and
    of the body drawn over it (from the capture of the frame it was estimated on to its paint)."""

    displayed_fps: float = 0.0
    latency_median_ms: float = float("nan")
    latency_p95_ms: float = float("nan")
    body_latency_median_ms: float = float("nan")
    body_latency_p95_ms: float = float("nan")
    painted: int = 0


def _median_p95(values) -> tuple[float, float]:
    ordered = sorted(values)
    if not ordered:
        return float("nan"), float("nan")
    return ordered[len(ordered) // 2], ordered[min(int(0.95 * len(ordered)), len(ordered) - 1)]


class MainWindow(QMainWindow):
    """sources: (label, LiveSource) offered in the source picker; start: the one opened first; banner: a line
    shown above the views (e.g. "no camera found: the sample clip plays as a live source")."""

    closed = Signal()
    _take_loaded = Signal(object, object)  # (TakePlayback or None, error message or None)

    def __init__(self, config: AppConfig, controller: SessionController, settings: QSettings,
                 sources: list[tuple[str, LiveSource]], start: LiveSource | None, options: ProcessOptions,
                 banner: str = "") -> None:
        super().__init__()
        self.config, self.controller, self.settings = config, controller, settings
        self.options = options
        self.setWindowTitle("mocap — live")
        self._paint_times: deque[int] = deque(maxlen=60)
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._body_latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.last_video = None  # the newest VideoFrame painted, PreviewFrame drawn (tests, screenshots)
        self.last_preview: PreviewFrame | None = None
        self._live = False
        self._record_started = 0.0
        self._people_seen: dict[int, int] = {}
        self._exporting: ExportDialog | None = None
        self.record_track_ids: set[int] | None = None  # people a take records (None: everyone)
        self.playback: TakePlayback | None = None  # the take being played back
        self._live_source: LiveSource | None = None  # what `back_to_live` reopens

        self._build(sources, banner)
        self._restore()
        self._connect()
        self.refresh_takes()
        self._offer_interrupted()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._update_status)
        self._timer.start(500)
        if start is not None:
            self.open_source(start)

    # -- layout ---------------------------------------------------------------------------------------
    def _build(self, sources: list[tuple[str, LiveSource]], banner: str) -> None:
        bar = QToolBar("Capture", self)
        bar.setObjectName("capture_toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.source_box = QComboBox()
        for label, source in sources:
            self.source_box.addItem(label, source)
        self.source_box.addItem("Open video…", "video")
        self.source_box.addItem("Open image folder…", "folder")
        bar.addWidget(QLabel(" Source "))
        bar.addWidget(self.source_box)
        self.model_box = QComboBox()
        for name, description in available_models(self.config):
            self.model_box.addItem(description, name)
        bar.addWidget(QLabel("  Model "))
        bar.addWidget(self.model_box)
        self.view_box = QComboBox()
        self.view_box.addItems(list(VIEW_MODES))
        bar.addWidget(QLabel("  Overlay "))
        bar.addWidget(self.view_box)
        self.smoothing_box = QComboBox()
        self.smoothing_box.addItems(list(PRESETS))
        self.smoothing_box.setCurrentText(self.config.smoothing.preset)
        bar.addWidget(QLabel("  Smoothing "))
        bar.addWidget(self.smoothing_box)
        # The preset's two main parameters, live, for the view: jitter removed (measurement noise) and how closely
        # fast motion is followed (process noise). Takes hold raw estimates; the export dialog smooths them.
        self.noise_spin = QDoubleSpinBox()
        self.noise_spin.setRange(0.1, 30.0)
        self.noise_spin.setSingleStep(0.5)
        self.noise_spin.setSuffix("° noise")
        self.noise_spin.setToolTip("Joint rotation jitter to smooth away (degrees): larger = smoother")
        self.follow_spin = QDoubleSpinBox()
        self.follow_spin.setRange(0.05, 20.0)
        self.follow_spin.setSingleStep(0.1)
        self.follow_spin.setSuffix("° follow")
        self.follow_spin.setToolTip("How fast motion may change (degrees/frame²): larger = follows quick moves closer")
        bar.addWidget(self.noise_spin)
        bar.addWidget(self.follow_spin)
        bar.addSeparator()
        self.record_button = QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Start / stop recording a take (space bar)")
        bar.addWidget(self.record_button)
        self.record_label = QLabel("  not recording")
        bar.addWidget(self.record_label)
        bar.addSeparator()
        self.stream_check = QCheckBox("Stream VMC")
        self.stream_check.setToolTip("Send the followed person to a VMC receiver (VSeeFace, Warudo, VNyan, Unity "
                                     "EVMC4U, Unreal VMC4UE, Blender VMC4B) while the source runs")
        self.stream_address = QLineEdit(DEFAULT_STREAM_ADDRESS)
        self.stream_address.setToolTip("The receiver: vmc://HOST:PORT (39539 is the VMC protocol's usual port)")
        self.stream_address.setMaximumWidth(200)
        bar.addWidget(self.stream_check)
        bar.addWidget(self.stream_address)

        self.banner = QLabel(banner)
        self.banner.setVisible(bool(banner))
        self.banner.setStyleSheet("background: #33415c; color: white; padding: 4px;")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setStyleSheet("background: #6b2b2b; color: white; padding: 6px;")
        self.camera_view = ImageView("starting…")
        self.orbit_view = OrbitImageView()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.camera_view)
        split.addWidget(self.orbit_view)
        split.setSizes([640, 480])
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.message)
        column.addWidget(split, 1)
        self.playback_bar = PlaybackBar()
        self.live_button = QPushButton("Back to live")
        playback_row = QWidget()
        row = QHBoxLayout(playback_row)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(self.playback_bar, 1)
        row.addWidget(self.live_button)
        playback_row.setVisible(False)
        self.playback_row = playback_row
        column.addWidget(playback_row)
        self.setCentralWidget(central)

        self.people_list = QListWidget()
        self.people_list.setSelectionMode(QListWidget.SelectionMode.MultiSelection)
        self.people_list.setToolTip("Select the people a take records (none selected: everyone). "
                                    "Click a person in the camera view to follow them.")
        self.takes_list = QListWidget()
        self.takes_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.export_button = QPushButton("Export…")
        self.play_button = QPushButton("Play")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(QLabel("Tracked people"))
        side_layout.addWidget(self.people_list, 1)
        side_layout.addWidget(QLabel("Takes"))
        side_layout.addWidget(self.takes_list, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.export_button)
        side_layout.addLayout(buttons)
        dock = QDockWidget("Takes", self)
        dock.setObjectName("takes_dock")
        dock.setWidget(side)
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

        self.status_label = QLabel("")
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self.resize(1400, 640)

    def _connect(self) -> None:
        c = self.controller
        c.started.connect(self._on_started)
        c.failed.connect(self._on_failed)
        c.ended.connect(self._on_ended)
        c.video_ready.connect(self._on_video)
        c.preview_ready.connect(self._on_preview)
        c.people.connect(self._on_people)
        c.recording_failed.connect(self._on_recording_failed)
        self.source_box.activated.connect(self._on_source_chosen)
        self.model_box.activated.connect(lambda _: self._reopen())
        self.smoothing_box.currentTextChanged.connect(self._on_preset)
        self.noise_spin.valueChanged.connect(self._on_smoothing_values)
        self.follow_spin.valueChanged.connect(self._on_smoothing_values)
        self.view_box.currentTextChanged.connect(self._on_mode)
        self.orbit_view.view_changed.connect(self._on_orbit)
        self.camera_view.painted.connect(self._on_painted)
        self.camera_view.clicked.connect(self._on_camera_click)
        self.people_list.itemSelectionChanged.connect(self._on_people_selected)
        self.record_button.toggled.connect(self._on_record_toggled)
        self.stream_check.toggled.connect(self._on_stream_toggled)
        self.stream_address.editingFinished.connect(lambda: self._on_stream_toggled(self.stream_check.isChecked()))
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.record_button.toggle)
        self.takes_list.customContextMenuRequested.connect(self._take_menu)
        self.takes_list.itemDoubleClicked.connect(lambda item: self.play_take(item.data(Qt.ItemDataRole.UserRole)))
        self.export_button.clicked.connect(self._export_selected)
        self.play_button.clicked.connect(lambda: self.play_take(self.selected_take()))
        self.playback_bar.frame_changed.connect(self._on_playback_frame)
        self.live_button.clicked.connect(self.back_to_live)
        self._take_loaded.connect(self._on_take_loaded)
        self._on_mode(self.view_box.currentText())

    # -- settings ------------------------------------------------------------------------------------
    @property
    def takes_folder(self) -> Path:
        return Path(str(self.settings.value("takes_folder", str(default_takes_folder()))))

    def _restore(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for box, key in ((self.view_box, "view/mode"), (self.smoothing_box, "smoothing/preset")):
            value = s.value(key)
            if value is not None and box.findText(str(value)) >= 0:
                box.setCurrentText(str(value))
        self._on_preset(self.smoothing_box.currentText())
        for spin, key in ((self.noise_spin, "smoothing/rotation_noise_deg"),
                          (self.follow_spin, "smoothing/rotation_accel_deg")):
            if s.value(key) is not None:
                spin.setValue(float(s.value(key)))
        model = s.value("model")
        if model is not None and self.model_box.findData(str(model)) >= 0:
            self.model_box.setCurrentIndex(self.model_box.findData(str(model)))
        self.stream_address.setText(str(s.value("stream/address", DEFAULT_STREAM_ADDRESS)))
        self.stream_check.setChecked(str(s.value("stream/on", "false")).lower() == "true")
        orbit = s.value("view/orbit")
        if isinstance(orbit, list | tuple) and len(orbit) == 3:
            self.orbit_view.set_view(dataclasses.replace(self.orbit_view.view, azimuth_deg=float(orbit[0]),
                                                         elevation_deg=float(orbit[1]), distance_m=float(orbit[2])))

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("view/mode", self.view_box.currentText())
        s.setValue("smoothing/preset", self.smoothing_box.currentText())
        s.setValue("smoothing/rotation_noise_deg", self.noise_spin.value())
        s.setValue("smoothing/rotation_accel_deg", self.follow_spin.value())
        s.setValue("model", self.model_box.currentData())
        s.setValue("stream/address", self.stream_address.text())
        s.setValue("stream/on", "true" if self.stream_check.isChecked() else "false")
        view = self.orbit_view.view
        s.setValue("view/orbit", [view.azimuth_deg, view.elevation_deg, view.distance_m])
        source = self.controller.session.source if self.controller.session is not None else None
        if source is not None:
            s.setValue("source", source_to_setting(source))
        s.sync()

    # -- sources and models --------------------------------------------------------------------------
    def current_options(self) -> ProcessOptions:
        return dataclasses.replace(self.options, model=self.model_box.currentData() or "default",
                                   smoothing=self.smoothing_box.currentText(), stream=self._stream_config())

    # -- streaming ------------------------------------------------------------------------------------
    def _stream_config(self) -> StreamConfig | None:
        """The receiver when streaming is on and its address is sound; else None (a bad address: said, and off)."""
        if not self.stream_check.isChecked():
            return None
        try:
            return parse_stream_address(self.stream_address.text())
        except MocapError as error:
            self.show_message(describe(error))
            self.stream_check.setChecked(False)
            return None

    def _on_stream_toggled(self, on: bool) -> None:
        session = self.controller.session
        config = self._stream_config() if on else None
        if session is None or not session.running:
            return  # the next session starts with it (current_options)
        try:
            if config is None:
                session.stream.stop()
            else:
                session.stream.start(config)
        except MocapError as error:
            self.show_message(describe(error))
            self.stream_check.setChecked(False)

    def open_source(self, source: LiveSource) -> None:
        self.stop_recording()
        self._leave_playback()
        self.show_message("")
        self.camera_view.set_image(blank_preview(), None)
        self.camera_view.set_layer(None)
        self.statusBar().showMessage(f"opening {source.label} …")
        index = next((i for i in range(self.source_box.count()) if self.source_box.itemData(i) == source), -1)
        if index < 0:
            self.source_box.insertItem(max(self.source_box.count() - 2, 0), source.label, source)
            index = self.source_box.count() - 3
        self.source_box.setCurrentIndex(index)
        self._people_seen.clear()
        self.people_list.clear()
        self.record_track_ids = None
        self._latencies.clear()
        self._body_latencies.clear()
        self.controller.open(source, self.current_options())

    def _reopen(self) -> None:
        session = self.controller.session
        if session is not None:
            self.open_source(session.source)

    def smoothing(self) -> SmoothingConfig:
        """The online smoothing the controls describe: the preset, with the two live parameters."""
        preset = PRESETS[self.smoothing_box.currentText()]
        if not preset.enabled:
            return preset
        return dataclasses.replace(preset, rotation_noise_deg=self.noise_spin.value(),
                                   rotation_accel_deg=self.follow_spin.value())

    def _on_preset(self, name: str) -> None:
        preset = PRESETS[name]
        values = ((self.noise_spin, preset.rotation_noise_deg), (self.follow_spin, preset.rotation_accel_deg))
        for spin, value in values:
            spin.blockSignals(True)
            spin.setValue(value)
            spin.setEnabled(preset.enabled)
            spin.blockSignals(False)
        self._apply_smoothing()

    def _on_smoothing_values(self, _value: float) -> None:
        self._apply_smoothing()

    def _apply_smoothing(self) -> None:
        session = self.controller.session
        if session is not None and session.running:
            session.set_smoothing(self.smoothing())

    def _on_source_chosen(self, index: int) -> None:
        data = self.source_box.itemData(index)
        if data == "video":
            path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", "Videos (*.mp4 *.mov *.avi *.mkv *.webm)")
            if path:
                self.open_source(LiveSource("video", path=Path(path), realtime=True))
        elif data == "folder":
            path = QFileDialog.getExistingDirectory(self, "Open an image folder")
            if path:
                self.open_source(LiveSource("folder", path=Path(path)))
        elif isinstance(data, LiveSource):
            self.open_source(data)

    def _on_started(self, info) -> None:
        self._live = bool(info.is_live)
        self._apply_smoothing()
        self.statusBar().showMessage(f"{info.name}: {info.width}x{info.height} at {info.fps:.0f} fps", 5000)

    def _on_failed(self, message: str) -> None:
        self.show_message(f"Could not start: {message}")
        self.camera_view.set_image(blank_preview(), None)

    def _on_ended(self, message: str) -> None:
        was_recording = self.record_button.isChecked()
        self._set_recording_ui(False)
        if message:
            kept = " The take recorded so far is kept in the takes list." if was_recording else ""
            self.show_message(f"Capture stopped: {message}{kept}")
        self.refresh_takes()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- views --------------------------------------------------------------------------------------
    def _on_mode(self, mode: str) -> None:
        self.controller.mode = mode

    def _on_orbit(self, view) -> None:
        self.controller.orbit = view

    def _on_video(self) -> None:
        video = self.controller.newest_video()
        if video is not None:
            self.camera_view.set_image(video.rgb, video.timestamp_ns)
            self.last_video = video

    def _on_preview(self) -> None:
        frame: PreviewFrame | None = self.controller.newest_preview()
        if frame is None:
            return
        self.last_preview = frame
        self.camera_view.set_layer(frame.layer, frame.timestamp_ns)
        if frame.orbit_rgb is not None:
            self.orbit_view.set_image(frame.orbit_rgb)
        if self.record_button.isChecked() and self.controller.session is not None:
            frames = self.controller.session.recorder.frames
            self.record_label.setText(f"  ● {time.monotonic() - self._record_started:5.1f} s  {frames} frames")

    def _on_painted(self, timestamp_ns: int, layer_timestamp_ns: int | None, painted_ns: int) -> None:
        self._paint_times.append(painted_ns)
        if self._live:
            self._latencies.append((painted_ns - timestamp_ns) / 1e6)
            if layer_timestamp_ns is not None:
                self._body_latencies.append((painted_ns - layer_timestamp_ns) / 1e6)

    def _on_camera_click(self, x: float, y: float) -> None:
        session = self.controller.session
        if session is not None and session.select_subject(x, y):
            self.statusBar().showMessage(f"following the person at ({x:.0f}, {y:.0f})", 5000)

    def _on_people_selected(self) -> None:
        """The people a take records: those selected in the list, or everyone when none is."""
        chosen = {item.data(Qt.ItemDataRole.UserRole) for item in self.people_list.selectedItems()}
        self.record_track_ids = chosen or None
        if self.controller.session is not None:
            self.controller.session.recorder.track_ids = self.record_track_ids

    def _on_people(self, people) -> None:
        for person in people:
            self._people_seen[person.track_id] = self._people_seen.get(person.track_id, 0) + 1
        rows = {self.people_list.item(i).data(Qt.ItemDataRole.UserRole): self.people_list.item(i)
                for i in range(self.people_list.count())}
        for track_id, frames in sorted(self._people_seen.items()):
            item = rows.get(track_id)
            if item is None:  # a new person: a row in their colour (the selection of the others is kept)
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, track_id)
                r, g, b = (255 * track_color(track_id)).astype(int)
                item.setForeground(Qt.GlobalColor.white)
                item.setBackground(QColor(int(r), int(g), int(b)))
                self.people_list.addItem(item)
            item.setText(f"#{track_id}   {frames} frames")

    def display_stats(self) -> DisplayStats:
        times = list(self._paint_times)
        fps = (len(times) - 1) / ((times[-1] - times[0]) / 1e9) if len(times) >= 2 and times[-1] > times[0] else 0.0
        return DisplayStats(fps, *_median_p95(self._latencies), *_median_p95(self._body_latencies), len(times))

    def _update_status(self) -> None:
        session = self.controller.session
        shown = self.display_stats()
        parts = [f"displayed {shown.displayed_fps:4.1f} fps"]
        if session is not None and session.running:
            stats = session.stats()
            parts = [f"capture {stats.capture_fps:4.1f} fps", *parts, f"estimated {stats.estimate_fps:4.1f} fps",
                     f"estimator {stats.estimator_ms:5.1f} ms", f"dropped {stats.dropped}"]
        if shown.latency_median_ms == shown.latency_median_ms:  # not NaN: a live source
            parts.append(f"latency {shown.latency_median_ms:4.0f} ms (p95 {shown.latency_p95_ms:4.0f}), "
                         f"body {shown.body_latency_median_ms:4.0f} ms")
        if session is not None and session.running and self.stream_check.isChecked():
            parts.append(f"stream {session.stream.status().summary}")
        parts.append(self.model_box.currentText())
        self.status_label.setText("   ·   ".join(parts))

    # -- recording --------------------------------------------------------------------------------------
    def _on_record_toggled(self, on: bool) -> None:
        if on:
            self.start_recording()
        else:
            self.stop_recording()

    def start_recording(self) -> bool:
        session = self.controller.session
        if session is None or not session.running:
            self.show_message("Nothing to record: no source is running.")
            self._set_recording_ui(False)
            return False
        if session.recorder.recording:
            return True
        try:
            self.takes_folder.mkdir(parents=True, exist_ok=True)
            info = session.info
            writer = takes_api.begin_recording(self.takes_folder, "take", info.fps,
                                               {"input": session.source.label, "model": session.options.model})
        except (MocapError, OSError) as exc:
            self.show_message(f"Cannot record: {describe(exc)}")
            self._set_recording_ui(False)
            return False
        session.recorder.track_ids = self.record_track_ids
        session.start_recording(writer, takes_api.end_recording)
        self._record_started = time.monotonic()
        self._set_recording_ui(True)
        return True

    def stop_recording(self) -> Path | None:
        session = self.controller.session
        writer = session.stop_recording() if session is not None else None
        self._set_recording_ui(False)
        if writer is None:
            return None
        if writer.records == 0:
            takes_api.delete_take(writer.path)  # nobody was seen while recording: no take to keep
            self.statusBar().showMessage("nothing recorded: nobody was seen", 5000)
            return None
        self.refresh_takes()
        self.statusBar().showMessage(f"take saved: {writer.path.name}", 5000)
        return writer.path

    def _set_recording_ui(self, on: bool) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.blockSignals(False)
        self.record_button.setText("■ Stop" if on else "● Record")
        if not on:
            self.record_label.setText("  not recording")

    def _on_recording_failed(self, message: str) -> None:
        self._set_recording_ui(False)
        self.show_message(f"Recording stopped: {message} The frames recorded before it are kept.")
        self.refresh_takes()

    # -- takes ------------------------------------------------------------------------------------------
    def refresh_takes(self) -> None:
        self.takes_list.clear()
        for take in takes_api.list_takes(self.takes_folder):
            flag = " (recording)" if take.recording else (" (damaged tail)" if take.damaged else "")
            item = QListWidgetItem(f"{take.name}   {take.frames} frames, {take.duration_s:.1f} s{flag}")
            item.setData(Qt.ItemDataRole.UserRole, take.path)
            self.takes_list.addItem(item)

    def selected_take(self) -> Path | None:
        item = self.takes_list.currentItem() or (self.takes_list.item(0) if self.takes_list.count() else None)
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _take_menu(self, position) -> None:
        item = self.takes_list.itemAt(position)
        if item is None:
            return
        path: Path = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Play", lambda: self.play_take(path))
        menu.addAction("Export…", lambda: self.export_take(path))
        menu.addAction("Rename…", lambda: self._rename_take(path))
        menu.addAction("Delete", lambda: self._delete_take(path))
        menu.addAction("Show in file manager", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))))
        menu.exec(self.takes_list.mapToGlobal(position))

    def _rename_take(self, path: Path) -> None:
        name, ok = QInputDialog.getText(self, "Rename take", "New name:", text=path.stem)
        if ok and name:
            try:
                takes_api.rename_take(path, name)
            except MocapError as exc:
                self.show_message(describe(exc))
            self.refresh_takes()

    def _delete_take(self, path: Path) -> None:
        try:
            takes_api.delete_take(path)
        except MocapError as exc:
            self.show_message(describe(exc))
        self.refresh_takes()

    def _export_selected(self) -> None:
        path = self.selected_take()
        if path is None:
            self.show_message("No take to export yet: record one first (space bar).")
            return
        self.export_take(path)

    def export_take(self, path: Path) -> ExportDialog:
        dialog = ExportDialog(path, self.config, self.settings, self, smoothing=self.smoothing_box.currentText())
        dialog.finished_export.connect(self._on_export_done)
        self._exporting = dialog
        dialog.show()
        return dialog

    def _on_export_done(self, message: str, ok: bool) -> None:
        if ok:
            self.statusBar().showMessage(message, 10000)
        else:
            self.show_message(message)

    # -- playback -----------------------------------------------------------------------------------------
    def play_take(self, path: Path | None) -> None:
        """Stop the live view and play `path` back with a timeline (loaded off the UI thread, smoothed as the
        export dialog would with the window's preset)."""
        if path is None:
            self.show_message("No take to play yet: record one first (space bar).")
            return
        self.stop_recording()
        self._live_source = self.controller.session.source if self.controller.session is not None else None
        self.controller.stop()
        self.show_message("")
        self.statusBar().showMessage(f"loading {path.name} …")
        preset = self.smoothing_box.currentText()

        def load() -> None:
            try:
                self._take_loaded.emit(TakePlayback.load(path, self.config, smoothing=preset), None)
            except Exception as exc:  # a damaged or empty take: say so, stay usable
                self._take_loaded.emit(None, describe(exc))

        threading.Thread(target=load, name="take load", daemon=True).start()

    def _on_take_loaded(self, playback, error) -> None:
        if playback is None:
            self.show_message(f"Cannot play the take: {error}")
            return
        self.playback = playback
        self.playback_row.setVisible(True)
        self.playback_bar.set_playback(playback)
        self.statusBar().showMessage(f"{playback.path.stem}: {playback.num_frames} frames, "
                                     f"{playback.duration_s:.1f} s", 5000)

    def _on_playback_frame(self, frame: int) -> None:
        playback = self.playback
        if playback is None:
            return
        people = playback.people_at(frame)
        camera = people[0].camera if people else None
        width, height = (camera.width, camera.height) if camera is not None else (640, 480)
        self.controller.show_people(people, width, height, frame)

    def _leave_playback(self) -> None:
        self.playback_bar.set_playback(None)
        self.playback = None
        self.playback_row.setVisible(False)

    def back_to_live(self) -> None:
        self._leave_playback()
        if self._live_source is not None:
            self.open_source(self._live_source)

    def _offer_interrupted(self) -> None:
        interrupted = takes_api.interrupted_takes(self.takes_folder)
        if interrupted:
            names = ", ".join(t.name for t in interrupted)
            self.show_message(f"The app stopped while recording; these takes were kept and can be exported: {names}.")
            for take in interrupted:
                takes_api.dismiss_interrupted(take.path)

    # -- closing ----------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.save_settings()
        self._timer.stop()
        self.stop_recording()
        if self._exporting is not None:
            self._exporting.cancel_and_wait()
        self.controller.stop()
        self.closed.emit()
        super().closeEvent(event)


def default_takes_folder() -> Path:
    return data_home() / "takes"


def source_to_setting(source: LiveSource) -> str:
    """A source as one string for QSettings: "camera:N", "video:PATH", "video-every:PATH", "folder:PATH"."""
    if source.kind == "camera":
        return f"camera:{source.camera}"
    kind = "video" if source.kind == "video" and source.realtime else ("video-every" if source.kind == "video"
                                                                        else "folder")
    return f"{kind}:{source.path}"


def source_from_setting(value: str | None) -> LiveSource | None:
    if not value or ":" not in value:
        return None
    kind, rest = value.split(":", 1)
    if kind == "camera" and rest.isdigit():
        return LiveSource("camera", camera=int(rest))
    if kind in ("video", "video-every"):
        return LiveSource("video", path=Path(rest), realtime=kind == "video")
    if kind == "folder":
        return LiveSource("folder", path=Path(rest))
    return None

