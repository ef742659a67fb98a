"""The window's drawing process: the same pictures as drawing in-process, its errors as the app's, and nothing
left running after it closes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

from mocap_app.core.config import AppConfig
from mocap_app.core.frames import CameraIntrinsics, Detection, Frame
from mocap_app.core.params import SmplxParams
from mocap_app.pipeline.preview import PreviewError, PreviewProcess, PreviewRenderer, preview_body
from mocap_app.pipeline.process import drawn_skeleton
from mocap_app.pipeline.runner import FrameResult
from mocap_app.render import OrbitView, RenderThread

CAMERA = CameraIntrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=640, height=480)
ORBIT = (240, 240)


def a_result() -> FrameResult:
    person = SmplxParams.neutral(CAMERA, global_orient=(np.pi, 0.2, 0.0), transl=(0.0, 0.1, 3.0), track_id=0)
    frame = Frame(np.zeros((480, 640, 3), np.uint8), 7, 123)
    return FrameResult(frame, [Detection(np.array([200, 40, 440, 460], np.float32), 0.9, 0)], [person], [person])


def test_the_process_draws_what_drawing_here_draws_and_closes_leaving_nothing_running() -> None:
    config = AppConfig()
    result = a_result()
    lines: list[str] = []
    drawer = PreviewProcess(config, ORBIT, progress=lines.append)
    try:
        assert drawer.alive
        if hasattr(os, "SCHED_IDLE"):  # every thread of it, the render thread included: CPU nothing else wants
            threads = os.listdir(f"/proc/{drawer._process.pid}/task")
            policies = [os.sched_getscheduler(int(t)) for t in threads]
            # Mesa's shader-cache writer puts itself at SCHED_BATCH, nice 19.
            assert policies.count(os.SCHED_IDLE) >= 2 and set(policies) <= {os.SCHED_IDLE, os.SCHED_BATCH}
        remote = drawer.draw(result, "mesh", OrbitView())
        skeleton = drawer.draw(result, "skeleton")
    finally:
        drawer.close()
    assert not drawer.alive and not multiprocessing.active_children()
    with RenderThread(config.render.platform, *ORBIT, config.render.msaa_samples, vertex_lighting=True) as render:
        here = PreviewRenderer(preview_body(config, lambda line: None), render, drawn_skeleton(config))
        local = here.draw(result, "mesh", OrbitView())
    assert (remote.frame_index, remote.timestamp_ns, remote.people) == (7, 123, 1)
    remote_layer, local_layer = remote.layer.straight_rgba(), local.layer.straight_rgba()
    assert remote_layer.shape == (480, 640, 4) and remote.orbit_rgb.shape == (240, 240, 3)
    assert (remote_layer[:, :, 3] > 0).sum() > 5000  # the body covers part of the frame
    assert remote.layer.rgba.shape[0] * remote.layer.rgba.shape[1] < 0.5 * 640 * 480  # cut to the body
    # Same renderer, same code, another process: the same pixels (llvmpipe is deterministic).
    assert np.abs(remote_layer.astype(int) - local_layer).max() <= 1
    assert np.abs(remote.orbit_rgb.astype(int) - local.orbit_rgb).max() <= 1
    assert skeleton.layer is not None and skeleton.orbit_rgb is None


def test_a_drawing_process_that_dies_is_an_app_error_not_a_hang() -> None:
    drawer = PreviewProcess(AppConfig(), ORBIT)
    try:
        os.kill(drawer._process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        while drawer.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(PreviewError, match="stopped"):
            drawer.draw(a_result(), "mesh")
        assert not drawer.alive
    finally:
        drawer.close()
    assert not multiprocessing.active_children()
