"""What the live window shows for one result: a transparent layer with the people drawn on it (mesh, skeleton,
boxes, or nothing) that the viewer lays over the camera's newest frame, and the 3-D view of the bodies on a
floor grid — both rendered through the one render thread.

The layer is drawn once per estimate and the video painted at the camera's rate: painting a frame costs a
few milliseconds, rendering the mesh tens, and on a 2-core CPU the estimator needs the rest. The window draws
in a process of its own (`PreviewProcess`) at the lowest CPU priority: drawing's Python (skinning, pyrender)
then never holds the estimator's GIL, and it only takes CPU the estimator leaves."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from mocap_app.body.kinematics import posed_joints
from mocap_app.body.lowpoly import LowPolyBody
from mocap_app.core.config import AppConfig
from mocap_app.core.errors import MocapError
from mocap_app.core.frames import Frame
from mocap_app.core.skeleton import PARENTS
from mocap_app.render.geometry import OrbitView, track_color
from mocap_app.render.layer import PeopleLayer
from mocap_app.render.thread import RenderThread

from .process import build_body, drawn_skeleton
from .runner import FrameResult
from .sinks import MeshSource

logger = logging.getLogger(__name__)

VIEW_MODES = ("mesh", "skeleton", "boxes", "off")
_BODY_BONES = [(j, int(PARENTS[j])) for j in range(1, 22)]  # pelvis..wrists: what a skeleton overlay draws


@dataclass(frozen=True)
class PreviewFrame:
    """layer: the people drawn for the camera view, or None (overlay off, nobody); orbit_rgb: (h, w, 3) uint8 3-D
    view, or None when not drawn this time; frame_index, timestamp_ns: the estimated frame's (timestamp on the
    capture clock for live sources); people: bodies drawn; boxes: (people, 4) xyxy pixels of their detector
    boxes; render_ms: time spent drawing."""

    layer: PeopleLayer | None
    orbit_rgb: np.ndarray | None
    frame_index: int
    timestamp_ns: int
    people: int
    boxes: np.ndarray
    render_ms: float

    def composite(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8: `rgb` with the layer drawn over it (what the camera view shows)."""
        if self.layer is None or self.layer.frame_size != (rgb.shape[1], rgb.shape[0]):
            return rgb.copy()
        return self.layer.over(rgb)


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
            drawing = np.zeros((frame.height, frame.width, 4), np.uint8)
            self._draw_skeletons(drawing, result)
            layer = PeopleLayer.from_rgba(drawing)
        elif mode == "boxes" and result.persons:
            drawing = np.zeros((frame.height, frame.width, 4), np.uint8)
            self._draw_boxes(drawing, result)
            layer = PeopleLayer.from_rgba(drawing)
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


class PreviewError(MocapError):
    """The preview process could not start or stopped."""


def _pixelless(width: int, height: int, index: int, timestamp_ns: int) -> Frame:
    """A frame of this size without pixels (a read-only zero-stride view): what a drawing needs of one."""
    return Frame(np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (height, width, 3)), index, timestamp_ns)


