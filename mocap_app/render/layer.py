"""The people drawn for the camera view, cut to where they are: what a viewer lays over the camera's newer frames.

A person covers a fifth of a 640x480 frame or less; a layer of the whole frame made the window thread convert and
blend 1.2 MB ten times a second and every frame 30 times. Cut to the drawing's box and premultiplied where it is
drawn, the viewer only scales it and blends that box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


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
        rows, cols = np.nonzero(alpha.any(axis=1))[0], np.nonzero(alpha.any(axis=0))[0]
        if not len(rows):
            return None
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        straight = np.empty((y1 - y0, x1 - x0, 4), np.uint8)
        straight[:, :, :3] = rgb[y0:y1, x0:x1, :3]
        straight[:, :, 3] = alpha[y0:y1, x0:x1]
        if opacity != 1.0:  # a table of the 256 scaled alphas: a lookup per pixel, no float arithmetic
            straight[:, :, 3] = (np.arange(256) * opacity + 0.5).astype(np.uint8)[straight[:, :, 3]]
        height, width = alpha.shape
        return cls(int(x0), int(y0), cv2.cvtColor(straight, cv2.COLOR_RGBA2mRGBA), (width, height))

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
