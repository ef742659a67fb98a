"""The render thread: the one thread that creates, uses and closes the OpenGL renderer.

Callers on any thread submit requests and get a `Future` (or block on the result); requests are
served in order. Use as a context manager, or call `start()` and `close()`.

    with RenderThread(config.render.platform) as renderer:
        image = renderer.overlay(meshes, params.camera, frame.rgb)
        view = renderer.orbit(meshes, OrbitView(azimuth_deg=45))
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np

from mocap_app.core.errors import DependencyError
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.mesh import BodyMesh

from .geometry import OrbitView
from .platform import select_platform

if TYPE_CHECKING:
    from .offscreen import MeshRenderer

logger = logging.getLogger(__name__)

_Request = tuple[Callable[..., Any], tuple[Any, ...], Future]


class RenderThread:
    """Owns a `MeshRenderer` on a dedicated thread. Images are (h, w, 3) uint8 RGB.

    platform: "auto", "egl" or "osmesa" (config `render.platform`; resolved when started).
    width, height: orbit-view size. msaa_samples, vertex_lighting: see `MeshRenderer`.
    One per process at a time: pyrender's EGL teardown terminates the EGL display that every
    context of the process shares, which would break a second renderer.
    """

    _running_lock = threading.Lock()

    def __init__(self, platform: str, width: int = 640, height: int = 480, msaa_samples: int = 0,
                 vertex_lighting: bool = False) -> None:
        self.platform = platform
        self.msaa_samples, self.vertex_lighting = msaa_samples, vertex_lighting
        self.width, self.height = width, height
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> RenderThread:
        """Start the thread and create the renderer on it; raises DependencyError if OpenGL fails."""
        if self._thread is not None:
            raise RuntimeError("RenderThread already started")
        self.platform = select_platform(self.platform)  # resolves "auto"; before the thread imports OpenGL
        if not RenderThread._running_lock.acquire(blocking=False):
            raise RuntimeError("another RenderThread is running in this process; close it first")
        ready: Future = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="render", daemon=True)
        self._thread.start()
        try:
            ready.result()
        except Exception as exc:
            self._thread.join()
            self._thread = None
            RenderThread._running_lock.release()
            raise DependencyError(
                f"Offscreen OpenGL rendering with {self.platform} failed: {exc}",
                "Run `python main.py doctor` to see which platform works here, then set render.platform.") from exc
        return self

    def close(self) -> None:
        """Finish queued requests, free the GL context on its own thread and stop the thread."""
        if self._thread is None:
            return
        self._requests.put(None)
        self._thread.join()
        self._thread = None
        RenderThread._running_lock.release()

    def __enter__(self) -> RenderThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, ready: Future) -> None:
        try:
            from .offscreen import MeshRenderer  # imports OpenGL: on this thread, after select_platform

            renderer = MeshRenderer(self.width, self.height, self.msaa_samples, self.vertex_lighting)
        except Exception as exc:  # reported to start() and raised there
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            while (request := self._requests.get()) is not None:
                method, args, future = request
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(method(renderer, *args))
                except Exception as exc:  # the caller gets it from the future
                    future.set_exception(exc)
        finally:
            renderer.close()

    # --- requests -----------------------------------------------------------------------------

    def _submit(self, method: Callable[..., Any], *args: Any) -> Future:
        if self._thread is None:
            raise RuntimeError("RenderThread is not running: use it as a context manager or call start()")
        future: Future = Future()
        self._requests.put((method, args, future))
        return future

    def submit_overlay(self, meshes: Sequence[BodyMesh], camera: CameraIntrinsics,
                       background: np.ndarray | None = None, opacity: float = 0.85) -> Future:
        """Future of `MeshRenderer.overlay`: meshes over the (h, w, 3) uint8 RGB camera image."""
        return self._submit(_overlay, tuple(meshes), camera, background, opacity)

    def submit_layer(self, meshes: Sequence[BodyMesh], camera: CameraIntrinsics, opacity: float = 0.85) -> Future:
        """Future of `MeshRenderer.layer`: the meshes as a `PeopleLayer` (None: none in view)."""
        return self._submit(_layer, tuple(meshes), camera, opacity)

    def submit_orbit(self, meshes: Sequence[BodyMesh], view: OrbitView | None = None) -> Future:
        """Future of `MeshRenderer.orbit` at this thread's width x height."""
        return self._submit(_orbit, tuple(meshes), view or OrbitView(), self.width, self.height)

    def overlay(self, meshes: Sequence[BodyMesh], camera: CameraIntrinsics, background: np.ndarray | None = None,
                opacity: float = 0.85, timeout_s: float | None = 30.0) -> np.ndarray:
        """Blocking `submit_overlay`."""
        return self.submit_overlay(meshes, camera, background, opacity).result(timeout_s)

    def orbit(self, meshes: Sequence[BodyMesh], view: OrbitView | None = None,
              timeout_s: float | None = 30.0) -> np.ndarray:
        """Blocking `submit_orbit`."""
        return self.submit_orbit(meshes, view).result(timeout_s)


def _overlay(renderer: MeshRenderer, *args: Any) -> np.ndarray:
    return renderer.overlay(*args)


def _layer(renderer: MeshRenderer, *args: Any) -> np.ndarray:
    return renderer.layer(*args)


def _orbit(renderer: MeshRenderer, *args: Any) -> np.ndarray:
    return renderer.orbit(*args)
