"""Holistic landmarks → SMPL-X pose: analytic swing–twist IK, refined by damped Gauss–Newton steps
with joint limits, plus hands, jaw, head and translation.

Coordinate frames. Everything is solved in the CAMERA frame (OpenCV: x right, y down, z forward).
- MediaPipe's pose world landmarks have the camera's axes (x right, y down, z away from the
  camera) and their origin between the hips. `solve_translation` matches them to the 2D pose
  landmarks with the frame's intrinsics (cv2.solvePnP): it returns R (world axes → camera axes,
  close to identity) and t (camera position of the world origin); the IK runs on R @ world.
- Hand and face landmarks are image coordinates (x, y pixels; z depth relative to the wrist / face,
  in pixels): they are back-projected through the intrinsics into camera-frame positions up to one
  unknown scale, which directions do not need.
- A joint's global rotation G maps smplx rest-frame directions (y up, z forward, +x = subject's
  left) to camera directions; `global_orient` = G of the pelvis, so a person standing upright and
  facing the camera has global_orient ≈ (π, 0, 0). `transl` = camera position of the pelvis minus
  the rest pelvis (smplx adds transl after rotating about the rest pelvis).

Pixel alignment. The IK follows MediaPipe's 3-D directions, whose metric scale is MediaPipe's, not
the rest skeleton's, so a body placed by solvePnP alone lands too large or small and off the person.
`_align_to_image` then solves the pelvis position (depth included) and, by two robust
Levenberg–Marquardt steps, the rotations of the pelvis, shoulders, elbows, hips and knees so that
the rest skeleton's joints (and the head and foot template points) project onto the 2-D landmarks
(visibility-weighted, Huber), with the 3-D bone directions as a prior. `transl` therefore places the
rest skeleton (the body the app draws) on the pixels. The person's own size is not observable in one
image; `PoseFit.scale` estimates it per track from MediaPipe's metric world landmarks over the first
frames (`SCALE_FRAMES`), and `PoseFit.pelvis_m` is the pelvis where a person of that size stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mocap_app.core.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS

from . import layout as L
from .observation import HolisticLandmarks
from .rotations import (
    kabsch,
    normalize,
    rotation_between_pairs,
    skew,
    swing,
    twist_angle,
)

J = JOINT_INDEX
NUM_BODY = 22  # pelvis + 21 body joints
_SIDES = ("left", "right")
_FINGERS = ("index", "middle", "pinky", "ring", "thumb")  # smplx order
# Rows of the batch of segments fixed by two observed directions each (see `_observed_pairs`).
_PELVIS, _CHEST, _HEAD, _FEET, _PALMS, _PALMS_FLIPPED = 0, 1, 2, np.array([3, 4]), np.array([5, 6]), np.array([7, 8])
_SPINE = [J["spine1"], J["spine2"], J["spine3"]]
_NECK_HEAD = [J["neck"], J["head"]]
_COLLARS = [J["left_collar"], J["right_collar"]]
_ANKLES = [J["left_ankle"], J["right_ankle"]]
_ELBOWS = [J["left_elbow"], J["right_elbow"]]
_WRISTS = [J["left_wrist"], J["right_wrist"]]
_SPLIT = np.array([1.0 / 3.0, 0.5])  # share of each spine joint / of neck and head
_FOOT_LANDMARKS = np.array([(L.LEFT_HEEL, L.LEFT_FOOT_INDEX, L.LEFT_ANKLE),
                            (L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX, L.RIGHT_ANKLE)])
# Fingers curl towards the palm, which faces down (-y) in the rest pose.
_CURL_REST = np.array([0.0, -1.0, 0.0])
# Pose landmarks standing in for a hand MediaPipe did not track: wrist, pinky, index.
_POSE_HAND = {"left": (L.LEFT_WRIST, L.LEFT_PINKY, L.LEFT_INDEX),
              "right": (L.RIGHT_WRIST, L.RIGHT_PINKY, L.RIGHT_INDEX)}
# Limbs solved together: (root joint, middle joint, end joint, rest bend direction of the middle joint).
_LIMBS = (("left_shoulder", "left_elbow", "left_wrist", (0.0, 0.0, 1.0)),
          ("right_shoulder", "right_elbow", "right_wrist", (0.0, 0.0, 1.0)),
          ("left_hip", "left_knee", "left_ankle", (0.0, 0.0, -1.0)),
          ("right_hip", "right_knee", "right_ankle", (0.0, 0.0, -1.0)))
_LIMB_JOINTS = np.array([[J[a], J[b], J[c]] for a, b, c, _ in _LIMBS])
_LIMB_BEND_REST = np.array([bend for *_, bend in _LIMBS])
_LIMB_LANDMARKS = np.array([[L.BODY_LANDMARKS[a], L.BODY_LANDMARKS[b], L.BODY_LANDMARKS[c]] for a, b, c, _ in _LIMBS])
# sin(elbow/knee angle) below which the bend plane is unreliable and the twist comes from elsewhere.
_BEND_SIN_LOW, _BEND_SIN_HIGH = np.sin(np.radians(8.0)), np.sin(np.radians(25.0))

# Joint limits as boxes on the local axis-angle vector (radians), written for the LEFT side; the
# right side mirrors them (x kept, y and z negated). Joints not listed are unlimited.
_LEFT_LIMITS: dict[str, tuple[tuple[float, float], ...]] = {
    "spine1": ((-0.6, 0.9), (-0.5, 0.5), (-0.4, 0.4)),
    "spine2": ((-0.6, 0.9), (-0.5, 0.5), (-0.4, 0.4)),
    "spine3": ((-0.6, 0.9), (-0.5, 0.5), (-0.4, 0.4)),
    "neck": ((-0.7, 0.9), (-0.9, 0.9), (-0.6, 0.6)),
    "head": ((-0.7, 0.9), (-0.9, 0.9), (-0.6, 0.6)),
    "left_collar": ((-0.4, 0.4), (-0.5, 0.5), (-0.4, 0.5)),
    "left_knee": ((-0.15, 2.7), (-0.4, 0.4), (-0.3, 0.3)),
    "left_elbow": ((-2.3, 2.3), (-2.8, 0.15), (-0.4, 0.4)),
    "left_wrist": ((-1.3, 1.3), (-1.3, 1.3), (-1.4, 1.4)),
    "left_ankle": ((-1.0, 1.0), (-0.8, 0.8), (-0.8, 0.8)),
    "jaw": ((0.0, 0.6), (-0.1, 0.1), (-0.1, 0.1)),
    **{f"left_{finger}1": ((-0.3, 0.3), (-0.45, 0.45), (-1.8, 0.4)) for finger in ("index", "middle", "ring", "pinky")},
    **{f"left_{finger}2": ((-0.2, 0.2), (-0.2, 0.2), (-2.1, 0.1)) for finger in ("index", "middle", "ring", "pinky")},
    **{f"left_{finger}3": ((-0.2, 0.2), (-0.2, 0.2), (-1.6, 0.1)) for finger in ("index", "middle", "ring", "pinky")},
    **{f"left_thumb{k}": ((-1.5, 1.5), (-1.5, 1.5), (-1.5, 1.5)) for k in (1, 2, 3)},
}


def _limit_table() -> tuple[np.ndarray, np.ndarray]:
    low = np.full((NUM_JOINTS, 3), -np.inf)
    high = np.full((NUM_JOINTS, 3), np.inf)
    for name, box in _LEFT_LIMITS.items():
        box_arr = np.array(box)
        low[J[name]], high[J[name]] = box_arr[:, 0], box_arr[:, 1]
        if name.startswith("left_"):
            right = J["right_" + name.removeprefix("left_")]
            low[right] = [box_arr[0, 0], -box_arr[1, 1], -box_arr[2, 1]]
            high[right] = [box_arr[0, 1], -box_arr[1, 0], -box_arr[2, 0]]
    return low, high


LIMIT_LOW, LIMIT_HIGH = _limit_table()
_IS_LIMITED = np.isfinite(LIMIT_LOW).any(axis=1)
_LIMITED_IS_BODY = np.flatnonzero(_IS_LIMITED) < NUM_BODY

# Confidence of a landmark MediaPipe marks as not visible but places inside the image (occluded).
OCCLUDED_CONFIDENCE = 0.25
# A joint that is not seen keeps its previous rotation scaled by this per frame: a held pose
# fades to the rest pose over about a second instead of freezing a stale guess.
HOLD_DECAY = 0.9

# Refinement: joints whose rotations are adjusted, and their damping (stiffer = trusts the IK more).
_REFINE_JOINTS = np.array([J[n] for n in (
    "pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_hip", "right_hip", "left_knee", "right_knee")])
_REFINE_DAMPING = np.array([4.0, 0.5, 0.5, 0.5, 2.0, 2.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]) * 1e-3


def _ancestor_mask(joints: np.ndarray, of: np.ndarray) -> np.ndarray:
    """(len(of), len(joints)) bool: joints[j] is `of[k]` or one of its ancestors."""
    mask = np.zeros((len(of), len(joints)), dtype=bool)
    for k, joint in enumerate(of):
        chain = set()
        node = int(joint)
        while node >= 0:
            chain.add(node)
            node = PARENTS[node]
        mask[k] = [int(j) in chain for j in joints]
    return mask


_REFINE_PARENTS = np.array([max(PARENTS[j], 0) for j in _REFINE_JOINTS])
# Bones the refinement aligns (start joint, end joint): limbs, hip and shoulder lines, torso sides.
_REFINE_BONE_NAMES = (
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("right_hip", "left_hip"), ("right_shoulder", "left_shoulder"))
_REFINE_BONES = np.array([[J[a], J[b]] for a, b in _REFINE_BONE_NAMES])
_REFINE_BONE_LANDMARKS = np.array([[L.BODY_LANDMARKS[a], L.BODY_LANDMARKS[b]] for a, b in _REFINE_BONE_NAMES])
_REFINE_END_MASK = _ancestor_mask(_REFINE_JOINTS, _REFINE_BONES[:, 1])[:, :, None, None]
_REFINE_START_MASK = _ancestor_mask(_REFINE_JOINTS, _REFINE_BONES[:, 0])[:, :, None, None]


# Image alignment: points projected onto the 2-D landmarks, each riding on a body joint at an offset in
# the joint's rest frame: the 12 body landmarks, the head template, heels and toes.
_MIRROR = np.array([-1.0, 1.0, 1.0])
_ALIGN_POINT_JOINTS = np.concatenate([L.BODY_LANDMARK_JOINTS, np.full(len(L.HEAD_TEMPLATE_INDICES), J["head"]),
                                      [J["left_ankle"]] * 2, [J["right_ankle"]] * 2])
_ALIGN_POINT_LANDMARKS = np.concatenate([L.BODY_LANDMARK_INDICES, L.HEAD_TEMPLATE_INDICES,
                                         [L.LEFT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX]])
_ALIGN_POINT_OFFSETS = np.concatenate([np.zeros((len(L.BODY_LANDMARK_JOINTS), 3)), L.HEAD_TEMPLATE,
                                       [L.FOOT_TEMPLATE["heel"], L.FOOT_TEMPLATE["toe"],
                                        L.FOOT_TEMPLATE["heel"] * _MIRROR, L.FOOT_TEMPLATE["toe"] * _MIRROR]])
# The seven head points together count about as much as two joints; the template is an average face.
_ALIGN_POINT_WEIGHTS = np.concatenate([np.ones(len(L.BODY_LANDMARK_JOINTS)),
                                       np.full(len(L.HEAD_TEMPLATE_INDICES), 0.3), np.full(4, 0.5)])
# Huber threshold of a point's image residual, metres at the person's depth (~10 px at 3 m, 60° fov, 640 px).
ALIGN_HUBER_M = 0.05
# Weight of the 3-D bone-direction prior against the 2-D residuals (both in metres).
ALIGN_PRIOR_WEIGHT = 0.5
# The person's size is averaged over this many frames of a track, then kept.
SCALE_FRAMES = 30


def _depth_levels(num_joints: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Joints 1..num_joints-1 grouped by depth in the tree, with their parents: FK one level at a time."""
    depth = [0] * num_joints
    for j in range(1, num_joints):
        depth[j] = depth[PARENTS[j]] + 1
    levels = []
    for d in range(1, max(depth) + 1):
        joints = np.array([j for j in range(num_joints) if depth[j] == d])
        levels.append((joints, np.array([PARENTS[j] for j in joints])))
    return levels


