"""Person box → network crop and back, as the official SMPLer-X demo does it (`common/utils/preprocessing.py`).

The box is clipped to the image, widened or heightened to the crop's aspect ratio (w/h = 384/512), enlarged
1.25x about its centre, and the image is warped into a 512x384 crop with an affine map that sends the box centre
to the crop centre (no half-pixel terms), bilinear, black outside the image.
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_HW = (512, 384)
BOX_ENLARGEMENT = 1.25  # the demo's `process_bbox` default (dataset loaders use 1.2)


def process_box(box_xywh: np.ndarray, image_width: int, image_height: int,
                ratio: float = BOX_ENLARGEMENT, crop_hw: tuple[int, int] = CROP_HW) -> np.ndarray | None:
    """Detector box (x, y, w, h) in image pixels → the crop box (x, y, w, h) float32 with w/h = crop aspect.

    Returns None when nothing of the box lies inside the image.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(image_width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(image_height - 1.0, y1 + max(0.0, h - 1.0))
    if not (w * h > 0 and x2 > x1 and y2 > y1):
        return None
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2.0, y1 + h / 2.0
    aspect = crop_hw[1] / crop_hw[0]
    if w > aspect * h:
        h = w / aspect
    elif w < aspect * h:
        w = h * aspect
    w, h = w * ratio, h * ratio
    return np.array([cx - w / 2.0, cy - h / 2.0, w, h], dtype=np.float32)


def crop_transform(box_xywh: np.ndarray, crop_hw: tuple[int, int] = CROP_HW, inverse: bool = False) -> np.ndarray:
    """(2, 3) float32 affine map image → crop pixels (or crop → image with inverse=True) for a crop box."""
    x, y, w, h = (float(v) for v in box_xywh)
    center = np.array([x + 0.5 * w, y + 0.5 * h], dtype=np.float32)
    src = np.stack([center, center + np.array([0, h * 0.5], np.float32), center + np.array([w * 0.5, 0], np.float32)])
    out_h, out_w = crop_hw
    dst_center = np.array([out_w * 0.5, out_h * 0.5], dtype=np.float32)
    dst = np.stack([dst_center, dst_center + np.array([0, out_h * 0.5], np.float32),
                    dst_center + np.array([out_w * 0.5, 0], np.float32)])
    src, dst = src.astype(np.float32), dst.astype(np.float32)
    matrix = cv2.getAffineTransform(dst, src) if inverse else cv2.getAffineTransform(src, dst)
    return matrix.astype(np.float32)


def apply_transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(2, 3) affine map applied to (..., 2) points; returns float64 (..., 2)."""
    m = matrix.astype(np.float64)
    return np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def crop_image(image: np.ndarray, box_xywh: np.ndarray, crop_hw: tuple[int, int] = CROP_HW) -> np.ndarray:
    """(H, W, 3) uint8 image → (crop_h, crop_w, 3) float32 crop in 0..255, same channel order.

    Only the part of the image the crop can read (plus a 2-pixel margin) is converted to float, which gives the
    same pixels as warping the whole float image (as the official code does) at a fraction of the cost.
    """
    out_h, out_w = crop_hw
    to_crop = crop_transform(box_xywh, crop_hw).astype(np.float64)
    corners = apply_transform(crop_transform(box_xywh, crop_hw, inverse=True),
                              np.array([[0, 0], [out_w, 0], [0, out_h], [out_w, out_h]]))
    x0 = int(np.clip(np.floor(corners[:, 0].min()) - 2, 0, image.shape[1]))
    y0 = int(np.clip(np.floor(corners[:, 1].min()) - 2, 0, image.shape[0]))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 3, 0, image.shape[1]))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 3, 0, image.shape[0]))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((out_h, out_w, 3), dtype=np.float32)
    window = image[y0:y1, x0:x1].astype(np.float32)
    shifted = to_crop.copy()
    shifted[:, 2] += to_crop[:, 0] * x0 + to_crop[:, 1] * y0  # window pixel (i, j) is image pixel (x0+i, y0+j)
    return cv2.warpAffine(window, shifted, (out_w, out_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
