"""Sinks at the end of the pipeline: the crash-safe recorder and the overlay video."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap_app.core.mesh import MeshSource
from mocap_app.export.video import AtomicVideoWriter
from mocap_app.render.thread import RenderThread

from .journal import JournalWriter
from .runner import FrameResult


class JournalSink:
    """Appends every frame's people to a journal as soon as they are estimated — the raw estimates, so
    offline smoothing (which looks ahead) later works on measurements, not on online-smoothed values.
    The journal is kept however the run ends: it is what `export` recovers a take from."""

    def __init__(self, journal: JournalWriter) -> None:
        self.journal = journal

    def consume(self, result: FrameResult) -> None:
        self.journal.append(result.raw_people)

    def close(self) -> None:
        self.journal.close()

    abort = close


class OverlayVideoSink:
    """Writes the input video with each person's posed body drawn over it (H.264 MP4, `export.video`): under
    its final name only once complete and checked; a cancelled or failed run leaves no file.

    The renderer lives on its own thread (OpenGL contexts are thread-bound); this sink only hands
    it meshes and frames and writes what comes back.
    """

    def __init__(self, path: Path, fps: float, width: int, height: int, body: MeshSource, render_platform: str,
                 opacity: float = 0.8, msaa_samples: int = 0) -> None:
        self.path = Path(path)
        self.body = body
        self.opacity = opacity
        self._writer = AtomicVideoWriter(self.path, fps, width, height)
        try:
            self._renderer = RenderThread(render_platform, width, height, msaa_samples).start()
        except BaseException:
            self._writer.abort()
            raise

    @property
    def frames(self) -> int:
        return self._writer.frames

    def consume(self, result: FrameResult) -> None:
        frame = result.frame
        meshes = self.body.meshes(result.people) if result.people else []
        camera = result.people[0].camera if result.people else None
        if camera is None or (camera.width, camera.height) != (frame.width, frame.height):
            image = frame.image  # nobody to draw: the frame as it is
        else:
            rgb = self._renderer.overlay(meshes, camera, frame.rgb, self.opacity)
            image = np.ascontiguousarray(rgb[..., ::-1])
        self._writer.write(image)

    def close(self) -> None:
        try:
            self._writer.finish()
        finally:
            self._renderer.close()

    def abort(self) -> None:
        self._writer.abort()
        self._renderer.close()
