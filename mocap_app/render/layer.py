"""The people drawn for the camera view, cut to where they are: what a viewer lays over the camera's newer frames.

A person covers a fifth of a 640x480 frame or less; a layer of the whole frame made the window thread convert and
blend 1.2 MB ten times a second and every frame 30 times. Cut to the drawing's box and premultiplied where it is
drawn, the viewer only scales it and blends that box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def drawn_box(alpha: np.ndarray) -> tuple[slice, slice] | None:
    """(rows, columns) slices of the box around the pixels of (H, W) `alpha` that are not 0, or None for none."""
    rows, cols = np.nonzero(alpha.any(axis=1))[0], np.nonzero(alpha.any(axis=0))[0]
    if not len(rows):
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


@dataclass(frozen=True)
class PeopleLayer:
    """rgba: (h, w, 4) uint8, colour premultiplied by alpha (alpha: how much of the frame it hides); x, y: its
    top-left pixel in a frame of `frame_size` (W, H)."""

    x: int
    y: int
    rgba: np.ndarray
    frame_size: tuple[int, int]

    @classmethod
    def cut(cls, rgb: np.ndarray, alpha: np.ndarray, opacity: float = 1.0) -> PeopleLayer | None:
        """From a frame-sized drawing: (H, W, 3+) uint8 colour and (H, W) uint8 straight alpha (0: not drawn
        there), the alpha scaled by `opacity`; None when nothing was drawn."""
        box = drawn_box(alpha)
        if box is None:
            return None
        rows, cols = box
        straight = np.empty((rows.stop - rows.start, cols.stop - cols.start, 4), np.uint8)
        straight[:, :, :3] = rgb[rows, cols, :3]
        straight[:, :, 3] = alpha[box]
        if opacity != 1.0:  # a table of the 256 scaled alphas: a lookup per pixel, no float arithmetic
            straight[:, :, 3] = (np.arange(256) * opacity + 0.5).astype(np.uint8)[straight[:, :, 3]]
        height, width = alpha.shape
        return cls(int(cols.start), int(rows.start), cv2.cvtColor(straight, cv2.COLOR_RGBA2mRGBA), (width, height))

    @classmethod
    def from_rgba(cls, rgba: np.ndarray) -> PeopleLayer | None:
        """From a frame-sized straight-alpha (H, W, 4) uint8 drawing."""
        return cls.cut(rgba, rgba[:, :, 3])

    def straight_rgba(self) -> np.ndarray:
        """(H, W, 4) uint8 of the whole frame, straight alpha (transparent outside the box)."""
        width, height = self.frame_size
        out = np.zeros((height, width, 4), np.uint8)
        h, w = self.rgba.shape[:2]
        out[self.y:self.y + h, self.x:self.x + w] = cv2.cvtColor(self.rgba, cv2.COLOR_mRGBA2RGBA)
        return out

    def over(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8: `rgb` (the frame's size) with the layer over it."""
        out = rgb[:, :, :3].copy()
        h, w = self.rgba.shape[:2]
        under = out[self.y:self.y + h, self.x:self.x + w].astype(np.uint16)
        colour, alpha = self.rgba[:, :, :3].astype(np.uint16), self.rgba[:, :, 3:].astype(np.uint16)
        out[self.y:self.y + h, self.x:self.x + w] = colour + (under * (255 - alpha) + 127) // 255
        return out
