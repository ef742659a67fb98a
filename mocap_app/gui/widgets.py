"""Image views of the main window: the camera view and the orbiting 3-D view (mouse: drag to orbit, right-drag or
shift-drag to pan the height, wheel to zoom)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from mocap_app.render.geometry import OrbitView


def to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage sharing nothing with `rgb` ((H, W, 3) uint8 RGB, or (H, W, 4) straight-alpha RGBA, which comes
    back premultiplied: the format QPainter blends fastest)."""
    rgb = np.ascontiguousarray(rgb)
    height, width, channels = rgb.shape
    if channels == 4:
        image = QImage(rgb.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
        return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageView(QWidget):
    """Paints the newest image, scaled to fit with its aspect ratio kept, and over it the newest layer (the people).
    `painted(timestamp_ns, layer_timestamp_ns, paint_ns)` after each paint of a new image: the image's capture
    timestamp, that of the frame the layer was drawn for (None: no layer) and the moment it was painted
    (perf_counter_ns)."""

    painted = Signal(object, object, object)  # Python ints: nanosecond stamps overflow Qt's int
    clicked = Signal(float, float)  # a left click, in image pixels

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._layer: QImage | None = None
        self._layer_stamp: int | None = None
        self._stamp: int | None = None
        self._placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def set_image(self, rgb: np.ndarray, timestamp_ns: int | None = None) -> None:
        self._image, self._stamp = to_qimage(rgb), timestamp_ns
        self.update()

    def set_layer(self, rgba: np.ndarray | None, timestamp_ns: int | None = None) -> None:
        """The people's layer ((H, W, 4) RGBA of the image's size), or None to show the image alone."""
        self._layer = None if rgba is None else to_qimage(rgba)
        self._layer_stamp = timestamp_ns if rgba is not None else None

    def image(self) -> QImage | None:
        return self._image

    def image_rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 copy of the image shown (without the layer)."""
        if self._image is None:
            return np.zeros((0, 0, 3), np.uint8)
        image = self._image.convertToFormat(QImage.Format.Format_RGB888)
        rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
        return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()

    def target_rect(self) -> QRectF:
        if self._image is None:
            return QRectF(self.rect())
        scale = min(self.width() / self._image.width(), self.height() / self._image.height())
        w, h = self._image.width() * scale, self._image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor(28, 28, 30))
            if self._image is None:
                painter.setPen(QColor(180, 180, 180))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
                return
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            target = self.target_rect()
            painter.drawImage(target, self._image)
            if self._layer is not None and self._layer.size() == self._image.size():
                painter.drawImage(target, self._layer)
        finally:
            painter.end()
        if self._stamp is not None:
            stamp, self._stamp = self._stamp, None
            self.painted.emit(stamp, self._layer_stamp, time.perf_counter_ns())


class OrbitImageView(ImageView):
    """The 3-D view; `view_changed(OrbitView)` when the mouse orbits or zooms it."""

    view_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("3-D view", parent)
        self.view = OrbitView()
        self._last: QPointF | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._last = event.position()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._last = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None:
            return
        delta = event.position() - self._last
        self._last = event.position()
        self.set_view(dataclasses.replace(
            self.view, azimuth_deg=(self.view.azimuth_deg - 0.4 * delta.x()) % 360.0,
            elevation_deg=float(np.clip(self.view.elevation_deg + 0.3 * delta.y(), -30.0, 85.0))))

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        self.set_view(dataclasses.replace(self.view, distance_m=float(np.clip(
            self.view.distance_m * 0.9 ** steps, 1.0, 15.0))))

    def set_view(self, view: OrbitView) -> None:
        self.view = view
        self.view_changed.emit(view)
