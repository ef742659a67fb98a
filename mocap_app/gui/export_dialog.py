"""The export dialog: a take written as FBX/BVH/glb/npz by the same code as `python main.py export`
(`pipeline.takes.export_take`), on a worker thread, cancellable, the window usable meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import RunInterrupted
from mocap_app.export import ExportOptions
from mocap_app.export.bone_names import BONE_NAME_TABLES
from mocap_app.pipeline import takes as takes_api
from mocap_app.pipeline.exporting import MESH_CHOICES
from mocap_app.smoothing import PRESETS

from .session import describe

FORMATS = ("fbx", "bvh", "glb", "npz")
CHOICES = {
    "format": FORMATS,
    "bone_names": tuple(BONE_NAME_TABLES),
    "up_axis": ("y", "z"),
    "units": ("cm", "m"),
    "mesh": MESH_CHOICES,
    "root": ("ground", "camera"),
}
LABELS = {"format": "Format", "bone_names": "Bone names", "up_axis": "Up axis", "units": "Units", "mesh": "Mesh",
          "root": "Root", "person": "Person"}


class ExportDialog(QDialog):
    """Export one take. `finished_export(message, ok)` when the export ends (written files, or the error)."""

    finished_export = Signal(str, bool)
    _progress = Signal(str)
    _done = Signal(str, bool)

    def __init__(self, take: Path, config: AppConfig, settings: QSettings, parent: QWidget | None = None,
                 smoothing: str | None = None) -> None:
        """smoothing: the preset the take is smoothed with before it is written (look-ahead; default: the
        settings' preset); the window passes its live preset."""
        super().__init__(parent)
        self.take, self.config, self.settings = Path(take), config, settings
        self.setWindowTitle(f"Export {self.take.stem}")
        self.boxes: dict[str, QComboBox] = {}
        form = QFormLayout()
        for key, values in CHOICES.items():
            box = QComboBox()
            box.addItems(list(values))
            saved = settings.value(f"export/{key}")
            if saved is not None and box.findText(str(saved)) >= 0:
                box.setCurrentText(str(saved))
            self.boxes[key] = box
            form.addRow(LABELS[key], box)
        self.smoothing_box = QComboBox()
        self.smoothing_box.addItems(list(PRESETS))
        self.smoothing_box.setCurrentText(smoothing or config.smoothing.preset)
        form.addRow("Smoothing", self.smoothing_box)
        person = QComboBox()
        person.addItem("all")
        try:
            tracks = takes_api.take_info(self.take).tracks
        except FileNotFoundError:  # deleted meanwhile: the export says so
            tracks = {}
        for track_id in sorted(tracks):
            person.addItem(str(track_id))
        self.boxes["person"] = person
        form.addRow(LABELS["person"], person)
        self.output = QLineEdit(str(self._default_output()))
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.output, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.boxes["format"].currentTextChanged.connect(self._format_changed)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.cancel_button = QPushButton("Close")
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress.connect(self.status.setText)
        self._done.connect(self._finish)
        self.written: list[Path] = []

    def _default_output(self) -> Path:
        folder = Path(str(self.settings.value("export/folder", str(self.take.parent))))
        return folder / f"{self.take.stem}.{self.boxes['format'].currentText()}"

    def _format_changed(self, fmt: str) -> None:
        self.output.setText(str(Path(self.output.text()).with_suffix(f".{fmt}")))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.output.text())
        if path:
            self.output.setText(path)

    def options(self) -> ExportOptions:
        return ExportOptions(bone_names=self.boxes["bone_names"].currentText(),
                             up_axis=self.boxes["up_axis"].currentText(), units=self.boxes["units"].currentText(),
                             root=self.boxes["root"].currentText())

    def start(self) -> None:
        """Run the export on a worker thread (the dialog stays responsive; Cancel stops it between files)."""
        if self._thread is not None and self._thread.is_alive():
            return
        output = Path(self.output.text()).expanduser()
        fmt = self.boxes["format"].currentText()
        for key in CHOICES:
            self.settings.setValue(f"export/{key}", self.boxes[key].currentText())
        self.settings.setValue("export/folder", str(output.parent))
        self._cancel.clear()
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.status.setText("exporting…")
        options, mesh, person = self.options(), self.boxes["mesh"].currentText(), self.boxes["person"].currentText()
        smoothing = self.smoothing_box.currentText()

        def work() -> None:
            try:
                results = takes_api.export_take(self.take, output, options, self.config, person=person, mesh=mesh,
                                                format_name=fmt, smoothing=smoothing, progress=self._progress.emit,
                                                cancelled=self._cancel.is_set)
            except RunInterrupted:
                self._done.emit("Export cancelled.", False)
                return
            except Exception as exc:  # shown in the dialog and the window; the app stays usable
                self._done.emit(f"Export failed: {describe(exc)}", False)
                return
            self.written = [r.path for r in results]
            self._done.emit("Wrote " + ", ".join(f"{r.path.name} ({r.frames} frames)" for r in results), True)

        self._thread = threading.Thread(target=work, name="export", daemon=True)
        self._thread.start()

    def _finish(self, message: str, ok: bool) -> None:
        self.status.setText(message)
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.finished_export.emit(message, ok)

    def _cancel_or_close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._cancel.set()
        else:
            self.close()

    def wait(self, timeout_s: float = 120.0) -> bool:
        """Block until the export thread ends (tests, closing the app); True when it did."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def cancel_and_wait(self) -> None:
        self._cancel.set()
        self.wait()
