"""The camera view paints the frame with the people's layer over its box, at the view's size."""

from __future__ import annotations

import numpy as np

from mocap_app.render.layer import PeopleLayer
from tests.render.test_layer import a_drawing


def painted(qtbot, size: tuple[int, int], frame: np.ndarray, layer: PeopleLayer | None) -> np.ndarray:
    from mocap_app.gui.widgets import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.set_image(frame, 1)
    view.set_layer(layer, 1)
    image = view.grab().toImage()
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return pixels[:, :image.width(), 2::-1].copy()  # BGRA in memory -> RGB, before the QImage goes


def test_the_view_blends_the_layer_over_its_box_as_the_layer_does(qtbot) -> None:
    frame = np.random.default_rng(1).integers(0, 256, (480, 640, 3)).astype(np.uint8)
    layer = PeopleLayer.from_rgba(a_drawing())
    shown = painted(qtbot, (640, 480), frame, layer)
    assert shown.shape == (480, 640, 3)
    # Same arithmetic in OpenCV (rounding to whole units at each step): within 2 units of the layer's own blend.
    assert np.abs(shown.astype(int) - layer.over(frame)).max() <= 2
    assert np.array_equal(shown[:100], frame[:100]) and np.array_equal(shown[:, :200], frame[:, :200])
    assert np.array_equal(painted(qtbot, (640, 480), frame, None), frame)


def test_a_smaller_view_scales_the_frame_and_the_layer_together(qtbot) -> None:
    frame = np.full((480, 640, 3), 40, np.uint8)
    rgba = np.zeros((480, 640, 4), np.uint8)
    rgba[100:300, 200:360] = (0, 0, 255, 255)  # an opaque blue block
    shown = painted(qtbot, (320, 240), frame, PeopleLayer.from_rgba(rgba))
    blue = (shown[:, :, 2] > 200) & (shown[:, :, 0] < 60)
    rows, cols = np.nonzero(blue.any(axis=1))[0], np.nonzero(blue.any(axis=0))[0]
    # Half size: rows 50-150, columns 100-180, give or take the bilinear edge pixel.
    assert abs(rows[0] - 50) <= 1 and abs(rows[-1] - 149) <= 1 and abs(cols[0] - 100) <= 1 and abs(cols[-1] - 179) <= 1