def _lowest_priority(niceness: int) -> None:
    """This process at the lowest CPU priority, each of its threads (a policy is per thread: the math libraries'
    pools exist by now) and those started later: Linux's SCHED_IDLE, which runs only on CPU time nothing else
    wants (the window's estimate rate beside the pipeline alone 0.90-1.03 against 0.87-0.91 at nice 19, 5
    alternating rounds on 2 cores; the body drawn ~15 ms later), else `niceness`."""
    if hasattr(os, "SCHED_IDLE") and os.path.isdir("/proc/self/task"):
        try:
            for thread in os.listdir("/proc/self/task"):
                os.sched_setscheduler(int(thread), os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:  # a thread that just ended, or a kernel that refuses: fall back to niceness
            pass
    if hasattr(os, "nice"):
        os.nice(niceness)


def _serve(connection, config: AppConfig, orbit_size: tuple[int, int], niceness: int) -> None:
    """The preview process: loads the body, then draws each (result, mode, orbit) it is sent until told to stop.
    Replies: ("progress", line) while loading, then ("ready",) or ("error", message, hint); per request
    ("frame", PreviewFrame) or ("error", message, hint)."""
    _lowest_priority(niceness)  # before the render thread exists: it inherits it
    # Mesa's software rasterizer (llvmpipe) draws in the render thread instead of handing each draw to worker
    # threads: the window's estimate rate beside the pipeline alone 0.83-0.89 against 0.76-0.87 with them
    # (3 alternating rounds, 2 cores; the drawing itself is small). Read when the GL context is made.
    os.environ.setdefault("LP_NUM_THREADS", "0")
    render = None
    try:
        try:
            render = RenderThread(config.render.platform, *orbit_size, config.render.msaa_samples,
                                  vertex_lighting=True).start()
            renderer = PreviewRenderer(preview_body(config, lambda line: connection.send(("progress", line))),
                                       render, drawn_skeleton(config))
        except MocapError as exc:
            connection.send(("error", exc.message, exc.hint))
            return
        except Exception as exc:  # a broken install, a bad body file: the window says it and keeps running
            connection.send(("error", f"The body shown could not be loaded: {exc}", ""))
            return
        connection.send(("ready",))
        while (request := connection.recv()) is not None:
            geometry, persons, people, mode, orbit = request
            try:
                result = FrameResult(_pixelless(*geometry), persons, people, [])
                connection.send(("frame", renderer.draw(result, mode, orbit)))
            except Exception as exc:  # one failed drawing; the next may work
                connection.send(("error", f"Drawing a preview failed: {exc}", ""))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the window went away
        pass
    finally:
        if render is not None:
            render.close()
    # Nothing here to flush or save: skip the interpreter's teardown (torch's takes ~1 s of every window's close).
    os._exit(0)


class PreviewProcess:
    """`PreviewRenderer` in a child process at the lowest priority: `draw(result, mode, orbit)` as there, from one
    thread at a time; `close()` ends it. Starting blocks until the body is loaded (the avatar's first build takes
    a minute: `progress` gets its lines); raises `PreviewError` when it cannot. The child is spawned, not forked
    (the parent runs Qt's and MediaPipe's threads), so it imports the parent's main module: a script that starts
    the window must do so under `if __name__ == "__main__":` (main.py and `mocap` do)."""

    NICENESS = 19  # where there is no SCHED_IDLE: drawing takes the CPU the estimator leaves

    def __init__(self, config: AppConfig, orbit_size: tuple[int, int], progress: Callable[[str], None] = logger.info,
                 start_timeout_s: float = 600.0) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt and MediaPipe threads
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, name="mocap preview",
                                        args=(child, config, orbit_size, self.NICENESS), daemon=True)
        self._process.start()
        child.close()
        deadline = time.monotonic() + start_timeout_s
        try:
            while True:
                if not self._connection.poll(max(0.0, deadline - time.monotonic())):
                    raise PreviewError("The preview process did not start in time.",
                                       "Run `python main.py doctor` to check the renderer and the body files.")
                reply = self._connection.recv()
                if reply[0] == "progress":
                    progress(reply[1])
                elif reply[0] == "ready":
                    return
                else:
                    raise PreviewError(reply[1], reply[2])
        except EOFError:
            self.close()
            raise PreviewError(f"The preview process stopped while starting (exit code {self._process.exitcode}).",
                               "Run `python main.py doctor` to check the renderer.") from None
        except BaseException:
            self.close()
            raise

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def draw(self, result: FrameResult, mode: str = "mesh", orbit: OrbitView | None = None) -> PreviewFrame:
        """`PreviewRenderer.draw` in the child (the frame's pixels are not sent: the drawing needs its size)."""
        frame = result.frame
        geometry = (frame.width, frame.height, frame.index, frame.timestamp_ns)
        try:
            self._connection.send((geometry, result.persons, result.people, mode, orbit))
            reply = self._connection.recv()
        except (EOFError, BrokenPipeError, OSError):
            raise PreviewError(f"The preview process stopped (exit code {self._process.exitcode}).",
                               "Reopen the source to start it again.") from None
        if reply[0] != "frame":
            raise PreviewError(reply[1], reply[2])
        return reply[1]

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the child (it closes its render thread) and wait for it; killed if it does not stop in time."""
        with contextlib.suppress(BrokenPipeError, OSError):  # already gone
            self._connection.send(None)
        self._process.join(timeout_s)
        if self._process.is_alive():
            logger.warning("the preview process did not stop within %.0f s; killing it", timeout_s)
            self._process.kill()
            self._process.join()
        self._connection.close()
