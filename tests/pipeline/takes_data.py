"""Recorded people for the takes, playback and window tests: SMPL-X records at a known frame rate, and a process
id that names no running process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from mocap_app.core import CameraIntrinsics, SmplxParams

FPS = 25.0
STEP_NS = 40_000_000  # 1 / FPS


def person(frame_index: int, track_id: int, timestamp_ns: int | None = None) -> SmplxParams:
    """A person's record at a frame: a pose and position of its own (seeded by track and frame), confidence 0.9,
    captured at frame_index / FPS unless `timestamp_ns` says otherwise."""
    rng = np.random.default_rng(1000 * track_id + frame_index)
    return SmplxParams.neutral(CameraIntrinsics.from_fov(640, 480), body_pose=rng.normal(0, 0.3, size=(21, 3)),
                               transl=np.array([0.0, 0.0, 3.0]) + rng.normal(0, 0.05, size=3), track_id=track_id,
                               frame_index=frame_index, confidence=0.9,
                               timestamp_ns=frame_index * STEP_NS if timestamp_ns is None else timestamp_ns)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the id names no process now
    return child.pid
