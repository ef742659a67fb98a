"""A person seen from behind: MediaPipe pose often reads a back view as a person facing the camera.

Its landmarks then carry the subject's left on the image's right, as for a front view, so every left/right
label is swapped and the depths are mirrored: the fitted body faces the camera with its limbs crossed over
(on the eval's back views: 2-D error 18 % of the person's height). Measured on the `eval conditions` renders
(4 body shapes, clothed, 8 frames each, people 170-350 px tall):

- holistic's face mesh was found on 32/32 front views and 0/32 back views (and 0/32 side, 0/32 at 135°,
  8/32 missing at 45°); it is also missing for small people (2/32 found at 150 px tall, 32/32 at 200 px);
- in the back views read as front views, MediaPipe's world landmarks put the two shoulders within
  0.05 m of one depth (the torso square to the camera); at 45° with no face found they are 0.22-0.29 m apart.

So a body is taken as seen from behind when all of these hold: no face mesh, and none on this person for
`FACE_MEMORY_FRAMES` frames (a person seen facing the camera a moment ago who looks down keeps facing it);
tall enough that a face would have been found (`MIN_TORSO_PX` between shoulders and hips); the landmarks
read as a front view (the left shoulder right of the right one in the image) with the shoulders at one depth
(`MAX_SHOULDER_DEPTH_RATIO` of their distance). `mirrored` then turns the landmarks around.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import layout as L
from .observation import HolisticLandmarks

FACE_MEMORY_FRAMES = 15  # 0.5 s at 30 fps
MIN_TORSO_PX = 50.0  # shoulder-to-hip midpoints; a person ~180 px tall, where the face mesh starts to be found
MAX_SHOULDER_DEPTH_RATIO = 0.35  # a torso turned ~20° or less from square-on

# Pose landmark i of the mirrored body is landmark POSE_MIRROR[i] of the original (left <-> right).
_PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22),
          (23, 24), (25, 26), (27, 28), (29, 30), (31, 32))
POSE_MIRROR = np.arange(L.NUM_POSE_LANDMARKS)
for _a, _b in _PAIRS:
    POSE_MIRROR[_a], POSE_MIRROR[_b] = _b, _a
# Landmarks of the face that a back view cannot show: their positions are MediaPipe's guesses.
_FACE_FRONT = np.array([L.NOSE, 1, L.LEFT_EYE, 3, 4, L.RIGHT_EYE, 6, L.MOUTH_LEFT, L.MOUTH_RIGHT])
HIDDEN_FACE_VISIBILITY = 0.3


def read_as_front_view_from_behind(obs: HolisticLandmarks, frames_since_face: float) -> bool:
    """Whether `obs` is a back view MediaPipe read as a front view (module doc); `frames_since_face`: frames
    since this person's face mesh was last found (inf: never)."""
    if obs.face is not None or frames_since_face <= FACE_MEMORY_FRAMES:
        return False
    image, world = obs.pose_image, obs.pose_world
    shoulders_mid = 0.5 * (image[L.LEFT_SHOULDER] + image[L.RIGHT_SHOULDER])
    hips_mid = 0.5 * (image[L.LEFT_HIP] + image[L.RIGHT_HIP])
    if np.linalg.norm(shoulders_mid - hips_mid) < MIN_TORSO_PX:
        return False
    if image[L.LEFT_SHOULDER, 0] <= image[L.RIGHT_SHOULDER, 0]:
        return False  # already read as a back view (or a side view)
    shoulder_line = world[L.LEFT_SHOULDER] - world[L.RIGHT_SHOULDER]
    return bool(abs(shoulder_line[2]) < MAX_SHOULDER_DEPTH_RATIO * np.linalg.norm(shoulder_line))


def mirrored(obs: HolisticLandmarks) -> HolisticLandmarks:
    """The same image evidence read as the person turned around: left/right labels swapped (pose and hands),
    depths negated (a second mirror, so the body is a proper rotation of the first reading, not a reflection),
    the face's front landmarks trusted less (a back view cannot show them)."""
    flip_z = np.array([1.0, 1.0, -1.0])
    visibility = obs.pose_visibility[POSE_MIRROR].copy()
    visibility[_FACE_FRONT] = np.minimum(visibility[_FACE_FRONT], HIDDEN_FACE_VISIBILITY)

    def hand(points: np.ndarray | None) -> np.ndarray | None:
        return None if points is None else points * flip_z

    return dataclasses.replace(
        obs, pose_world=obs.pose_world[POSE_MIRROR] * flip_z, pose_image=obs.pose_image[POSE_MIRROR],
        pose_visibility=visibility, left_hand=hand(obs.right_hand), right_hand=hand(obs.left_hand), face=None,
        face_mesh=None)
