"""Synthetic takes of people moving over the empty room: the avatar renders of tests/data/detect cut out by their
silhouettes, scaled and pasted where a script puts them each frame. Known boxes, no renderer needed (fast)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data" / "detect"
WIDTH, HEIGHT = 640, 480
TINT_OTHER = (0.55, 0.75, 1.25)  # the second person: bluish clothes and skin, so the two look different


@cache
def cutout(name: str) -> tuple[np.ndarray, np.ndarray]:
    """An avatar's pixels (RGB) and silhouette, cropped to the silhouette's box."""
    image = cv2.imread(str(DATA / f"{name}.jpg"))[..., ::-1]
    mask = cv2.imread(str(DATA / f"{name}_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
    ys, xs = np.nonzero(mask)
    box = np.s_[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    return np.ascontiguousarray(image[box]), np.ascontiguousarray(mask[box])


@cache
def room() -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(DATA / "room.jpg"))[..., ::-1])


@dataclass(frozen=True)
class Placement:
    """One person in one frame: which render, silhouette height in pixels, centre x and foot y, tint."""

    name: str
    height_px: float
    cx: float
    foot_y: float
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)


def compose(people: list[Placement],
            background: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """(H, W, 3) uint8 RGB with `people` pasted in order (later ones in front) and each one's visible box (xyxy,
    None when outside the frame)."""
    image = (room() if background is None else background).copy()
    boxes: list[np.ndarray | None] = []
    for person in people:
        pixels, mask = cutout(person.name)
        scale = person.height_px / mask.shape[0]
        w, h = max(round(mask.shape[1] * scale), 1), max(round(mask.shape[0] * scale), 1)
        pixels = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        tinted = np.clip(pixels * np.array(person.tint), 0, 255).astype(np.uint8)
        x0, y0 = round(person.cx - w / 2), round(person.foot_y - h)
        ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + w, image.shape[1]), min(y0 + h, image.shape[0])
        if ix1 <= ix0 or iy1 <= iy0:
            boxes.append(None)
            continue
        sub = mask[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        image[iy0:iy1, ix0:ix1][sub] = tinted[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0][sub]
        ys, xs = np.nonzero(sub)
        boxes.append(np.array([xs.min() + ix0, ys.min() + iy0, xs.max() + ix0 + 1, ys.max() + iy0 + 1], np.float64)
                     if len(xs) else None)
    return image, boxes


def walk_out_and_back(frames: int = 45) -> list[list[Placement]]:
    """The subject (front, centre, ~330 px) walks off the right edge, stays away a third of the take and comes
    back; a second, differently dressed person stands on the left throughout."""
    script = []
    for t in range(frames):
        phase = t / (frames - 1)
        if phase < 1 / 3:
            cx = 360 + (phase * 3) * 500  # 360 → 860: out by the right edge
        elif phase < 2 / 3:
            cx = 900.0  # away
        else:
            cx = 860 - ((phase - 2 / 3) * 3) * 500  # back in
        name = "avatar_000" if t % 10 < 5 else "avatar_015"
        script.append([Placement("avatar_090", 300, 130, 450, TINT_OTHER), Placement(name, 330, cx, 460)])
    return script


def crossing(frames: int = 40, subject_in_front: bool = True) -> list[list[Placement]]:
    """The subject walks left → right, the other person right → left; they cross in the middle of the take
    (one passing in front of the other)."""
    script = []
    for t in range(frames):
        phase = t / (frames - 1)
        subject = Placement("avatar_000" if t % 8 < 4 else "avatar_015", 320, 140 + 360 * phase, 460)
        other = Placement("avatar_090", 300, 500 - 360 * phase, 450, TINT_OTHER)
        script.append([other, subject] if subject_in_front else [subject, other])
    return script


def write_take(path: Path, script: list[list[Placement]], fps: float = 15.0) -> list[list[np.ndarray | None]]:
    """The scripted take as an mp4 (mp4v) → each frame's boxes, in the script's order."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (WIDTH, HEIGHT))
    boxes = []
    for people in script:
        image, frame_boxes = compose(people)
        writer.write(np.ascontiguousarray(image[..., ::-1]))
        boxes.append(frame_boxes)
    writer.release()
    return boxes
