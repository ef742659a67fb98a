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
from mocap_app.render.layer import PeopleLayer


def _resized(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if pixels.shape[1::-1] == size:
        return pixels
    # Bilinear both ways: INTER_AREA is 10x slower at the non-integer shrinks a view needs (~0.9 of a frame).
    return cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR)


class ImageView(QWidget):
    """Paints the newest image, scaled to fit with its aspect ratio kept, and over it the newest layer (the people).
    `painted(timestamp_ns, layer_timestamp_ns, paint_ns)` after each paint of a new image: the image's capture
    timestamp, that of the frame the layer was drawn for (None: no layer) and the moment it was painted
    (perf_counter_ns).

    Images are scaled to the view's size when they arrive, by OpenCV, into the screen's own pixel format (32-bit
    xRGB), the layer (`PeopleLayer`: premultiplied, cut to the people) blended over its box only, and painted as
    one plain copy. QPainter converts and blends while holding Python's GIL (a 640x480 RGB frame and its layer:
    the window thread held the GIL 14 % of the time, time the estimator's Python waited for); OpenCV releases it
    and uses SIMD. After a resize, the view scales what it has until the next image comes."""

    painted = Signal(object, object, object)  # Python ints: nanosecond stamps overflow Qt's int
    clicked = Signal(float, float)  # a left click, in image pixels

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source: np.ndarray | None = None  # (H, W, 3) uint8 RGB as given (frames are never written to)
        self._frame_bgrx: np.ndarray | None = None  # (h, w, 4) the image at its size on screen
        self._shown: QImage | None = None  # the image with the layer over it, as painted
        self._shown_pixels: np.ndarray | None = None  # (h, w, 4) BGRx bytes `_shown` wraps
        self._layer_source: PeopleLayer | None = None
        # At the size on screen: (x, y, premultiplied BGRx, 255 - alpha in all 4 channels), for a view of `size`.
        self._layer: tuple[int, int, np.ndarray, np.ndarray] | None = None
        self._layer_size: tuple[int, int] | None = None
        self._layer_stamp: int | None = None
        self._stamp: int | None = None
        self._placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def set_image(self, rgb: np.ndarray, timestamp_ns: int | None = None) -> None:
        self._source, self._stamp = rgb, timestamp_ns
        size = self._shown_size()
        self._frame_bgrx = cv2.cvtColor(_resized(rgb, size), cv2.COLOR_RGB2BGRA)
        if self._layer_source is not None and self._layer_size != size:
            self._fit_layer()
        self._compose()

    def set_layer(self, layer: PeopleLayer | None, timestamp_ns: int | None = None) -> None:
        """The people's layer (drawn for a frame of the image's size), or None to show the image alone."""
        self._layer_source = layer
        self._layer_stamp = timestamp_ns if layer is not None else None
        self._fit_layer()
        if self._frame_bgrx is not None:
            self._compose()

    def _fit_layer(self) -> None:
        layer, self._layer, self._layer_size = self._layer_source, None, None
        if layer is None or self._source is None or layer.frame_size != self._source.shape[1::-1]:
            return
        size = self._shown_size()
        scale_x, scale_y = size[0] / layer.frame_size[0], size[1] / layer.frame_size[1]
        height, width = layer.rgba.shape[:2]
        x0, y0 = int(layer.x * scale_x), int(layer.y * scale_y)
        x1 = min(int(np.ceil((layer.x + width) * scale_x)), size[0])
        y1 = min(int(np.ceil((layer.y + height) * scale_y)), size[1])
        if x1 <= x0 or y1 <= y0:
            return
        rgba = _resized(layer.rgba, (x1 - x0, y1 - y0))
        clear = cv2.cvtColor(cv2.bitwise_not(np.ascontiguousarray(rgba[:, :, 3])), cv2.COLOR_GRAY2BGRA)
        self._layer = x0, y0, cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), clear
        self._layer_size = size

    def _compose(self) -> None:
        frame = self._frame_bgrx
        if self._layer is not None:  # premultiplied "over" in the layer's box: layer + frame * (255 - alpha) / 255
            x, y, colour, clear = self._layer
            frame = frame.copy()
            box = frame[y:y + colour.shape[0], x:x + colour.shape[1]]
            box[:] = cv2.add(cv2.multiply(box, clear, scale=1.0 / 255.0), colour)
        self._shown_pixels = frame
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
