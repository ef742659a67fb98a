"""What MediaPipe holistic saw of one person in one frame, as plain arrays (no MediaPipe types)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HolisticLandmarks:
    """Landmarks of one person, in the full frame (crops already mapped back).

    pose_world: (33, 3) float64, metres, origin between the hips, axes as MediaPipe's world
        landmarks (x right, y down, z away from the camera — the camera's axes, not its origin).
    pose_image: (33, 2) float64, pixels (x right, y down) in the full frame.
    pose_visibility: (33,) float64 in [0, 1].
    left_hand, right_hand: (21, 3) float64 or None (not found): x, y in pixels, z the relative depth
        MediaPipe gives, converted to pixels (positive = further than the wrist). "left" = the
        subject's left hand.
    face: (6, 3) float64 or None: the face-mesh points listed in `layout.FACE_INDICES`, same units.
    face_mesh: (468, 3) float64 or None: every face-mesh point, same units (478 with the iris points when the
        refined face model runs).
    """

    pose_world: np.ndarray
    pose_image: np.ndarray
    pose_visibility: np.ndarray
    left_hand: np.ndarray | None = None
    right_hand: np.ndarray | None = None
    face: np.ndarray | None = None
    face_mesh: np.ndarray | None = None
