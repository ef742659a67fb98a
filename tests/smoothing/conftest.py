"""Records for the smoothing tests."""

from __future__ import annotations

import numpy as np

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import POSE_FIELDS, SmplxParams

CAMERA = CameraIntrinsics.from_fov(640, 480)
NS_PER_FRAME = 33_333_333


def record(full_pose: np.ndarray | None = None, frame_index: int = 0, track_id: int = 0, **overrides: object
           ) -> SmplxParams:
    """A record with the given (55, 3) pose (default rest), timestamped at 30 fps."""
    pose = np.zeros((55, 3)) if full_pose is None else np.asarray(full_pose)
    fields, start = {}, 0
    for name, shape in POSE_FIELDS.items():
        count = 1 if len(shape) == 1 else shape[0]
        fields[name] = pose[start : start + count].reshape(shape)
        start += count
    values = {**fields, "frame_index": frame_index, "timestamp_ns": frame_index * NS_PER_FRAME,
              "track_id": track_id, **overrides}
    return SmplxParams.neutral(CAMERA, **values)
