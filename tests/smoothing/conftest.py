"""Records for the smoothing tests."""

from __future__ import annotations

import numpy as np

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import SmplxParams, split_full_pose

CAMERA = CameraIntrinsics.from_fov(640, 480)
NS_PER_FRAME = 33_333_333


def record(full_pose: np.ndarray | None = None, frame_index: int = 0, track_id: int = 0, **overrides: object
           ) -> SmplxParams:
    """A record with the given (55, 3) pose (default rest), timestamped at 30 fps."""
    pose = np.zeros((55, 3)) if full_pose is None else np.asarray(full_pose)
    values = {**split_full_pose(pose), "frame_index": frame_index, "timestamp_ns": frame_index * NS_PER_FRAME,
              "track_id": track_id, **overrides}
    return SmplxParams.neutral(CAMERA, **values)
