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


def _premultiplied(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 4) uint8 straight RGBA -> (H, W, 3) premultiplied BGR and (H, W, 3) 255 - alpha: what a frame is
    blended with (premultiplied colour also resizes without dark fringes)."""
    premultiplied = cv2.cvtColor(rgba, cv2.COLOR_RGBA2mRGBA)
    return (cv2.cvtColor(premultiplied, cv2.COLOR_RGBA2BGR),
            cv2.cvtColor(cv2.bitwise_not(premultiplied[:, :, 3]), cv2.COLOR_GRAY2BGR))


class ImageView(QWidget):
    """Paints the newest image, scaled to fit with its aspect ratio kept, and over it the newest layer (the people).
    `painted(timestamp_ns, layer_timestamp_ns, paint_ns)` after each paint of a new image: the image's capture
    timestamp, that of the frame the layer was drawn for (None: no layer) and the moment it was painted
    (perf_counter_ns).

    Images are scaled to the view's size and blended with the layer when they arrive, by OpenCV, into the
    screen's own pixel format (32-bit xRGB), and painted as one plain copy. QPainter converts and blends while
    holding Python's GIL (a 640x480 RGB frame and its layer: the window thread held the GIL 14 % of the time,
    time the estimator's Python waited for); OpenCV releases it and uses SIMD (~1 ms a frame). After a resize,
    the view scales what it has until the next image comes."""

    painted = Signal(object, object, object)  # Python ints: nanosecond stamps overflow Qt's int
    clicked = Signal(float, float)  # a left click, in image pixels

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source: np.ndarray | None = None  # (H, W, 3) uint8 RGB as given (frames are never written to)
        self._frame_bgr: np.ndarray | None = None  # the image at its size on screen
        self._shown: QImage | None = None  # the image with the layer over it, as painted
        self._shown_pixels: np.ndarray | None = None  # (h, w, 4) BGRx bytes `_shown` wraps
        self._layer_source: np.ndarray | None = None  # (H, W, 4) straight RGBA
        self._layer: tuple[np.ndarray, np.ndarray] | None = None  # premultiplied BGR, 255 - alpha; shown size
        self._layer_stamp: int | None = None
        self._stamp: int | None = None
        self._placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def set_image(self, rgb: np.ndarray, timestamp_ns: int | None = None) -> None:
        self._source, self._stamp = rgb, timestamp_ns
        self._frame_bgr = cv2.cvtColor(_resized(rgb, self._shown_size()), cv2.COLOR_RGB2BGR)
        if self._layer is not None and self._layer[0].shape != self._frame_bgr.shape:
            self._fit_layer()
        self._compose()

    def set_layer(self, rgba: np.ndarray | None, timestamp_ns: int | None = None) -> None:
        """The people's layer ((H, W, 4) RGBA of the image's size), or None to show the image alone."""
        self._layer_source = rgba
        self._layer_stamp = timestamp_ns if rgba is not None else None
        self._fit_layer()
        if self._frame_bgr is not None:
            self._compose()

    def _fit_layer(self) -> None:
        if self._layer_source is None or self._source is None \
                or self._layer_source.shape[:2] != self._source.shape[:2]:
            self._layer = None
            return
        colour, clear = _premultiplied(self._layer_source)
        size = self._shown_size()
        self._layer = _resized(colour, size), _resized(clear, size)

    def _compose(self) -> None:
        frame = self._frame_bgr
        if self._layer is not None:  # premultiplied "over": layer + frame * (255 - alpha) / 255
            colour, clear = self._layer
            frame = cv2.add(cv2.multiply(frame, clear, scale=1.0 / 255.0), colour)
        self._shown_pixels = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
        height, width = self._shown_pixels.shape[:2]
        self._shown = QImage(self._shown_pixels.data, width, height, 4 * width, QImage.Format.Format_RGB32)
        self.update()

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
            if self._shown is None:
                painter.fillRect(self.rect(), QColor(28, 28, 30))
                painter.setPen(QColor(180, 180, 180))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
                return
            target = self.target_rect()
            self._fill_margins(painter, target)
            if (self._shown.width(), self._shown.height()) == self._shown_size():  # a plain copy: no transform
                painter.drawImage(QPoint(round(target.x()), round(target.y())), self._shown)
            else:  # the view was resized: scale until the next image
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(target, self._shown)
        finally:
            painter.end()
        if self._stamp is not None:
            stamp, self._stamp = self._stamp, None
            self.painted.emit(stamp, self._layer_stamp, time.perf_counter_ns())

    def _fill_margins(self, painter: QPainter, target: QRectF) -> None:
        """The view's background beside the image only: under it every pixel is painted anyway."""
        background = QColor(28, 28, 30)
        full = QRectF(self.rect())
        for margin in (QRectF(full.left(), full.top(), full.width(), target.top() - full.top()),
                       QRectF(full.left(), target.bottom(), full.width(), full.bottom() - target.bottom()),
                       QRectF(full.left(), target.top(), target.left() - full.left(), target.height()),
                       QRectF(target.right(), target.top(), full.right() - target.right(), target.height())):
            if margin.width() > 0 and margin.height() > 0:
                painter.fillRect(margin, background)


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
