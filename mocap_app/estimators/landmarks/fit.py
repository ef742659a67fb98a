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
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS

from . import layout as L
from .observation import HolisticLandmarks
from .rotations import (
    axis_angle_to_matrix,
    fraction,
    kabsch,
    matrix_to_axis_angle,
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


_REFINE_MASK = _ancestor_mask(_REFINE_JOINTS, L.BODY_LANDMARK_JOINTS)


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


@dataclass(frozen=True)
class PoseFit:
    """One person's fitted pose.

    full_pose: (55, 3) float64 axis-angle local rotations, smplx joint order (flat hand = zeros).
    transl: (3,) float64 metres, smplx `transl` in the camera frame.
    joint_confidence: (55,) float64 in [0, 1]; 0 = kept from the previous fit (or neutral).
    confidence: overall confidence in [0, 1] (torso visibility).
    """

    full_pose: np.ndarray
    transl: np.ndarray
    joint_confidence: np.ndarray
    confidence: float


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
    sw = np.repeat(np.sqrt(w), 2)
    t_lin = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)[0]
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

    def __init__(self, rest_joints: np.ndarray = REST_JOINTS, refine_steps: int = 2,
                 min_visibility: float = 0.5) -> None:
        """rest_joints: (55, 3) metres, smplx model coordinates; refine_steps: Gauss–Newton steps (0 = IK only)."""
        rest = np.asarray(rest_joints, dtype=np.float64)
        if rest.shape != (NUM_JOINTS, 3):
            raise ValueError(f"rest_joints must have shape (55, 3), got {rest.shape}")
        self.rest = rest
        self.refine_steps = int(refine_steps)
        self.min_visibility = float(min_visibility)
        self._offsets = rest - rest[[0, *PARENTS[1:]]]  # bone vectors; row 0 (pelvis) is zero
        lhip, rhip, lsh, rsh = (rest[J[n]] for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"))
        self._hip_axis, self._shoulder_axis = lhip - rhip, lsh - rsh
        self._mid_hip = 0.5 * (lhip + rhip)
        self._up = 0.5 * (lsh + rsh) - self._mid_hip
        self._limb_upper = rest[_LIMB_JOINTS[:, 1]] - rest[_LIMB_JOINTS[:, 0]]
        self._limb_lower = rest[_LIMB_JOINTS[:, 2]] - rest[_LIMB_JOINTS[:, 1]]
        mirror = np.array([-1.0, 1.0, 1.0])
        heel, toe = L.FOOT_TEMPLATE["heel"], L.FOOT_TEMPLATE["toe"]
        self._foot_rest = {"left": (toe - heel, -heel), "right": ((toe - heel) * mirror, -heel * mirror)}
        # Hands, indexed [left, right]: rest palm direction pairs, finger joints and rest segments.
        wrist, index1, pinky1 = (rest[[J[f"{side}_{n}"] for side in _SIDES]] for n in ("wrist", "index1", "pinky1"))
        self._palm_rest = (0.5 * (index1 + pinky1) - wrist, index1 - pinky1)
        self._forearm_axis = normalize(self._limb_lower[:2])
        self._finger_joints = np.array([[[J[f"{side}_{finger}{k}"] for k in (1, 2, 3)] for finger in _FINGERS]
                                        for side in _SIDES])  # (2, 5, 3)
        pos = rest[self._finger_joints]
        self._finger_segments = np.stack([pos[..., 1, :] - pos[..., 0, :], pos[..., 2, :] - pos[..., 1, :],
                                          (pos[..., 2, :] - pos[..., 1, :]) * L.FINGERTIP_EXTENSION], axis=-2)

    # ---- the fit -------------------------------------------------------------------------

    def fit(self, obs: HolisticLandmarks, camera: CameraIntrinsics, previous: PoseFit | None = None) -> PoseFit:
        """Fit one person; parts seen poorly keep `previous` (or the neutral pose) with confidence 0."""
        vis = np.asarray(obs.pose_visibility, dtype=np.float64)
        seen = vis >= self.min_visibility
        world_rot, t_world = solve_translation(obs.pose_world, obs.pose_image, np.where(seen, vis, 0.0), camera)
        pts = obs.pose_world @ world_rot.T  # hip-centred, camera axes

        local = np.broadcast_to(np.eye(3), (NUM_JOINTS, 3, 3)).copy()
        conf = np.zeros(NUM_JOINTS)

        # Torso: pelvis from the hip line, chest from the shoulder line; the twist between them is
        # spread evenly over the three spine joints.
        up = 0.5 * (pts[L.LEFT_SHOULDER] + pts[L.RIGHT_SHOULDER]) - 0.5 * (pts[L.LEFT_HIP] + pts[L.RIGHT_HIP])
        g_pelvis = rotation_between_pairs(self._hip_axis, self._up, pts[L.LEFT_HIP] - pts[L.RIGHT_HIP], up)
        g_chest = rotation_between_pairs(self._shoulder_axis, self._up,
                                         pts[L.LEFT_SHOULDER] - pts[L.RIGHT_SHOULDER], up)
        spine = fraction(g_pelvis.T @ g_chest, 1.0 / 3.0)
        local[0] = g_pelvis
        local[[J["spine1"], J["spine2"], J["spine3"]]] = spine
        g_chest = g_pelvis @ spine @ spine @ spine
        torso_conf = float(vis[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP]].min())
        conf[[0, J["spine1"], J["spine2"], J["spine3"], J["left_collar"], J["right_collar"]]] = torso_conf

        # Limbs: the upper bone's swing plus a twist that puts the middle joint's bend where it is seen.
        limb_pts = pts[_LIMB_LANDMARKS]  # (4, 3, 3)
        upper_t = limb_pts[:, 1] - limb_pts[:, 0]
        lower_t = limb_pts[:, 2] - limb_pts[:, 1]
        parent_g = np.stack([g_chest, g_chest, g_pelvis, g_pelvis])  # collars stay at rest
        swung = swing((parent_g @ self._limb_upper[..., None])[..., 0], upper_t) @ parent_g
        fallback = (swung @ _LIMB_BEND_REST[..., None])[..., 0]
        for row, side in ((2, "left"), (3, "right")):  # straight legs: the foot says which way the knee faces
            heel_i, toe_i = L.FOOT_LANDMARKS[side]
            if min(vis[heel_i], vis[toe_i]) >= self.min_visibility:
                toe_dir = pts[toe_i] - pts[heel_i]
                fallback[row] = -toe_dir
        u = normalize(upper_t)
        perp = lower_t - (lower_t * u).sum(axis=1, keepdims=True) * u
        bend_sin = np.sqrt((perp * perp).sum(axis=1) / ((lower_t * lower_t).sum(axis=1) + 1e-12))
        w = np.clip((bend_sin - _BEND_SIN_LOW) / (_BEND_SIN_HIGH - _BEND_SIN_LOW), 0.0, 1.0)[:, None]
        fb = normalize(fallback - (fallback * u).sum(axis=1, keepdims=True) * u)
        bend_t = w * normalize(perp) + (1.0 - w) * fb
        g_upper = rotation_between_pairs(self._limb_upper, _LIMB_BEND_REST, upper_t, bend_t)
        g_lower = swing((g_upper @ self._limb_lower[..., None])[..., 0], lower_t) @ g_upper
        local[_LIMB_JOINTS[:, 0]] = np.swapaxes(parent_g, 1, 2) @ g_upper
        local[_LIMB_JOINTS[:, 1]] = np.swapaxes(g_upper, 1, 2) @ g_lower
        limb_vis = vis[_LIMB_LANDMARKS]
        conf[_LIMB_JOINTS[:, 0]] = limb_vis[:, :2].min(axis=1)
        conf[_LIMB_JOINTS[:, 1]] = limb_vis[:, 1:].min(axis=1)

        self._fit_feet(pts, vis, g_lower[2:], local, conf)
        self._fit_head(obs, pts, vis, camera, g_chest, local, conf)
        self._fit_hands(obs, vis, pts, camera, g_lower[:2], local, conf)

        local[:NUM_BODY] = clamp_to_limits(local[:NUM_BODY], np.arange(NUM_BODY))
        self._keep_previous(local, conf, previous)
        for _ in range(self.refine_steps):
            self._refine_step(local, pts, np.where(seen[L.BODY_LANDMARK_INDICES], 1.0, 0.0), conf)

        mid_hip = 0.5 * (pts[L.LEFT_HIP] + pts[L.RIGHT_HIP])
        pelvis_cam = t_world + mid_hip + local[0] @ (self.rest[0] - self._mid_hip)
        return PoseFit(full_pose=matrix_to_axis_angle(local), transl=pelvis_cam - self.rest[0],
                       joint_confidence=conf, confidence=torso_conf)

    def _fit_feet(self, pts: np.ndarray, vis: np.ndarray, g_shin: np.ndarray,
                  local: np.ndarray, conf: np.ndarray) -> None:
        for row, side in enumerate(_SIDES):
            heel_i, toe_i = L.FOOT_LANDMARKS[side]
            ankle_i = L.LEFT_ANKLE if side == "left" else L.RIGHT_ANKLE
            foot_conf = float(min(vis[heel_i], vis[toe_i], vis[ankle_i]))
            if foot_conf < self.min_visibility:
                continue
            rest_fwd, rest_up = self._foot_rest[side]
            g_ankle = rotation_between_pairs(rest_fwd, rest_up, pts[toe_i] - pts[heel_i], pts[ankle_i] - pts[heel_i])
            local[J[f"{side}_ankle"]] = g_shin[row].T @ g_ankle
            conf[J[f"{side}_ankle"]] = foot_conf

    def _fit_head(self, obs: HolisticLandmarks, pts: np.ndarray, vis: np.ndarray, camera: CameraIntrinsics,
                  g_chest: np.ndarray, local: np.ndarray, conf: np.ndarray) -> None:
        if obs.face is not None:
            face = back_project(obs.face - [0.0, 0.0, obs.face[0, 2]], camera)
            g_head = rotation_between_pairs(np.array([1.0, 0.0, 0.0]), L.FACE_UP_REST,
                                            face[3] - face[2], face[0] - face[1])
            head_conf = 1.0
            local[J["jaw"]] = axis_angle_to_matrix(np.array([mouth_to_jaw_angle(face), 0.0, 0.0]))
            conf[J["jaw"]] = 1.0
        else:
            weights = vis[L.HEAD_TEMPLATE_INDICES]
            head_conf = float(np.sort(weights)[-3])  # three good points fix a rotation
            if head_conf < self.min_visibility:
                return
            g_head = kabsch(L.HEAD_TEMPLATE, pts[L.HEAD_TEMPLATE_INDICES], weights)
        half = fraction(g_chest.T @ g_head, 0.5)
        local[[J["neck"], J["head"]]] = half
        conf[[J["neck"], J["head"]]] = head_conf

    def _fit_hands(self, obs: HolisticLandmarks, vis: np.ndarray, pts: np.ndarray, camera: CameraIntrinsics,
                   g_forearm: np.ndarray, local: np.ndarray, conf: np.ndarray) -> None:
        """Wrists (and forearm roll) from each hand's palm, fingers from the hand landmarks; both sides at once."""
        primary, secondary, wrist_conf, hands = [], [], [], []
        for side, hand in zip(_SIDES, (obs.left_hand, obs.right_hand), strict=True):
            if hand is not None:
                hand = back_project(hand - [0.0, 0.0, hand[L.HAND_WRIST, 2]], camera)
                base, index, pinky, score = hand[L.HAND_WRIST], hand[L.HAND_INDEX_MCP], hand[L.HAND_PINKY_MCP], 1.0
                hands.append((side, hand))
            else:  # the pose model's own hand points: a coarser palm, no fingers
                ids = _POSE_HAND[side]
                base, index, pinky = pts[ids[0]], pts[ids[2]], pts[ids[1]]
                score = 0.5 * float(vis[list(ids)].min())
            primary.append(0.5 * (index + pinky) - base)
            secondary.append(index - pinky)
            wrist_conf.append(score)
        g_wrist = rotation_between_pairs(self._palm_rest[0], self._palm_rest[1], np.array(primary), np.array(secondary))
        # Forearm roll goes to the elbow (it turns the forearm), the rest of the hand's turn to the wrist.
        wrist_local = np.swapaxes(g_forearm, 1, 2) @ g_wrist
        roll = axis_angle_to_matrix(self._forearm_axis * twist_angle(wrist_local, self._forearm_axis)[:, None])
        for row, side in enumerate(_SIDES):
            if wrist_conf[row] < 0.5 * self.min_visibility:
                continue
            local[J[f"{side}_elbow"]] = local[J[f"{side}_elbow"]] @ roll[row]
            local[J[f"{side}_wrist"]] = roll[row].T @ wrist_local[row]
            conf[J[f"{side}_wrist"]] = wrist_conf[row]
        if not hands:
            return
        # Fingers: the base joint turns the finger onto its first segment and rolls it so that the
        # finger curls in the plane it is seen curling in (as for the limbs); the two distal joints
        # are then swings of each rest segment onto the seen one, in the parent's frame.
        rows = [_SIDES.index(side) for side, _ in hands]
        joints = self._finger_joints[rows].reshape(-1, 3)  # (5 per hand, 3 levels)
        segments = self._finger_segments[rows].reshape(-1, 3, 3)
        points = np.concatenate([hand[L.HAND_FINGER_LANDMARKS] for _, hand in hands])  # (5 per hand, 4, 3)
        parent = np.repeat(g_wrist[rows], 5, axis=0)
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
        rot = clamp_to_limits(np.swapaxes(parent, 1, 2) @ g_base, joints[:, 0])
        local[joints[:, 0]] = rot
        parent = parent @ rot
        for level in (1, 2):
            in_parent = (np.swapaxes(parent, 1, 2) @ seen[:, level, :, None])[..., 0]
            rot = clamp_to_limits(swing(segments[:, level], in_parent), joints[:, level])
            local[joints[:, level]] = rot
            parent = parent @ rot
        conf[joints.ravel()] = 1.0

    def _keep_previous(self, local: np.ndarray, conf: np.ndarray, previous: PoseFit | None) -> None:
        """Unseen joints hold their previous rotation, fading to the rest pose (HOLD_DECAY per frame)."""
        low = conf < self.min_visibility
        low[0] = False  # the pelvis always follows the torso that is seen
        if low.any():
            local[low] = (np.eye(3) if previous is None
                          else axis_angle_to_matrix(previous.full_pose[low] * HOLD_DECAY))
        conf[low] = 0.0

    def _refine_step(self, local: np.ndarray, pts: np.ndarray, weights: np.ndarray, conf: np.ndarray) -> None:
        """One damped Gauss–Newton step on the body joints' positions (relative to the pelvis), then limits."""
        g = np.empty((NUM_BODY, 3, 3))
        p = np.empty((NUM_BODY, 3))
        g[0], p[0] = local[0], 0.0
        for joints, parents in _BODY_LEVELS:
            g[joints] = g[parents] @ local[joints]
            p[joints] = p[parents] + (g[parents] @ self._offsets[joints, :, None])[..., 0]
        # Residuals against the landmarks with a free offset c (the pelvis is not itself a landmark).
        target = pts[L.BODY_LANDMARK_INDICES]
        model = p[L.BODY_LANDMARK_JOINTS]
        c = weights @ (target - model) / max(weights.sum(), 1.0)
        residual = (target - model - c) * weights[:, None]
        # d p_k / d omega_j = [p_j - p_k]_x for each ancestor j of k (omega: world-frame rotation of j's subtree).
        diff = p[_REFINE_JOINTS][None, :, :] - p[L.BODY_LANDMARK_JOINTS][:, None, :]
        jac = skew(diff) * (_REFINE_MASK[:, :, None, None] * weights[:, None, None, None])
        jac = jac.transpose(0, 2, 1, 3).reshape(3 * len(L.BODY_LANDMARK_JOINTS), 3 * len(_REFINE_JOINTS))
        jac = np.concatenate([np.repeat(weights, 3)[:, None] * np.tile(np.eye(3), (len(weights), 1)), jac], axis=1)
        active = np.repeat(conf[_REFINE_JOINTS] > 0, 3)
        damping = np.concatenate([np.full(3, 1e-6), np.repeat(_REFINE_DAMPING, 3) + np.where(active, 0.0, 1e6)])
        step = np.linalg.solve(jac.T @ jac + np.diag(damping), jac.T @ residual.ravel())
        omega = step[3:].reshape(-1, 3)
        parents = np.array([PARENTS[j] if j else 0 for j in _REFINE_JOINTS])
        parent_g = np.where((_REFINE_JOINTS == 0)[:, None, None], np.eye(3), g[parents])
        delta = axis_angle_to_matrix((np.swapaxes(parent_g, 1, 2) @ omega[..., None])[..., 0])
        local[_REFINE_JOINTS] = clamp_to_limits(delta @ local[_REFINE_JOINTS], _REFINE_JOINTS)
