"""PeopleLayer: a drawing cut to where it is drawn, premultiplied, laid over frames as straight alpha would be."""

from __future__ import annotations

import numpy as np

from mocap_app.render.layer import PeopleLayer


def a_drawing(seed: int = 0) -> np.ndarray:
    rgba = np.zeros((480, 640, 4), np.uint8)
    rgba[100:300, 200:350] = np.random.default_rng(seed).integers(0, 256, (200, 150, 4))
    rgba[100:300, 200:350, 3] = np.maximum(rgba[100:300, 200:350, 3], 1)  # drawn everywhere in its box
    return rgba


def test_a_layer_is_cut_to_the_drawing_and_blends_like_straight_alpha() -> None:
    rgba = a_drawing()
    layer = PeopleLayer.from_rgba(rgba)
    assert layer is not None and (layer.x, layer.y, layer.rgba.shape, layer.frame_size) == (200, 100, (200, 150, 4),
                                                                                             (640, 480))
    frame = np.random.default_rng(1).integers(0, 256, (480, 640, 3)).astype(np.uint8)
    expected = frame + rgba[:, :, 3:] / 255.0 * (rgba[:, :, :3].astype(float) - frame)
    # Premultiplied colour is rounded to whole units once: within one unit of the float blend.
    assert np.abs(layer.over(frame) - expected).max() <= 1.0
    back = layer.straight_rgba()
    assert np.array_equal(back[:, :, 3], rgba[:, :, 3])
    opaque = rgba[:, :, 3] >= 128  # un-premultiplying loses up to 255 / alpha / 2 units
    assert np.abs(back[opaque].astype(int) - rgba[opaque]).max() <= 1


def test_opacity_scales_the_alpha_and_an_empty_drawing_is_no_layer() -> None:
    rgba = a_drawing()
    rgba[:, :, 3] = np.where(rgba[:, :, 3] > 0, 255, 0)
    layer = PeopleLayer.cut(rgba[:, :, :3], rgba[:, :, 3], opacity=0.8)
    assert layer is not None and set(np.unique(layer.rgba[:, :, 3])) == {204}
    assert PeopleLayer.from_rgba(np.zeros((480, 640, 4), np.uint8)) is None
