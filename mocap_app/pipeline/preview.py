"""What the live window shows for one result: a transparent layer with the people drawn on it (mesh, skeleton,
boxes, or nothing) that the viewer lays over the camera's newest frame, and the 3-D view of the bodies on a
floor grid — both rendered through the one render thread.

The layer is drawn once per estimate and the video painted at the camera's rate: painting a frame costs a
few milliseconds, rendering the mesh tens, and on a 2-core CPU the estimator needs the rest."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from mocap_app.body.kinematics import posed_joints
from mocap_app.body.lowpoly import LowPolyBody
from mocap_app.core.config import AppConfig
from mocap_app.core.skeleton import PARENTS
from mocap_app.render.geometry import OrbitView, track_color
from mocap_app.render.thread import RenderThread

from .process import build_body
from .runner import FrameResult
from .sinks import MeshSource

VIEW_MODES = ("mesh", "skeleton", "boxes", "off")
_BODY_BONES = [(j, int(PARENTS[j])) for j in range(1, 22)]  # pelvis..wrists: what a skeleton overlay draws


@dataclass(frozen=True)
class PreviewFrame:
    """layer_rgba: (H, W, 4) uint8 straight-alpha drawing of the people for the camera view, or None (overlay off,
    nobody); orbit_rgb: (h, w, 3) uint8 3-D view, or None when not drawn this time; frame_index, timestamp_ns: the
    estimated frame's (timestamp on the capture clock for live sources); people: bodies drawn; boxes: (people, 4)
    xyxy pixels of their detector boxes; render_ms: time spent drawing."""

    layer_rgba: np.ndarray | None
    orbit_rgb: np.ndarray | None
    frame_index: int
    timestamp_ns: int
    people: int
    boxes: np.ndarray
    render_ms: float

    def composite(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8: `rgb` with the layer drawn over it (what the camera view shows)."""
        if self.layer_rgba is None or self.layer_rgba.shape[:2] != rgb.shape[:2]:
            return rgb.copy()
        alpha = self.layer_rgba[:, :, 3:].astype(np.float32) / 255.0
        return (rgb + alpha * (self.layer_rgba[:, :, :3].astype(np.float32) - rgb) + 0.5).astype(np.uint8)


def preview_body(config: AppConfig, progress: Callable[[str], None]) -> MeshSource:
    """The body the window draws: `process.build_body`'s with fewer triangles (`LowPolyBody`)."""
    return LowPolyBody(build_body(config, progress))


def _color255(track_id: int) -> tuple[int, int, int]:
    r, g, b = (255 * track_color(track_id)).astype(int)
    return int(r), int(g), int(b)


class PreviewRenderer:
    """Draws `FrameResult`s for the live window. `body`: the mesh shown (SMPL-X or the default avatar);
    `skeleton`: (55, 3) rest joints the estimates are posed on (`process.drawn_skeleton`)."""

    def __init__(self, body: MeshSource, render: RenderThread, skeleton: np.ndarray, opacity: float = 0.8) -> None:
        self.body, self.render, self.skeleton, self.opacity = body, render, skeleton, opacity

    def draw(self, result: FrameResult, mode: str = "mesh", orbit: OrbitView | None = None) -> PreviewFrame:
        """The layer for `mode` (one of VIEW_MODES) and, when `orbit` is given, the 3-D view from there."""
        start = time.perf_counter()
        frame, people = result.frame, result.people
        meshes = self.body.meshes(people) if people and (mode == "mesh" or orbit is not None) else []
        orbit_future = self.render.submit_orbit(meshes, orbit) if orbit is not None else None
        camera = people[0].camera if people else None
        layer = None
        if mode == "mesh" and meshes and camera is not None and (camera.width, camera.height) == (
                frame.width, frame.height):
            layer = self.render.submit_layer(meshes, camera, self.opacity).result(30.0)
        elif mode == "skeleton" and people:
            layer = np.zeros((frame.height, frame.width, 4), np.uint8)
            self._draw_skeletons(layer, result)
        elif mode == "boxes" and result.persons:
            layer = np.zeros((frame.height, frame.width, 4), np.uint8)
            self._draw_boxes(layer, result)
        orbit_rgb = orbit_future.result(30.0) if orbit_future is not None else None
        boxes = np.array([p.box for p in people], np.float64).reshape(-1, 4)
        return PreviewFrame(layer, orbit_rgb, frame.index, frame.timestamp_ns, len(people), boxes,
                            1000.0 * (time.perf_counter() - start))

    def _draw_skeletons(self, image: np.ndarray, result: FrameResult) -> None:
        joints = posed_joints(result.people, self.skeleton)
        for person, points3d in zip(result.people, joints, strict=True):
            points = person.camera.project(points3d[:22]).round().astype(int)
            color = (*_color255(person.track_id), 255)
            for child, parent in _BODY_BONES:
                cv2.line(image, tuple(points[child]), tuple(points[parent]), color, 3, cv2.LINE_AA)
            for point in points:
                cv2.circle(image, tuple(point), 4, (255, 255, 255, 255), -1, cv2.LINE_AA)

    @staticmethod
    def _draw_boxes(image: np.ndarray, result: FrameResult) -> None:
        for person in result.persons:
            x0, y0, x1, y1 = np.round(person.box).astype(int)
            color = (*_color255(max(person.track_id, 0)), 255)
            cv2.rectangle(image, (x0, y0), (x1, y1), color, 2)
            cv2.putText(image, f"#{person.track_id}", (x0 + 4, max(y0 - 6, 14)), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                        color, 2, cv2.LINE_AA)