_BODY_LEVELS = _depth_levels(NUM_BODY)
# Joints the image alignment turns: the global orientation and the limbs. The spine and collars stay as the
# IK set them: free, they would bend to make up for a skeleton built unlike the person (measured on the
# avatar renders fitted with the reference skeleton: spine and collars off by 30° instead of 1°).
_ALIGN_JOINTS = np.array([J[n] for n in ("pelvis", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                                         "left_hip", "right_hip", "left_knee", "right_knee")])
_ALIGN_DAMPING = np.array([4.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]) * 1e-3
_ALIGN_PARENTS = np.array([max(PARENTS[j], 0) for j in _ALIGN_JOINTS])
_ALIGN_MASK = _ancestor_mask(_ALIGN_JOINTS, _ALIGN_POINT_JOINTS)[:, :, None, None]
# The alignment's 3-D prior: the refined bones plus the torso sides (hip to shoulder), which hold the torso's
# lean that the 2-D residuals barely see.
_PRIOR_BONE_NAMES = (*_REFINE_BONE_NAMES, ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"))
_PRIOR_BONES = np.array([[J[a], J[b]] for a, b in _PRIOR_BONE_NAMES])
_PRIOR_BONE_LANDMARKS = np.array([[L.BODY_LANDMARKS[a], L.BODY_LANDMARKS[b]] for a, b in _PRIOR_BONE_NAMES])
_PRIOR_END_MASK = _ancestor_mask(_ALIGN_JOINTS, _PRIOR_BONES[:, 1])[:, :, None, None]
_PRIOR_START_MASK = _ancestor_mask(_ALIGN_JOINTS, _PRIOR_BONES[:, 0])[:, :, None, None]


@dataclass(frozen=True)
class _AlignState:
    """One evaluation of the image alignment: pelvis (3,), body FK (22, 3, 3) and (22, 3) pelvis-relative,
    landmark points (P, 3) pelvis-relative, image residuals (P, 2) metres, their IRLS weights (P,), the
    weighted bone-direction residuals (B, 3) and the robust cost."""

    pelvis: np.ndarray
    g: np.ndarray
    p: np.ndarray
    points: np.ndarray
    residual: np.ndarray
    robust: np.ndarray
    res_dir: np.ndarray
    cost: float


@dataclass(frozen=True)
class PoseFit:
    """One person's fitted pose.

    full_pose: (55, 3) float64 axis-angle local rotations, smplx joint order (flat hand = zeros).
    transl: (3,) float64 metres, smplx `transl` in the camera frame.
    joint_confidence: (55,) float64 in [0, 1]; 0 = kept from the previous fit (or neutral),
        OCCLUDED_CONFIDENCE = fitted to landmarks MediaPipe guessed behind the body.
    confidence: overall confidence in [0, 1] (torso visibility).
    reprojection_px: mean image distance (pixels, confidence-weighted) between the fitted body's
        landmark points and the 2-D landmarks; nan when none was trusted.
    scale: the person's size relative to the fitter's rest skeleton (bone lengths of MediaPipe's metric
        world landmarks), averaged over the track's first `scale_frames` (<= SCALE_FRAMES) frames that
        showed at least 3 of its bones (1.0 and 0 before any).
    pelvis_m: (3,) metres, camera frame: the pelvis of a person of that size seen where the fit is
        (scale x the rest skeleton's pelvis at `transl`; same image, metric depth).
    """

    full_pose: np.ndarray
    transl: np.ndarray
    joint_confidence: np.ndarray
    confidence: float
    reprojection_px: float = float("nan")
    scale: float = 1.0
    scale_frames: int = 0
    pelvis_m: np.ndarray | None = None


def clamp_to_limits(rotations: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Clamp the local rotations (N, 3, 3) of `joints` (N,) to the joint-limit boxes; unlimited joints pass."""
    limited = _IS_LIMITED[joints]
    if not limited.any():
        return rotations
    ids = joints[limited]
    aa = matrix_to_axis_angle(rotations[limited])
    clipped = np.clip(aa, LIMIT_LOW[ids], LIMIT_HIGH[ids])
    changed = np.any(clipped != aa, axis=1)
    if changed.any():
        out = rotations.copy()
        idx = np.flatnonzero(limited)[changed]
        out[idx] = axis_angle_to_matrix(clipped[changed])
        return out
    return rotations


def solve_translation(world: np.ndarray, image: np.ndarray, weights: np.ndarray,
                      camera: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Camera pose of the world landmarks from 2D/3D correspondences.

    world: (N, 3) metres; image: (N, 2) pixels; weights: (N,) (0 = unused; needs >= 4 used).
    Returns (R (3, 3), t (3,)): camera = R @ world + t. A linear solve for t with R = I seeds
    cv2.solvePnP (iterative); its answer is kept only if it stays close to that seed.
    """
    used = weights > 0
    obj, img, w = world[used], image[used], weights[used]
    du, dv = img[:, 0] - camera.cx, img[:, 1] - camera.cy
    # u = fx (X + tx) / (Z + tz) + cx  →  fx tx − du tz = du Z − fx X  (likewise for v).
    a = np.zeros((2 * len(obj), 3))
    a[0::2, 0], a[0::2, 2] = camera.fx, -du
    a[1::2, 1], a[1::2, 2] = camera.fy, -dv
    b = np.empty(2 * len(obj))
    b[0::2] = du * obj[:, 2] - camera.fx * obj[:, 0]
    b[1::2] = dv * obj[:, 2] - camera.fy * obj[:, 1]
    aw = a * np.repeat(w, 2)[:, None]
    t_lin = np.linalg.solve(aw.T @ a + 1e-9 * np.eye(3), aw.T @ b)  # weighted normal equations
    if t_lin[2] <= 0.1:
        t_lin = np.array([0.0, 0.0, 3.0])
    if len(obj) >= 6:
        ok, rvec, tvec = cv2.solvePnP(obj.astype(np.float64), img.astype(np.float64), camera.matrix(), None,
                                      rvec=np.zeros((3, 1)), tvec=t_lin.reshape(3, 1).copy(),
                                      useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        tvec = tvec.ravel()
        if ok and np.linalg.norm(rvec) < 0.5 and 0.1 < tvec[2] < 4.0 * t_lin[2]:
            return axis_angle_to_matrix(rvec.ravel()), tvec
    return np.eye(3), t_lin


def back_project(points: np.ndarray, camera: CameraIntrinsics) -> np.ndarray:
    """(N, 3) image-coordinate landmarks (x, y pixels; z depth relative to the first point, pixels)
    → camera-frame positions up to one unknown scale (the first point's depth is taken as 1)."""
    depth = 1.0 + points[:, 2] / camera.fx
    return np.stack([(points[:, 0] - camera.cx) / camera.fx * depth,
                     (points[:, 1] - camera.cy) / camera.fy * depth, depth], axis=1)


def mouth_to_jaw_angle(face: np.ndarray) -> float:
    """Jaw opening (radians about the jaw's x axis) from the inner-lip gap of the face points."""
    eye_span = np.linalg.norm(face[3] - face[2])
    gap = np.linalg.norm(face[5] - face[4]) / max(eye_span, 1e-6)
    opening_m = max(gap - L.MOUTH_CLOSED_GAP, 0.0) * L.EYE_CORNER_DISTANCE_M
    return float(2.0 * np.arcsin(min(opening_m / (2.0 * L.JAW_TO_LOWER_LIP_M), 1.0)))


class LandmarkFitter:
    """Fits SMPL-X poses to holistic landmarks on a given rest skeleton (one person per call)."""

    def __init__(self, rest_joints: np.ndarray = REST_JOINTS, refine_steps: int = 1,
                 min_visibility: float = 0.5, align_steps: int = 2) -> None:
        """rest_joints: (55, 3) metres, smplx model coordinates (the body that will be drawn: the fit places
        it on the pixels); refine_steps: Gauss–Newton steps on bone directions after the IK (0 = IK only);
        align_steps: Levenberg–Marquardt steps of the image alignment after its translation solve (0 = the
        translation only)."""
        rest = np.asarray(rest_joints, dtype=np.float64)
        if rest.shape != (NUM_JOINTS, 3):
            raise ValueError(f"rest_joints must have shape (55, 3), got {rest.shape}")
        self.rest = rest
        self.refine_steps = int(refine_steps)
        self.min_visibility = float(min_visibility)
        self.align_steps = int(align_steps)
        self._offsets = rest - rest[[0, *PARENTS[1:]]]  # bone vectors; row 0 (pelvis) is zero
        self._bone_lengths = np.linalg.norm(rest[_REFINE_BONES[:, 1]] - rest[_REFINE_BONES[:, 0]], axis=1)
        lhip, rhip, lsh, rsh = (rest[J[n]] for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"))
        self._hip_axis, self._shoulder_axis = lhip - rhip, lsh - rsh
        self._mid_hip = 0.5 * (lhip + rhip)
        self._up = 0.5 * (lsh + rsh) - self._mid_hip
        self._limb_upper = rest[_LIMB_JOINTS[:, 1]] - rest[_LIMB_JOINTS[:, 0]]
        self._limb_lower = rest[_LIMB_JOINTS[:, 2]] - rest[_LIMB_JOINTS[:, 1]]
        # Hands, indexed [left, right]: rest palm direction pairs, finger joints and rest segments.
        wrist, index1, pinky1 = (rest[[J[f"{side}_{n}"] for side in _SIDES]] for n in ("wrist", "index1", "pinky1"))
        mirror = np.array([-1.0, 1.0, 1.0])
        heel, toe = L.FOOT_TEMPLATE["heel"], L.FOOT_TEMPLATE["toe"]
        self._pair_rest = (
            np.stack([self._hip_axis, self._shoulder_axis, np.array([1.0, 0.0, 0.0]), toe - heel,
                      (toe - heel) * mirror, *(0.5 * (index1 + pinky1) - wrist), *(0.5 * (index1 + pinky1) - wrist)]),
            np.stack([self._up, self._up, L.FACE_UP_REST, -heel, -heel * mirror, *(index1 - pinky1),
                      *(index1 - pinky1)]))
        self._forearm_axis = normalize(self._limb_lower[:2])
        self._finger_joints = np.array([[[J[f"{side}_{finger}{k}"] for k in (1, 2, 3)] for finger in _FINGERS]
                                        for side in _SIDES])  # (2, 5, 3)
        pos = rest[self._finger_joints]
        self._finger_segments = np.stack([pos[..., 1, :] - pos[..., 0, :], pos[..., 2, :] - pos[..., 1, :],
                                          (pos[..., 2, :] - pos[..., 1, :]) * L.FINGERTIP_EXTENSION], axis=-2)

    def landmark_confidence(self, obs: HolisticLandmarks, camera: CameraIntrinsics) -> np.ndarray:
        """(33,) how far each pose landmark is trusted: its visibility when MediaPipe sees it; when not,
        OCCLUDED_CONFIDENCE if it lies inside the image (hidden behind the body: MediaPipe's guess is
        used) and 0 outside it (out of frame: the joint keeps its previous pose)."""
        vis = np.asarray(obs.pose_visibility, dtype=np.float64)
        x, y = obs.pose_image[:, 0], obs.pose_image[:, 1]
        inside = (x >= 0) & (x < camera.width) & (y >= 0) & (y < camera.height)
        return np.where(vis >= self.min_visibility, vis, np.where(inside, OCCLUDED_CONFIDENCE, 0.0))

    # ---- the fit -------------------------------------------------------------------------

    def fit(self, obs: HolisticLandmarks, camera: CameraIntrinsics, previous: PoseFit | None = None) -> PoseFit:
        """Fit one person; parts not seen keep `previous` (or the neutral pose) with confidence 0."""
        vis = self.landmark_confidence(obs, camera)
        reliable = vis >= self.min_visibility
        world_rot, t_world = solve_translation(obs.pose_world, obs.pose_image, np.where(reliable, vis, 0.0), camera)
        pts = obs.pose_world @ world_rot.T  # hip-centred, camera axes
        local = np.broadcast_to(np.eye(3), (NUM_JOINTS, 3, 3)).copy()
        conf = np.zeros(NUM_JOINTS)

        # Segments whose global rotation two observed directions fix, solved in one batch:
        # pelvis (hip line), chest (shoulder line), both feet, the face, both palms.
        hands = self._hand_points(obs, camera)
        rest_a, rest_b, seen_a, seen_b, part_conf = self._observed_pairs(obs, pts, vis, hands, camera)
        g_obs = rotation_between_pairs(rest_a, rest_b, seen_a, seen_b)
        g_pelvis, g_chest, g_head = g_obs[_PELVIS], g_obs[_CHEST], g_obs[_HEAD]
        if obs.face is None and part_conf[_HEAD] > 0:
            weights = vis[L.HEAD_TEMPLATE_INDICES]
            g_head = kabsch(L.HEAD_TEMPLATE, pts[L.HEAD_TEMPLATE_INDICES], weights)
        # The twist between hips and shoulders is spread evenly over the three spine joints, the
        # head's turn relative to the chest evenly over neck and head.
        split = axis_angle_to_matrix(
            matrix_to_axis_angle(np.stack([g_pelvis.T @ g_chest, g_chest.T @ g_head])) * _SPLIT[:, None])
        local[0] = g_pelvis
        local[_SPINE] = split[0]
        local[_NECK_HEAD] = split[1]
        torso_conf = part_conf[_PELVIS]
        conf[[0, *_SPINE, *_COLLARS]] = torso_conf
        conf[_NECK_HEAD] = part_conf[_HEAD]

        # Limbs: the upper bone's swing plus a twist that puts the middle joint's bend where it is seen.
        limb_pts = pts[_LIMB_LANDMARKS]  # (4, 3, 3)
        upper_t = limb_pts[:, 1] - limb_pts[:, 0]
        lower_t = limb_pts[:, 2] - limb_pts[:, 1]
        parent_g = np.stack([g_chest, g_chest, g_pelvis, g_pelvis])  # collars start at rest
        swung = swing((parent_g @ self._limb_upper[..., None])[..., 0], upper_t) @ parent_g
        fallback = (swung @ _LIMB_BEND_REST[..., None])[..., 0]
        # A straight leg's knee faces where its foot points.
        feet_seen = part_conf[_FEET] > 0
        fallback[2:][feet_seen] = -seen_a[_FEET][feet_seen]
        u = normalize(upper_t)
        perp = lower_t - (lower_t * u).sum(axis=1, keepdims=True) * u
        bend_sin = np.sqrt((perp * perp).sum(axis=1) / ((lower_t * lower_t).sum(axis=1) + 1e-12))
        w = np.clip((bend_sin - _BEND_SIN_LOW) / (_BEND_SIN_HIGH - _BEND_SIN_LOW), 0.0, 1.0)[:, None]
        fb = normalize(fallback - (fallback * u).sum(axis=1, keepdims=True) * u)
        g_upper = rotation_between_pairs(self._limb_upper, _LIMB_BEND_REST, upper_t,
                                         w * normalize(perp) + (1.0 - w) * fb)
        g_lower = swing((g_upper @ self._limb_lower[..., None])[..., 0], lower_t) @ g_upper
        local[_LIMB_JOINTS[:, 0]] = np.swapaxes(parent_g, 1, 2) @ g_upper
        local[_LIMB_JOINTS[:, 1]] = np.swapaxes(g_upper, 1, 2) @ g_lower
        limb_vis = vis[_LIMB_LANDMARKS]
        conf[_LIMB_JOINTS[:, 0]] = limb_vis[:, :2].min(axis=1)
        conf[_LIMB_JOINTS[:, 1]] = limb_vis[:, 1:].min(axis=1)
        local[_ANKLES] = np.swapaxes(g_lower[2:], 1, 2) @ g_obs[_FEET]
        conf[_ANKLES] = part_conf[_FEET]

        # Wrists. A hand's landmark depths are weak: of the palm as seen and the palm with its depths
        # flipped, take the one that needs the smaller wrist rotation. Forearm roll goes to the elbow
        # (it turns the forearm), the rest of the palm's turn to the wrist.
        candidates = np.swapaxes(g_lower[:2], 1, 2)[:, None] @ np.stack([g_obs[_PALMS], g_obs[_PALMS_FLIPPED]], 1)
        flipped = np.trace(candidates[:, 1], axis1=1, axis2=2) > np.trace(candidates[:, 0], axis1=1, axis2=2)
        wrist_local = candidates[[0, 1], flipped.astype(int)]
        g_palms = np.where(flipped[:, None, None], g_obs[_PALMS_FLIPPED], g_obs[_PALMS])
        palm_ok = part_conf[_PALMS] > 0
        roll = axis_angle_to_matrix(
            self._forearm_axis * (twist_angle(wrist_local, self._forearm_axis) * palm_ok)[:, None])
        local[_ELBOWS] = local[_ELBOWS] @ roll
        local[_WRISTS] = np.swapaxes(roll, 1, 2) @ wrist_local
        conf[_WRISTS] = part_conf[_PALMS]
        if obs.face is not None:
            local[J["jaw"]] = axis_angle_to_matrix(np.array([mouth_to_jaw_angle(hands[2]), 0.0, 0.0]))
            conf[J["jaw"]] = 1.0
        finger_points = [hands[3 + row] if flipped[row] else hands[row] for row in (0, 1)]
        self._fit_fingers(finger_points, g_palms, local, conf)

        local, clamped = self._clamp(local)
        self._keep_previous(local, conf, previous)
        # The IK meets every refined bone direction exactly; only joints held at a limit leave
        # residuals for the other joints to take up.
        for _ in range(self.refine_steps if clamped else 0):
            self._refine_step(local, pts, vis > 0, conf)

        mid_hip = 0.5 * (pts[L.LEFT_HIP] + pts[L.RIGHT_HIP])
        pelvis_cam = t_world + mid_hip + local[0] @ (self.rest[0] - self._mid_hip)
        pelvis_cam, reprojection_px = self._align_to_image(local, pelvis_cam, pts, obs.pose_image, vis, conf, camera)
        scale, scale_frames = self._track_scale(pts, vis, previous)
        full_pose = np.clip(matrix_to_axis_angle(local), LIMIT_LOW, LIMIT_HIGH)
        return PoseFit(full_pose=full_pose, transl=pelvis_cam - self.rest[0],
                       joint_confidence=conf, confidence=torso_conf, reprojection_px=reprojection_px,
                       scale=scale, scale_frames=scale_frames, pelvis_m=scale * pelvis_cam)

    @staticmethod
    def _hand_points(obs: HolisticLandmarks, camera: CameraIntrinsics) -> tuple[np.ndarray | None, ...]:
        """Left hand, right hand, face, then both hands with their relative depths flipped: points
        back-projected into the camera frame (None = not found)."""
        flip = np.array([1.0, 1.0, -1.0])
        return tuple(None if points is None else back_project((points - [0.0, 0.0, points[0, 2]]) * sign, camera)
                     for points, sign in ((obs.left_hand, 1.0), (obs.right_hand, 1.0), (obs.face, 1.0),
                                          (obs.left_hand, flip), (obs.right_hand, flip)))

    def _observed_pairs(self, obs: HolisticLandmarks, pts: np.ndarray, vis: np.ndarray,
                        hands: tuple[np.ndarray | None, ...], camera: CameraIntrinsics) -> tuple[np.ndarray, ...]:
        """Rest and seen direction pairs of the rows _PELVIS.._PALMS_FLIPPED, and each row's confidence."""
        rest_a, rest_b = self._pair_rest
        seen_a, seen_b = rest_a.copy(), rest_b.copy()  # unseen rows solve to identity
        part_conf = np.zeros(len(rest_a))
        up = 0.5 * (pts[L.LEFT_SHOULDER] + pts[L.RIGHT_SHOULDER]) - 0.5 * (pts[L.LEFT_HIP] + pts[L.RIGHT_HIP])
        seen_a[_PELVIS], seen_b[_PELVIS] = pts[L.LEFT_HIP] - pts[L.RIGHT_HIP], up
        seen_a[_CHEST], seen_b[_CHEST] = pts[L.LEFT_SHOULDER] - pts[L.RIGHT_SHOULDER], up
        part_conf[_PELVIS] = part_conf[_CHEST] = vis[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP]].min()
        heel, toe, ankle = _FOOT_LANDMARKS.T
        seen_a[_FEET], seen_b[_FEET] = pts[toe] - pts[heel], pts[ankle] - pts[heel]
        part_conf[_FEET] = np.minimum(np.minimum(vis[heel], vis[toe]), vis[ankle])
        face = hands[2]
        if face is not None:
            seen_a[_HEAD], seen_b[_HEAD] = face[3] - face[2], face[0] - face[1]
            part_conf[_HEAD] = 1.0
        else:  # pose landmarks of the head, solved by Kabsch in `fit`; three good points fix a rotation
            part_conf[_HEAD] = np.sort(vis[L.HEAD_TEMPLATE_INDICES])[-3]
        for row, side, hand in ((_PALMS[0], "left", hands[0]), (_PALMS[1], "right", hands[1]),
                                (_PALMS_FLIPPED[0], "left", hands[3]), (_PALMS_FLIPPED[1], "right", hands[4])):
            if hand is not None:
                base, index, pinky, score = hand[L.HAND_WRIST], hand[L.HAND_INDEX_MCP], hand[L.HAND_PINKY_MCP], 1.0
            else:  # the pose model's own hand points: a coarser palm
                ids = _POSE_HAND[side]
                base, pinky, index = pts[ids[0]], pts[ids[1]], pts[ids[2]]
                score = 0.75 * vis[list(ids)].min()
            seen_a[row], seen_b[row] = 0.5 * (index + pinky) - base, index - pinky
            part_conf[row] = score
        return rest_a, rest_b, seen_a, seen_b, part_conf

    def _fit_fingers(self, hands: Sequence[np.ndarray | None], g_palms: np.ndarray,
                     local: np.ndarray, conf: np.ndarray) -> None:
        """The base joint turns the finger onto its first segment and rolls it so that the finger curls in
        the plane it is seen curling in (as for the limbs); the two distal joints are then swings of each
        rest segment onto the seen one, in the parent's frame. Both hands at once."""
        rows = [row for row in (0, 1) if hands[row] is not None]
        if not rows:
            return
        joints = self._finger_joints[rows].reshape(-1, 3)  # (5 per hand, 3 levels)
        segments = self._finger_segments[rows].reshape(-1, 3, 3)
        points = np.concatenate([hands[row][L.HAND_FINGER_LANDMARKS] for row in rows])  # (5 per hand, 4, 3)
        parent = np.repeat(g_palms[rows], 5, axis=0)
        seen = points[:, 1:] - points[:, :-1]  # (F, 3 segments, 3)
        curl_rest = np.broadcast_to(_CURL_REST, seen[:, 0].shape)
        carried = (parent @ curl_rest[..., None])[..., 0]
        u = normalize(seen[:, 0])
        perp = seen[:, 1] - (seen[:, 1] * u).sum(axis=1, keepdims=True) * u
        bend_sin = np.sqrt((perp * perp).sum(axis=1) / ((seen[:, 1] * seen[:, 1]).sum(axis=1) + 1e-12))
        w = np.clip((bend_sin - _BEND_SIN_LOW) / (_BEND_SIN_HIGH - _BEND_SIN_LOW), 0.0, 1.0)
        w[4::5] = 0.0  # the thumb has no single curl plane in the rest frame: swing only
        carried = normalize(carried - (carried * u).sum(axis=1, keepdims=True) * u)
        g_base = rotation_between_pairs(segments[:, 0], curl_rest, seen[:, 0],
                                        w[:, None] * normalize(perp) + (1.0 - w[:, None]) * carried)
        rot = np.swapaxes(parent, 1, 2) @ g_base
        local[joints[:, 0]] = rot
        for level in (1, 2):
            parent = parent @ rot
            rot = swing(segments[:, level], (np.swapaxes(parent, 1, 2) @ seen[:, level, :, None])[..., 0])
            local[joints[:, level]] = rot
        conf[joints.ravel()] = 1.0

    @staticmethod
    def _clamp(local: np.ndarray) -> tuple[np.ndarray, bool]:
        """All joints clamped to their limit boxes, and whether a body joint had to be."""
        aa = matrix_to_axis_angle(local[_IS_LIMITED])
        clipped = np.clip(aa, LIMIT_LOW[_IS_LIMITED], LIMIT_HIGH[_IS_LIMITED])
        out = local.copy()
        out[_IS_LIMITED] = axis_angle_to_matrix(clipped)
        return out, bool((clipped != aa)[_LIMITED_IS_BODY].any())

    def _keep_previous(self, local: np.ndarray, conf: np.ndarray, previous: PoseFit | None) -> None:
        """Unseen joints hold their previous rotation, fading to the rest pose (HOLD_DECAY per frame)."""
        low = conf <= 0.0
        low[0] = False  # the pelvis always follows the torso that is seen
        if low.any():
            local[low] = (np.eye(3) if previous is None
                          else axis_angle_to_matrix(previous.full_pose[low] * HOLD_DECAY))
        conf[low] = 0.0

    def _body_fk(self, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global rotations (22, 3, 3) and positions (22, 3) of the body joints, pelvis at the origin."""
        g = np.empty((NUM_BODY, 3, 3))
        p = np.empty((NUM_BODY, 3))
        g[0], p[0] = local[0], 0.0
        for joints, parents in _BODY_LEVELS:
            g[joints] = g[parents] @ local[joints]
            p[joints] = p[parents] + (g[parents] @ self._offsets[joints, :, None])[..., 0]
        return g, p

    def _align_to_image(self, local: np.ndarray, pelvis: np.ndarray, pts: np.ndarray, image: np.ndarray,
                        vis: np.ndarray, conf: np.ndarray, camera: CameraIntrinsics) -> tuple[np.ndarray, float]:
        """Move the pelvis (depth included) and turn the pelvis and limbs (`_ALIGN_JOINTS`) so that the body's
        landmark points project onto the 2-D landmarks; updates `local` in place. Returns the pelvis (3,) and
        the remaining mean reprojection error in pixels (nan when fewer than 3 points are trusted: the pelvis
        is kept).

        Residuals: each point's algebraic image error (X - a Z, Y - b Z) with (a, b) its landmark's normalised
        image coordinates (metres at the point's depth; linear in the position), weighted by the landmark's
        confidence and Huber (ALIGN_HUBER_M); plus ALIGN_PRIOR_WEIGHT x the 3-D bone-direction residuals of
        `_refine_step` (torso sides included). A translation-only solve first (exact: the residuals are
        linear in the pelvis), then `align_steps` Levenberg–Marquardt steps on pelvis and rotations
        together: a step that raises the robust cost is undone and the next one damped harder.
        """
        weights = vis[_ALIGN_POINT_LANDMARKS] * _ALIGN_POINT_WEIGHTS
        if (weights > 0).sum() < 3:
            return pelvis, float("nan")
        a_mat = np.zeros((len(weights), 2, 3))  # d residual / d point
        a_mat[:, 0, 0] = a_mat[:, 1, 1] = 1.0
        a_mat[:, 0, 2] = -(image[_ALIGN_POINT_LANDMARKS, 0] - camera.cx) / camera.fx
        a_mat[:, 1, 2] = -(image[_ALIGN_POINT_LANDMARKS, 1] - camera.cy) / camera.fy
        bone_weights = (vis[_PRIOR_BONE_LANDMARKS] > 0).all(axis=1) * np.sqrt(ALIGN_PRIOR_WEIGHT)
        observed = normalize(pts[_PRIOR_BONE_LANDMARKS[:, 1]] - pts[_PRIOR_BONE_LANDMARKS[:, 0]])
        damping = np.concatenate([np.full(3, 1e-6), np.repeat(_ALIGN_DAMPING, 3)
                                  + np.where(np.repeat(conf[_ALIGN_JOINTS] > 0, 3), 0.0, 1e6)])

        def evaluate(pelvis: np.ndarray) -> _AlignState:
            g, p = self._body_fk(local)
            points = p[_ALIGN_POINT_JOINTS] + (g[_ALIGN_POINT_JOINTS] @ _ALIGN_POINT_OFFSETS[..., None])[..., 0]
            residual = (a_mat @ (points + pelvis)[..., None])[..., 0]  # (P, 2) metres
            norm = np.sqrt((residual * residual).sum(axis=1))
            model = p[_PRIOR_BONES[:, 1]] - p[_PRIOR_BONES[:, 0]]
            res_dir = (model - np.sqrt((model * model).sum(axis=1, keepdims=True)) * observed) * bone_weights[:, None]
            huber = np.where(norm < ALIGN_HUBER_M, 0.5 * norm * norm, ALIGN_HUBER_M * (norm - 0.5 * ALIGN_HUBER_M))
            robust = weights * np.minimum(1.0, ALIGN_HUBER_M / np.maximum(norm, 1e-12))  # IRLS weights
            cost = float((weights * huber).sum() + 0.5 * (res_dir * res_dir).sum())
            return _AlignState(pelvis, g, p, points, residual, robust, res_dir, cost)

        state = evaluate(pelvis)
        # Translation only: weighted linear least squares.
        h = np.einsum("p,pji,pjk->ik", state.robust, a_mat, a_mat)
        step = np.linalg.solve(h + 1e-9 * np.eye(3), np.einsum("p,pji,pj->i", state.robust, a_mat, state.residual))
        state = evaluate(pelvis - step)
        boost = 0.0
        for _ in range(self.align_steps):
            g, p, points, sqrt_w = state.g, state.p, state.points, np.sqrt(state.robust)
            # d point / d omega_j = [P_j - point]_x for the refined ancestors j of the point's joint.
            lever = skew(p[_ALIGN_JOINTS][None] - points[:, None]) * _ALIGN_MASK  # (P, R, 3, 3)
            jac_img = np.concatenate([a_mat[:, None], a_mat[:, None] @ lever], axis=1)  # (P, 1 + R, 2, 3)
            jac_img = jac_img.transpose(0, 2, 1, 3).reshape(2 * len(points), -1) * np.repeat(sqrt_w, 2)[:, None]
            jac_dir = (skew(p[_ALIGN_JOINTS][None] - p[_PRIOR_BONES[:, 1]][:, None]) * _PRIOR_END_MASK
                       - skew(p[_ALIGN_JOINTS][None] - p[_PRIOR_BONES[:, 0]][:, None]) * _PRIOR_START_MASK)
            jac_dir = (jac_dir * bone_weights[:, None, None, None]).transpose(0, 2, 1, 3).reshape(
                3 * len(_PRIOR_BONES), -1)
            hessian = jac_img.T @ jac_img
            hessian[3:, 3:] += jac_dir.T @ jac_dir
            gradient = jac_img.T @ (state.residual * sqrt_w[:, None]).ravel()
            gradient[3:] += jac_dir.T @ state.res_dir.ravel()
            delta = -np.linalg.solve(hessian + np.diag(damping + boost * np.diag(hessian)), gradient)
            parent_g = np.where((_ALIGN_JOINTS == 0)[:, None, None], np.eye(3), g[_ALIGN_PARENTS])
            turn = axis_angle_to_matrix((np.swapaxes(parent_g, 1, 2) @ delta[3:].reshape(-1, 3, 1))[..., 0])
            saved = local[_ALIGN_JOINTS]
            local[_ALIGN_JOINTS] = clamp_to_limits(turn @ saved, _ALIGN_JOINTS)
            candidate = evaluate(state.pelvis + delta[:3])
            if candidate.cost <= state.cost:
                state, boost = candidate, 0.3 * boost
            else:  # overshot (nonlinearity, a joint limit): undo, damp harder
                local[_ALIGN_JOINTS] = saved
                boost = max(10.0 * boost, 0.1)
        points = state.points + state.pelvis
        error = np.sqrt(((camera.project(points) - image[_ALIGN_POINT_LANDMARKS]) ** 2).sum(axis=1))
        return state.pelvis, float((weights * error).sum() / weights.sum())

    def _track_scale(self, pts: np.ndarray, vis: np.ndarray, previous: PoseFit | None) -> tuple[float, int]:
        """The person's size against the rest skeleton: this frame's seen bone lengths of the world landmarks
        over the rest skeleton's, averaged with the track's earlier frames up to SCALE_FRAMES."""
        scale, frames = (1.0, 0) if previous is None else (previous.scale, previous.scale_frames)
        seen = (vis[_REFINE_BONE_LANDMARKS] >= self.min_visibility).all(axis=1)
        if frames >= SCALE_FRAMES or seen.sum() < 3:
            return scale, frames
        bones = pts[_REFINE_BONE_LANDMARKS[seen, 1]] - pts[_REFINE_BONE_LANDMARKS[seen, 0]]
        ratio = np.sqrt((bones * bones).sum(axis=1)).sum() / self._bone_lengths[seen].sum()
        return float((scale * frames + ratio) / (frames + 1)), frames + 1

    def _refine_step(self, local: np.ndarray, pts: np.ndarray, seen: np.ndarray, conf: np.ndarray) -> None:
        """One damped Gauss–Newton step that turns the body's bones towards the seen ones, then limits.

        Residuals are directions, not positions (each model bone against the seen bone's direction at
        the model bone's length), so a person built unlike the rest skeleton does not bend the fit.
        """
        g, p = self._body_fk(local)
        model = p[_REFINE_BONES[:, 1]] - p[_REFINE_BONES[:, 0]]
        observed = normalize(pts[_REFINE_BONE_LANDMARKS[:, 1]] - pts[_REFINE_BONE_LANDMARKS[:, 0]])
        weights = seen[_REFINE_BONE_LANDMARKS].all(axis=1).astype(np.float64)
        length = np.sqrt((model * model).sum(axis=1, keepdims=True))
        residual = (length * observed - model) * weights[:, None]
        # d p_k / d omega_j = [p_j - p_k]_x for each ancestor j of k (omega: world-frame rotation of j's subtree).
        jac = (skew(p[_REFINE_JOINTS][None] - p[_REFINE_BONES[:, 1]][:, None]) * _REFINE_END_MASK
               - skew(p[_REFINE_JOINTS][None] - p[_REFINE_BONES[:, 0]][:, None]) * _REFINE_START_MASK)
        jac = (jac * weights[:, None, None, None]).transpose(0, 2, 1, 3).reshape(3 * len(_REFINE_BONES), -1)
        damping = np.repeat(_REFINE_DAMPING, 3) + np.where(np.repeat(conf[_REFINE_JOINTS] > 0, 3), 0.0, 1e6)
        omega = np.linalg.solve(jac.T @ jac + np.diag(damping), jac.T @ residual.ravel()).reshape(-1, 3)
        parent_g = np.where((_REFINE_JOINTS == 0)[:, None, None], np.eye(3), g[_REFINE_PARENTS])
        delta = axis_angle_to_matrix((np.swapaxes(parent_g, 1, 2) @ omega[..., None])[..., 0])
        local[_REFINE_JOINTS] = clamp_to_limits(delta @ local[_REFINE_JOINTS], _REFINE_JOINTS)
