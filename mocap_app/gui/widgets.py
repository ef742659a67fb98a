"""Image views of the main window: the camera view and the orbiting 3-D view (mouse: drag to orbit, right-drag or
shift-drag to pan the height, wheel to zoom)."""

from __future__ import annotations

import dataclasses
import time

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from mocap_app.render.geometry import OrbitView


def _resized(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if pixels.shape[1::-1] == size:
        return pixels
    # Bilinear both ways: INTER_AREA is 10x slower at the non-integer shrinks a view needs (~0.9 of a frame).
    return cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR)


def _premultiplied_bgra(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 straight RGBA -> premultiplied BGRA: QImage's ARGB32_Premultiplied bytes, which also
    resize without dark fringes (straight alpha would blend the colour of empty pixels into the edges)."""
    return cv2.cvtColor(cv2.cvtColor(rgba, cv2.COLOR_RGBA2mRGBA), cv2.COLOR_RGBA2BGRA)


class ImageView(QWidget):
    """Paints the newest image, scaled to fit with its aspect ratio kept, and over it the newest layer (the people).
    `painted(timestamp_ns, layer_timestamp_ns, paint_ns)` after each paint of a new image: the image's capture
    timestamp, that of the frame the layer was drawn for (None: no layer) and the moment it was painted
    (perf_counter_ns).

    Images are scaled to the view's size when they arrive, by OpenCV (SIMD; ~0.5 ms for 640x480), and painted
    unscaled: QPainter's smooth scaling of every video frame cost more CPU than the rest of the window, CPU the
    estimator needs. After a resize, the view scales what it has until the next image comes."""

    painted = Signal(object, object, object)  # Python ints: nanosecond stamps overflow Qt's int
    clicked = Signal(float, float)  # a left click, in image pixels

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source: np.ndarray | None = None  # (H, W, 3) uint8 RGB as given (frames are never written to)
        self._shown: QImage | None = None  # the image at its size on screen
        self._shown_pixels: np.ndarray | None = None  # what `_shown` wraps
        self._layer_source: np.ndarray | None = None  # (H, W, 4) straight RGBA
        self._layer: QImage | None = None
        self._layer_pixels: np.ndarray | None = None
        self._layer_stamp: int | None = None
        self._stamp: int | None = None
        self._placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def set_image(self, rgb: np.ndarray, timestamp_ns: int | None = None) -> None:
        self._source, self._stamp = rgb, timestamp_ns
        self._shown_pixels = np.ascontiguousarray(_resized(rgb, self._shown_size()))
        height, width = self._shown_pixels.shape[:2]
        self._shown = QImage(self._shown_pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        if self._layer_source is not None and self._layer is not None and self._layer.size() != self._shown.size():
            self._fit_layer()
        self.update()

    def set_layer(self, rgba: np.ndarray | None, timestamp_ns: int | None = None) -> None:
        """The people's layer ((H, W, 4) RGBA of the image's size), or None to show the image alone."""
        self._layer_source = rgba
        self._layer_stamp = timestamp_ns if rgba is not None else None
        self._fit_layer()

    def _fit_layer(self) -> None:
        if self._layer_source is None or self._source is None \
                or self._layer_source.shape[:2] != self._source.shape[:2]:
            self._layer = self._layer_pixels = None
            return
        self._layer_pixels = np.ascontiguousarray(_resized(_premultiplied_bgra(self._layer_source),
                                                           self._shown_size()))
        height, width = self._layer_pixels.shape[:2]
        self._layer = QImage(self._layer_pixels.data, width, height, 4 * width,
                             QImage.Format.Format_ARGB32_Premultiplied)

    def _shown_size(self) -> tuple[int, int]:
        target = self.target_rect()
        return max(1, round(target.width())), max(1, round(target.height()))

    def image_rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 copy of the image given (without the layer, at its own size)."""
        return np.zeros((0, 0, 3), np.uint8) if self._source is None else np.array(self._source[:, :, :3])

    def target_rect(self) -> QRectF:
        if self._source is None:
            return QRectF(self.rect())
        height, width = self._source.shape[:2]
        scale = min(self.width() / width, self.height() / height)
        return QRectF((self.width() - width * scale) / 2, (self.height() - height * scale) / 2,
                      width * scale, height * scale)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor(28, 28, 30))
            if self._shown is None:
                painter.setPen(QColor(180, 180, 180))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
                return
            target = self.target_rect()
            for image in (self._shown, self._layer):
                if image is None:
                    continue
                if (image.width(), image.height()) == self._shown_size():  # a plain copy: no transform
                    painter.drawImage(QPoint(round(target.x()), round(target.y())), image)
                else:  # the view was resized: scale until the next image
                    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                    painter.drawImage(target, image)
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
