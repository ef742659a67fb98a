"""A leg hidden behind the other one in a side view: MediaPipe still places it, but where it cannot see it, its
guess is often far off (yaw 90 renders: the far knee raised to the chest while the person stands, visibility
0.03-0.09). When one leg is that unseen and the other well seen, the hidden leg is read as the seen one
reflected through the body's midplane — legs side by side, the usual stance — and placed in the image where the
camera sees that reflection (the seen landmarks give the camera pose). Arms likewise."""

from __future__ import annotations

import dataclasses

import numpy as np

from mocap_app.core.frames import CameraIntrinsics

from . import layout as L
from .fit import solve_translation
from .observation import HolisticLandmarks

HIDDEN_VISIBILITY = 0.15  # knee and ankle (elbow and wrist) below this: MediaPipe does not see the limb
SEEN_VISIBILITY = 0.3  # those of the other limb at least this
SIDE_VIEW_RATIO = 0.5  # the hip (shoulder) line's sideways extent under this share of its depth: a side view

# Per limb: its root landmark (hip, shoulder), then the points that move with it; the first two decide whether
# it is seen. The root pairs also give the side-view test.
_LIMBS = (
    ((L.LEFT_HIP, [L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX]),
     (L.RIGHT_HIP, [L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX])),
    ((L.LEFT_SHOULDER, [L.LEFT_ELBOW, L.LEFT_WRIST, L.LEFT_PINKY, L.LEFT_INDEX]),
     (L.RIGHT_SHOULDER, [L.RIGHT_ELBOW, L.RIGHT_WRIST, L.RIGHT_PINKY, L.RIGHT_INDEX])),
)


def hidden_limbs_mirrored(obs: HolisticLandmarks, camera: CameraIntrinsics,
                          min_visibility: float = 0.5) -> HolisticLandmarks:
    """`obs` with a side view's unseen leg (arm) replaced by the seen one reflected through the midplane, in the
    world landmarks and, projected with the camera pose the landmarks seen (visibility >= `min_visibility`) give,
    in the image; its visibility stays low. Other views and well-seen limbs: `obs` unchanged."""
    vis = obs.pose_visibility
    world, image = obs.pose_world, obs.pose_image
    for pair in _LIMBS:
        (left_root, _), (right_root, _) = pair
        root_line = obs.pose_world[left_root] - obs.pose_world[right_root]
        if abs(root_line[0]) >= SIDE_VIEW_RATIO * abs(root_line[2]):
            continue
        normal = root_line / max(float(np.linalg.norm(root_line)), 1e-9)
        for (_, hidden), (_, seen) in (pair, pair[::-1]):
            if vis[hidden[:2]].max() < HIDDEN_VISIBILITY and vis[seen[:2]].min() >= SEEN_VISIBILITY:
                if world is obs.pose_world:
                    world, image = world.copy(), image.copy()
                points = obs.pose_world[seen]
                world[hidden] = points - 2.0 * (points @ normal)[:, None] * normal
                break
    if world is obs.pose_world:
        return obs
    seen = np.where(vis >= min_visibility, vis, 0.0)
    if (seen > 0).sum() >= 4:  # else the image keeps MediaPipe's guess: nothing to place the reflection with
        rotation, translation = solve_translation(obs.pose_world, obs.pose_image, seen, camera)
        moved = np.flatnonzero((world != obs.pose_world).any(axis=1))
        image[moved] = camera.project(world[moved] @ rotation.T + translation)
    return dataclasses.replace(obs, pose_world=world, pose_image=image)
