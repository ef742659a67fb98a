"""Synthetic footage with known ground truth: the default avatar performing a known motion, rendered
over a textured room-like background, for evaluations, tests and the sample clip."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence

import cv2
import numpy as np

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.mesh import BodyMesh
from mocap_app.core.params import SmplxParams

from .offscreen import MeshRenderer

SKIN = (0.80, 0.62, 0.50)  # MediaPipe finds pose, face and hands on the avatar in this tone


def room_background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8 RGB: a lit wall with some furniture-like blocks above a textured floor.

    Deliberately cluttered and low-contrast against skin, so detectors cannot find the person by colour alone.
    """
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    wall = np.array([0.72, 0.70, 0.64]) * (0.85 + 0.15 * rows)
    image = np.broadcast_to(wall, (height, width, 3)).copy()
    horizon = int(height * 0.62)
    floor_rows = np.linspace(0.0, 1.0, height - horizon)[:, None, None]
    image[horizon:] = np.array([0.45, 0.36, 0.28]) * (0.8 + 0.35 * floor_rows)
    for x in range(0, width, max(width // 12, 1)):  # floor boards
        cv2.line(image, (x, horizon), (int((x - width / 2) * 2.2 + width / 2), height), (0.36, 0.28, 0.22), 1)
    for _ in range(5):  # shelves, frames, a door
        x0, y0 = int(rng.uniform(0, 0.85) * width), int(rng.uniform(0.05, 0.45) * height)
        w, h = int(rng.uniform(0.06, 0.2) * width), int(rng.uniform(0.08, 0.3) * height)
        cv2.rectangle(image, (x0, y0), (x0 + w, min(y0 + h, horizon)), tuple(rng.uniform(0.2, 0.8, 3)), -1)
    noise = cv2.GaussianBlur(rng.normal(0.0, 0.05, (height, width)), (0, 0), 2.0)[:, :, None]
    return (np.clip(image + noise, 0.0, 1.0) * 255).astype(np.uint8)


def write_video(path: str, frames: Iterator[np.ndarray], fps: float, width: int, height: int) -> int:
    """Write RGB frames as an MPEG-4 video (OpenCV's bundled FFmpeg has no H.264 encoder); returns the count."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"cannot write {path}")
    count = 0
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
            count += 1
    finally:
        writer.release()
    return count



def render_motion(renderer: MeshRenderer, mesh_fn: Callable[[SmplxParams], list[BodyMesh]],
                  params: Sequence[SmplxParams], camera: CameraIntrinsics,
                  background: np.ndarray) -> Iterator[np.ndarray]:
    """Frames of a body posed by each of `params` (mesh_fn: SmplxParams → list[BodyMesh], e.g. the avatar's)."""
    for p in params:
        meshes = [dataclasses.replace(mesh, color=SKIN) for mesh in mesh_fn(p)]
        yield renderer.overlay(meshes, camera, background, opacity=1.0)
