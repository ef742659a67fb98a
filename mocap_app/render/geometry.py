"""Camera poses, normals and the floor grid for the renderer — plain numpy, no OpenGL.

Scene coordinates are the OpenCV camera frame of the input image (x right, y down, z forward,
metres), the frame `BodyMesh` vertices arrive in, so meshes are drawn without converting them.
OpenGL cameras look down their own -z with +y up; their poses below are camera-to-scene (4, 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The input camera seen as an OpenGL camera: x stays, y (down→up) and z (forward→backward) flip.
OPENCV_CAMERA_POSE = np.diag([1.0, -1.0, -1.0, 1.0])
SCENE_UP = np.array([0.0, -1.0, 0.0])  # "up" for a level input camera
GRID_SPACING_M = 0.5

# Per-track mesh colours (RGB, 0..1), cycled by track id.
# Saturated enough to stand out over skin and clothes in the camera overlay.
TRACK_COLORS = np.array([
    (0.35, 0.60, 0.95), (0.95, 0.55, 0.30), (0.50, 0.85, 0.45), (0.90, 0.45, 0.75), (0.90, 0.82, 0.35),
])


def track_color(track_id: int) -> np.ndarray:
    """(3,) RGB in [0, 1] for a person."""
    return TRACK_COLORS[track_id % len(TRACK_COLORS)]


@dataclass(frozen=True)
class OrbitView:
    """Where the orbit view's camera sits around the people it shows.

    azimuth_deg: turn about the vertical axis; 0 = from the input camera's side, positive = to the
        subject's left when facing the camera. elevation_deg: above the target (negative = below).
    distance_m: from the target (the people's mean pelvis). fov_deg: vertical field of view.
    """

    azimuth_deg: float = 30.0
    elevation_deg: float = 15.0
    distance_m: float = 3.5
    fov_deg: float = 45.0


def look_at_pose(eye: np.ndarray, target: np.ndarray, up: np.ndarray = SCENE_UP) -> np.ndarray:
    """(4, 4) camera-to-scene pose of an OpenGL camera at `eye` looking at `target`."""
    back = np.asarray(eye, float) - np.asarray(target, float)
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: any right vector will do
        right = np.cross(np.array([0.0, 0.0, 1.0]), back)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, np.cross(back, right), back, eye
    return pose


def orbit_camera_pose(view: OrbitView, target: np.ndarray) -> np.ndarray:
    """(4, 4) pose of the orbit camera for `view` around `target` (scene coordinates)."""
    azimuth, elevation = math.radians(view.azimuth_deg), math.radians(view.elevation_deg)
    # Azimuth 0 puts the camera between the target and the input camera (scene -z side).
    offset = view.distance_m * np.array([math.sin(azimuth) * math.cos(elevation), -math.sin(elevation),
                                         -math.cos(azimuth) * math.cos(elevation)])
    return look_at_pose(np.asarray(target, float) + offset, target)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) float32 unit normals: area-weighted mean of the adjacent faces' normals."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.empty((len(vertices), 3), np.float32)
    # bincount per axis is ~10x faster than np.add.at for scattering face normals onto vertices.
    for axis in range(3):
        normals[:, axis] = sum(np.bincount(faces[:, k], face_normals[:, axis], minlength=len(vertices))
                               for k in range(3))
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(lengths, 1e-12)


def grid_lines(half_size_m: float = 4.0, spacing_m: float = GRID_SPACING_M) -> np.ndarray:
    """(2N, 3) float32 endpoints of floor grid lines in the plane y = 0, centred on the origin."""
    ticks = np.arange(-half_size_m, half_size_m + 1e-9, spacing_m)
    ends = np.full_like(ticks, half_size_m)
    along_x = np.stack([np.stack([-ends, 0 * ticks, ticks], 1), np.stack([ends, 0 * ticks, ticks], 1)], 1)
    along_z = np.stack([np.stack([ticks, 0 * ticks, -ends], 1), np.stack([ticks, 0 * ticks, ends], 1)], 1)
    return np.concatenate([along_x, along_z]).reshape(-1, 3).astype(np.float32)
