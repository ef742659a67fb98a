"""Feet that stay planted: contact detection, a floor, two-bone leg IK and the clean-up of a clip.

Geometry: each foot has two sole points, the toe (smplx's `*_foot` joint, the ball of the foot) and a
heel under the ankle at the toe's rest height; their mean is the foot's centre. A foot is in contact when
its lowest sole point is near the floor and its centre is slow (its speed along the camera's line of sight,
where a monocular estimate is noisiest, counting less), with hysteresis.

`clean_feet` (offline, after smoothing): fits the floor plane and the take's vertical drift together to the
slow feet, levels the clip's frame so the floor is horizontal (y = its height in the camera's y-down frame),
removes the drift from the root, moves the root horizontally so planted feet do not slide, pins each planted
foot flat on the floor at its contact position (two-bone IK, blended in and out; the root lowered where the
leg is too short for it) and lifts any foot below the floor. `FootLocker` is its causal twin for one person
live (frame in, same frame out), `LockedFeet` puts one after a pipeline's online smoother.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mocap_app.core.errors import ConfigError
from mocap_app.core.params import MotionClip, SmplxParams, split_full_pose
from mocap_app.core.rotations import axis_angle_to_matrix, cross, matrix_to_axis_angle
from mocap_app.core.skeleton import JOINT_INDEX, PARENTS, forward_kinematics

from .rest_skeleton import REST_JOINTS
from .retarget import orthonormal_frame, rotation_between

SIDES = ("left", "right")
HIPS = np.array([JOINT_INDEX[f"{s}_hip"] for s in SIDES])
KNEES = np.array([JOINT_INDEX[f"{s}_knee"] for s in SIDES])
ANKLES = np.array([JOINT_INDEX[f"{s}_ankle"] for s in SIDES])
TOES = np.array([JOINT_INDEX[f"{s}_foot"] for s in SIDES])
FEET_MODES = ("off", "lock")
FLOOR_RATE = 0.3  # the live ground's step towards the slow feet per frame: it follows an estimate's drift
SLOW_FLOOR_RATE = 0.05  # the live floor's: it averages the drift out
_CAMERA_UP = np.array([0.0, -1.0, 0.0])  # OpenCV camera frame: y points down
_MODEL_UP = np.array([0.0, 1.0, 0.0])  # smplx model frame: the sole's normal in the rest pose


@dataclass(frozen=True)
class FeetConfig:
    """Contact detection and locking parameters.

    contact_height_m: (certain, none) lowest sole point above the floor, metres: contact is certain below
        the first, impossible above the second. contact_speed_mps: (certain, none) foot centre speed, m/s, its
        part along the camera's line of sight counted `depth_speed_weight` times (`foot_speed`).
    on, off: hysteresis thresholds on the contact probability. min_contact_frames: shorter contacts are
        dropped. blend_frames: frames over which a lock blends in before and out after a contact.
    drift_knot_s, drift_smoothness: the vertical drift removed from the root is a piecewise-linear curve with a
        knot every `drift_knot_s` seconds and this penalty on its bends (`fit_floor`).
    rest_min_s: the shortest time a slow foot counts as resting for the floor and the drift (a jump's apex is
        slow for 0.16 s).
    floor_tilt_weight: ridge weight keeping the floor perpendicular to `gravity_prior` when the feet cover little
        of it. level_within_deg: a body leaning less than this from the camera's vertical stands on a level floor.
    """

    contact_height_m: tuple[float, float] = (0.03, 0.08)
    contact_speed_mps: tuple[float, float] = (0.25, 0.8)
    depth_speed_weight: float = 0.3
    on: float = 0.6
    off: float = 0.35
    min_contact_frames: int = 4
    blend_frames: int = 4
    drift_knot_s: float = 0.25
    drift_smoothness: float = 0.01
    rest_min_s: float = 0.25
    floor_tilt_weight: float = 0.1
    level_within_deg: float = 3.0


@dataclass(frozen=True)
class Floor:
    """The plane {p : normal · p = offset_m}, camera frame; normal: (3,) unit, pointing up (away from the ground)."""

    normal: np.ndarray
    offset_m: float

    def height(self, points: np.ndarray) -> np.ndarray:
        """(...,) metres above the floor of points (..., 3)."""
        return np.asarray(points) @ self.normal - self.offset_m


@dataclass(frozen=True)
class FootContacts:
    """probability: (T, 2) float in [0, 1] per frame, feet in `SIDES` order. contact: (T, 2) bool decisions."""

    probability: np.ndarray
    contact: np.ndarray


@dataclass(frozen=True)
class FeetResult:
    """clip: the cleaned clip (leveled frame; `foot_contact` set). contacts: the detected contacts.
    floor: the floor in the cleaned clip's frame. leveling: (3, 3) rotation from the input clip's camera
    frame to the cleaned clip's frame."""

    clip: MotionClip
    contacts: FootContacts
    floor: Floor
    leveling: np.ndarray


def check_feet_mode(mode: str) -> str:
    if mode not in FEET_MODES:
        raise ConfigError(f"feet = {mode!r} is not a feet mode.", f"Use one of {', '.join(FEET_MODES)}.")
    return mode


# ---------------------------------------------------------------- geometry


def sole_offsets(rest_joints: np.ndarray = REST_JOINTS) -> np.ndarray:
    """(2, 2, 3) heel and toe of each foot relative to its ankle in the rest pose (model frame, metres)."""
    rest = np.asarray(rest_joints, dtype=np.float64)
    heel = rest[ANKLES].copy()
    heel[:, 1] = rest[TOES, 1]  # under the ankle, at the toe's height: the flat sole
    return np.stack([heel, rest[TOES]], axis=1) - rest[ANKLES][:, None, :]


def sole_points(rotations: np.ndarray, joints: np.ndarray, rest_joints: np.ndarray = REST_JOINTS) -> np.ndarray:
    """(T, 2, 2, 3) heel and toe of each foot from forward kinematics' global rotations (T, 55, 3, 3) and
    joints (T, 55, 3)."""
    offsets = sole_offsets(rest_joints)
    return joints[:, ANKLES, None, :] + np.einsum("tfab,fpb->tfpa", rotations[:, ANKLES], offsets)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class LegSolution:
    """Two-bone IK result, per frame: knee, ankle: (T, 3) new positions; hip_delta, knee_delta: (T, 3, 3) world
    rotations to apply to the thigh's and the shank's global rotations."""

    knee: np.ndarray
    ankle: np.ndarray
    hip_delta: np.ndarray
    knee_delta: np.ndarray


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray,
                hinge: np.ndarray) -> LegSolution:
    """Put the ankle on `target` keeping the hip, both bone lengths and the knee's bend side.

    hip, knee, ankle, target: (T, 3). hinge: (T, 3) the knee's flexion axis, used for the bend plane where the
    leg is straight (its sign where the leg is bent is taken from the leg itself). The knee stays in the plane
    through hip and target that holds the current bend direction; a target out of reach gets the straight
    leg pointing at it (never a flipped knee).
    """
    thigh, shank = knee - hip, ankle - knee
    upper = np.linalg.norm(thigh, axis=-1)
    lower = np.linalg.norm(shank, axis=-1)
    bend = cross(thigh, ankle - hip)
    bend_size = np.linalg.norm(bend, axis=-1)
    # A bent leg gives its own plane; a straight (or hyper-extended) one uses the knee's hinge axis.
    use_hinge = (bend_size < 1e-3 * upper * lower) | ((bend * hinge).sum(axis=-1) < 0)
    normal = np.where(use_hinge[:, None], hinge, bend)
    reach = target - hip
    distance = np.linalg.norm(reach, axis=-1)
    direction = _unit(reach)
    normal = _unit(normal - (normal * direction).sum(axis=-1, keepdims=True) * direction)
    side = cross(direction, normal)  # in the bend plane, perpendicular to the reach, towards the knee
    d = np.clip(distance, np.abs(upper - lower) + 1e-9, upper + lower)
    cos = np.clip((upper**2 + d**2 - lower**2) / (2 * upper * d), -1.0, 1.0)
    sin = np.sqrt(1.0 - cos**2)
    new_knee = hip + upper[:, None] * (cos[:, None] * direction + sin[:, None] * side)
    new_ankle = hip + d[:, None] * direction
    old_normal = np.where(use_hinge[:, None], hinge, bend)
    before_thigh, before_shank = orthonormal_frame(thigh, old_normal), orthonormal_frame(shank, old_normal)
    hip_delta = orthonormal_frame(new_knee - hip, normal) @ np.swapaxes(before_thigh, -1, -2)
    knee_delta = orthonormal_frame(new_ankle - new_knee, normal) @ np.swapaxes(before_shank, -1, -2)
    return LegSolution(new_knee, new_ankle, hip_delta, knee_delta)


def _local_from_global(global_rotations: np.ndarray) -> np.ndarray:
    """(T, J, 3, 3) local rotations of global ones (the inverse of forward kinematics' rotation part)."""
    local = global_rotations.copy()  # the root (joint 0) has no parent: its global rotation is its local one
    parents = PARENTS[1: global_rotations.shape[1]]
    local[:, 1:] = np.swapaxes(global_rotations[:, parents], -1, -2) @ global_rotations[:, 1:]  # all at once
    return local


def pin_feet(rotations: np.ndarray, joints: np.ndarray, ankle_targets: np.ndarray, ankle_rotations: np.ndarray,
             weight: np.ndarray) -> np.ndarray:
    """Global rotations (T, 55, 3, 3) after solving each leg where its weight (T, 2) is above zero.

    joints: (T, 55, 3) positions from the same forward kinematics. ankle_targets: (T, 2, 3) ankle positions;
    ankle_rotations: (T, 2, 3, 3) ankle global rotations; both already blended by the weight.
    """
    out = rotations.copy()
    for f in range(2):
        frames = np.flatnonzero(weight[:, f] > 0)
        if not len(frames):
            continue
        hip, knee, ankle = HIPS[f], KNEES[f], ANKLES[f]
        solution = two_bone_ik(joints[frames, hip], joints[frames, knee], joints[frames, ankle],
                               ankle_targets[frames, f], rotations[frames, knee][:, :, 0])
        out[frames, hip] = solution.hip_delta @ rotations[frames, hip]
        out[frames, knee] = solution.knee_delta @ rotations[frames, knee]
        # The ankle's children (the toes) keep their rotation relative to the ankle.
        toe_local = np.swapaxes(rotations[frames, ankle], -1, -2) @ rotations[frames, TOES[f]]
        out[frames, ankle] = ankle_rotations[frames, f]
        out[frames, TOES[f]] = ankle_rotations[frames, f] @ toe_local
    return out


def flat_ankles(ankle_rotations: np.ndarray, up: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(T, 2, 3, 3) ankle global rotations turned (by `weight` (T, 2) of the way) so the sole lies on a floor
    whose up is `up` (3,), the foot's heading kept."""
    sole_up = ankle_rotations @ _MODEL_UP
    align = matrix_to_axis_angle(rotation_between(sole_up, np.broadcast_to(up, sole_up.shape)))
    return axis_angle_to_matrix(align * weight[..., None]) @ ankle_rotations


def lock_feet(rotations: np.ndarray, joints: np.ndarray, transl: np.ndarray, rest: np.ndarray, targets: np.ndarray,
              weight: np.ndarray, floor: Floor) -> np.ndarray:
    """Local rotations (T, 55, 3, 3) with each foot's centre moved `weight` (T, 2) of the way to `targets` (T, 2, 3)
    and its sole turned as far towards flat on `floor`, then any foot below the floor lifted onto it.

    rotations, joints: forward kinematics (global rotations, positions) of the pose with root translation
    `transl` (T, 3) on the rest skeleton `rest` (55, 3).
    """
    ankle_rotations, ankle_targets = _ankle_targets(rotations, joints, rest, targets, weight, floor)
    local = _local_from_global(pin_feet(rotations, joints, ankle_targets, ankle_rotations, weight))
    rotations, joints = forward_kinematics(rest, local, transl)
    depth = np.maximum(0.0, -floor.height(sole_points(rotations, joints, rest)).min(axis=2))  # (T, 2)
    if (depth > 1e-6).any():
        lift = (depth > 1e-6).astype(float)
        lifted = joints[:, ANKLES] + depth[..., None] * floor.normal
        local = _local_from_global(pin_feet(rotations, joints, lifted, rotations[:, ANKLES], lift))
    return local


def _ankle_targets(rotations: np.ndarray, joints: np.ndarray, rest: np.ndarray, targets: np.ndarray,
                   weight: np.ndarray, floor: Floor) -> tuple[np.ndarray, np.ndarray]:
    """Ankle global rotations (T, 2, 3, 3) turned `weight` (T, 2) of the way to flat on `floor`, and the ankle
    positions (T, 2, 3) that move each foot's centre as far towards `targets` (T, 2, 3)."""
    centres = sole_points(rotations, joints, rest).mean(axis=2)
    ankle_rotations = flat_ankles(rotations[:, ANKLES], floor.normal, weight)
    centre_offset = sole_offsets(rest).mean(axis=1)  # (2, 3) ankle → foot centre, model frame
    blended = centres + weight[..., None] * (targets - centres)
    return ankle_rotations, blended - np.einsum("tfab,fb->tfa", ankle_rotations, centre_offset)


def root_drop(joints: np.ndarray, ankle_targets: np.ndarray, weight: np.ndarray, rest: np.ndarray,
              up: np.ndarray) -> np.ndarray:
    """(T,) how far to lower the root (against `up`) so each leg pinned with `weight` (T, 2) reaches its ankle
    target (T, 2, 3) from its hip in `joints` (T, 55, 3), weighted; 0 where the leg reaches, or could not even
    with the hip at the target's height."""
    leg = (np.linalg.norm(rest[KNEES] - rest[HIPS], axis=-1) + np.linalg.norm(rest[ANKLES] - rest[KNEES], axis=-1))
    leg = leg * (1.0 - 1e-3)  # the knee stays a little bent: it keeps its plane
    reach = ankle_targets - joints[:, HIPS]
    along = reach @ up  # below the hip: negative
    excess = (reach**2).sum(axis=-1) - leg**2
    room = along**2 - excess
    drop = np.where((excess > 0) & (room >= 0), -along - np.sqrt(np.maximum(room, 0.0)), 0.0)
    return (weight * np.maximum(drop, 0.0)).max(axis=1)


# ---------------------------------------------------------------- floor and contacts


def fit_floor(points: np.ndarray, frames: np.ndarray | None = None, num_frames: int = 1,
              up: np.ndarray = _CAMERA_UP, tilt_weight: float = 0.005, knot_frames: float = 8.0,
              drift_smoothness: float = 0.01, iterations: int = 4, band_m: float = 0.03) -> tuple[Floor, np.ndarray]:
    """The floor under sole points (N, 3) of slow feet seen at `frames` (N,) of a take of `num_frames`, and the
    take's vertical drift: (T,) metres the feet sit above the floor at each frame, zero on average.

    Least squares: each point's height along `up` is a plane (linear in the two other axes) plus the drift, a
    piecewise-linear curve with a knot every `knot_frames` and a penalty `drift_smoothness` on its bends. The
    drift takes up whatever changes with time, so only feet resting apart at nearly the same time tilt the
    plane: a take walking while its estimate sinks is not a sloping floor. A ridge `tilt_weight` (per square
    metre of spread) keeps the plane perpendicular to `up` when the feet cover little of it; each pass keeps the
    points within `band_m` above the plane (lifted heels, slow feet in the air). Without `frames` the points are
    one instant: a plane alone.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(points) < 3:
        raise ValueError("a floor needs at least 3 points")
    up = _unit(np.asarray(up, dtype=np.float64))
    e1 = _unit(np.cross(up, [0.0, 0.0, 1.0]) if abs(up[2]) < 0.9 else np.cross(up, [1.0, 0.0, 0.0]))
    e2 = np.cross(up, e1)
    across = np.stack([points @ e1, points @ e2], axis=1)
    centre = across.mean(axis=0)
    drift_basis = _hat_basis(np.zeros(len(points)) if frames is None else np.asarray(frames, dtype=np.float64),
                             num_frames, knot_frames)
    design = np.concatenate([across - centre, drift_basis], axis=1)
    heights = points @ up
    knots = drift_basis.shape[1]
    bends = np.diff(np.eye(knots), 2, axis=0)
    keep = np.ones(len(points), bool)
    coefficients = np.zeros(2 + knots)
    for iteration in range(iterations):
        a, h = design[keep], heights[keep]
        penalty = np.zeros((2 + knots, 2 + knots))
        penalty[0, 0] = penalty[1, 1] = tilt_weight * len(h)
        penalty[2:, 2:] = drift_smoothness * len(h) * bends.T @ bends + 1e-9 * np.eye(knots)  # knots without points
        coefficients = np.linalg.solve(a.T @ a + penalty, a.T @ h)
        residual = heights - design @ coefficients
        # The floor is the lowest surface: the first plane lies between the floor and raised feet at rest, the
        # points above it go; later, points well below the floor are noise.
        keep = (residual < band_m) & ((residual > -band_m) | (iteration == 0))
        if keep.sum() < 3:
            break
    (a, b), weights = coefficients[:2], coefficients[2:]
    drift = _hat_basis(np.arange(num_frames, dtype=np.float64), num_frames, knot_frames) @ weights
    level = float(drift.mean()) - a * centre[0] - b * centre[1]
    normal_raw = up - a * e1 - b * e2
    scale = np.linalg.norm(normal_raw)
    return Floor(normal_raw / scale, float(level / scale)), (drift - drift.mean()) / scale


def gravity_prior(rotations: np.ndarray, level_within_deg: float) -> np.ndarray:
    """(3,) the up the floor is pulled towards: the camera's, or, where the body's up (its pelvis's, averaged
    over the take; global rotations (T, 55, 3, 3)) leans from it by more than `level_within_deg`, turned towards
    the body's by the excess. A person leans and is estimated leaning by a few degrees; a camera pitched by less
    is not told from that, one pitched by more is followed."""
    body = _unit((rotations[:, 0] @ _MODEL_UP).mean(axis=0))
    angle = np.arccos(np.clip(body @ _CAMERA_UP, -1.0, 1.0))
    excess = max(0.0, angle - np.radians(level_within_deg))
    if excess <= 0.0:
        return _CAMERA_UP.copy()
    return axis_angle_to_matrix(_unit(np.cross(_CAMERA_UP, body)) * excess) @ _CAMERA_UP


def _hat_basis(frames: np.ndarray, num_frames: int, knot_frames: float) -> np.ndarray:
    """(N, K) piecewise-linear interpolation weights of `frames` (N,) between K knots spread evenly over
    [0, num_frames - 1], about `knot_frames` apart (one constant for a single frame)."""
    count = max(1, int(np.ceil((num_frames - 1) / knot_frames)) + 1)
    if count == 1:
        return np.ones((len(frames), 1))
    spacing = (num_frames - 1) / (count - 1)
    return np.clip(1.0 - np.abs(frames[:, None] / spacing - np.arange(count)), 0.0, None)


def _ramp(value: np.ndarray, certain: float, none: float) -> np.ndarray:
    return np.clip((none - value) / (none - certain), 0.0, 1.0)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True in a (T,) bool mask."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def hysteresis(probability: np.ndarray, on: float, off: float, min_frames: int) -> np.ndarray:
    """(T,) bool: True from where `probability` (T,) rises above `on` until it falls below `off`; runs and then
    gaps shorter than `min_frames` removed."""
    state, out = False, np.zeros(len(probability), bool)
    for t, p in enumerate(probability):
        state = p >= on if not state else p >= off
        out[t] = state
    for start, end in _runs(out):
        if end - start < min_frames:
            out[start:end] = False
    for start, end in _runs(~out):  # a foot that rests, lifts for a moment and rests again stayed
        if end - start < min_frames and start > 0 and end < len(out):
            out[start:end] = True
    return out


def contact_probability(height_m: np.ndarray, speed_mps: np.ndarray, config: FeetConfig) -> np.ndarray:
    """Contact probability (...) from the lowest sole point's height above the floor and the foot's speed."""
    return _ramp(height_m, *config.contact_height_m) * _ramp(speed_mps, *config.contact_speed_mps)


def detect_contacts(heights_m: np.ndarray, speeds_mps: np.ndarray, config: FeetConfig) -> FootContacts:
    """Contacts of both feet from heights (T, 2) above the floor and speeds (T, 2)."""
    probability = contact_probability(heights_m, speeds_mps, config)
    contact = np.stack([hysteresis(probability[:, f], config.on, config.off, config.min_contact_frames)
                        for f in range(2)], axis=1)
    return FootContacts(probability.astype(np.float32), contact)


def _interp_fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(T, D) values where `known` (T,) is set, linearly interpolated (held at the ends) elsewhere."""
    frames = np.flatnonzero(known)
    t = np.arange(len(values))
    return np.stack([np.interp(t, frames, values[frames, d]) for d in range(values.shape[1])], axis=1)


# ---------------------------------------------------------------- the offline clean-up


def _pose_clip(clip: MotionClip, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return forward_kinematics(rest, axis_angle_to_matrix(clip.full_pose()), clip.transl.astype(np.float64))


def foot_speed(step: np.ndarray, centres: np.ndarray, depth_weight: float) -> np.ndarray:
    """(...,) the speed of foot centres (..., 3) moving by `step` (..., 3) per unit time, with the part along the
    camera's line of sight (the camera at the origin) counted `depth_weight` times: a monocular estimate's depth is
    its noisiest direction, and a planted foot jitters along it."""
    sight = _unit(centres)
    along = (step * sight).sum(axis=-1)
    across = step - along[..., None] * sight
    return np.sqrt((across**2).sum(axis=-1) + (depth_weight * along) ** 2)


def _feet_state(rotations: np.ndarray, joints: np.ndarray, rest: np.ndarray, fps: float,
                floor: Floor, config: FeetConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sole points (T, 2, 2, 3), lowest sole height above `floor` (T, 2) and foot centre speed (T, 2) m/s."""
    soles = sole_points(rotations, joints, rest)
    heights = floor.height(soles).min(axis=2)
    centres = soles.mean(axis=2)
    if len(centres) < 2:
        return soles, heights, np.zeros((len(centres), 2))
    return soles, heights, foot_speed(np.gradient(centres, axis=0) * fps, centres, config.depth_speed_weight)


def _slow_feet(speeds: np.ndarray, config: FeetConfig, fps: float) -> np.ndarray:
    """(T, 2) bool: feet slow enough for contact for at least `rest_min_s` (a jump's apex is slow for less)."""
    slow = speeds < config.contact_speed_mps[1]
    for f in range(2):
        for start, end in _runs(slow[:, f]):
            if end - start < config.rest_min_s * fps:
                slow[start:end, f] = False
    return slow


def _rebuild(clip: MotionClip, local: np.ndarray, transl: np.ndarray, **changes: object) -> MotionClip:
    fields = split_full_pose(matrix_to_axis_angle(local).astype(np.float32))
    return dataclasses.replace(clip, **fields, transl=transl.astype(np.float32), **changes)


def _level(clip: MotionClip, rest: np.ndarray, rotation: np.ndarray) -> MotionClip:
    """`clip` seen from a camera turned by `rotation` (3, 3) about its centre."""
    pose = axis_angle_to_matrix(clip.full_pose())
    pose[:, 0] = rotation @ pose[:, 0]
    pelvis = clip.transl.astype(np.float64) + rest[0]
    return _rebuild(clip, pose, pelvis @ rotation.T - rest[0])


def clean_feet(clip: MotionClip, rest_joints: np.ndarray | None = None, config: FeetConfig | None = None) -> FeetResult:
    """The offline foot clean-up of a (smoothed) clip posed on `rest_joints` (default the reference skeleton)."""
    config = config or FeetConfig()
    rest = REST_JOINTS if rest_joints is None else np.asarray(rest_joints, dtype=np.float64)
    fps = clip.fps
    held_from = _held_from(clip)
    if clip.num_frames < 2 * config.min_contact_frames:  # too short to tell a rest from a pause
        rotations, joints = _pose_clip(clip, rest)
        floor = Floor(_CAMERA_UP.copy(), float(-sole_points(rotations, joints, rest)[..., 1].max()))
        none = np.zeros((clip.num_frames, 2), bool)
        return _finish(clip, FootContacts(none.astype(np.float32), none), floor, np.eye(3), held_from)
    # 1. The floor and the vertical drift from the slow feet, then a frame where the floor is level at y = its
    # height and the feet do not sink or float. Sole centres: a noisy foot pitch lowers the lowest sole point of
    # every frame (a floor fitted to them lies too deep), not their mean, which the lock puts on the floor.
    rotations, joints = _pose_clip(clip, rest)
    soles, _, speeds = _feet_state(rotations, joints, rest, fps, Floor(_CAMERA_UP.copy(), 0.0), config)
    slow = _slow_feet(speeds, config, fps)
    if slow.sum() < 2:
        slow[:] = True  # nothing ever rests: the lowest points are the best floor there is
    frames = np.broadcast_to(np.arange(clip.num_frames)[:, None], slow.shape)
    floor, drift = fit_floor(soles.mean(axis=2)[slow], frames[slow], clip.num_frames,
                             up=gravity_prior(rotations, config.level_within_deg),
                             tilt_weight=config.floor_tilt_weight, knot_frames=config.drift_knot_s * fps,
                             drift_smoothness=config.drift_smoothness)
    leveling = rotation_between(floor.normal, _CAMERA_UP)
    clip = _level(clip, rest, leveling)
    floor = Floor(_CAMERA_UP.copy(), floor.offset_m)
    transl = clip.transl.astype(np.float64) - drift[:, None] * floor.normal
    clip = dataclasses.replace(clip, transl=transl.astype(np.float32))

    # 3. Contacts on the drift-free motion.
    rotations, joints = _pose_clip(clip, rest)
    soles, heights, speeds = _feet_state(rotations, joints, rest, fps, floor, config)
    contacts = detect_contacts(heights, speeds, config)
    if not contacts.contact.any():
        return _finish(clip, contacts, floor, leveling, held_from)

    # 4. The root follows the planted feet horizontally: each contact's feet stay where they were on average.
    centres = soles.mean(axis=2)
    flat = np.eye(3) - np.outer(floor.normal, floor.normal)
    shift = np.zeros((clip.num_frames, 3))
    count = np.zeros(clip.num_frames)
    for f in range(2):
        for start, end in _runs(contacts.contact[:, f]):
            anchor = np.median(centres[start:end, f], axis=0)
            shift[start:end] += (anchor - centres[start:end, f]) @ flat
            count[start:end] += 1
    planted = count > 0
    shift[planted] /= count[planted, None]
    shift = _interp_fill(shift, planted)
    transl = clip.transl.astype(np.float64) + shift
    clip = dataclasses.replace(clip, transl=transl.astype(np.float32))

    # 5. Each planted foot pinned flat on the floor at its contact position, blended in and out; none below it.
    # Where a planted leg is too short for that (the estimate's hips too high in that frame) the root comes down.
    rotations, joints = _pose_clip(clip, rest)
    weight, targets = _lock_targets(sole_points(rotations, joints, rest).mean(axis=2), contacts.contact, floor,
                                    config.blend_frames)
    ankle_targets = _ankle_targets(rotations, joints, rest, targets, weight, floor)[1]
    drop = root_drop(joints, ankle_targets, weight, rest, floor.normal)
    clip = dataclasses.replace(clip, transl=(clip.transl - drop[:, None] * floor.normal).astype(np.float32))
    rotations, joints = _pose_clip(clip, rest)
    local = lock_feet(rotations, joints, clip.transl.astype(np.float64), rest, targets, weight, floor)
    clip = _rebuild(clip, local, clip.transl.astype(np.float64))
    return _finish(clip, contacts, floor, leveling, held_from)


def _finish(clip: MotionClip, contacts: FootContacts, floor: Floor, leveling: np.ndarray,
            held_from: np.ndarray) -> FeetResult:
    """The result: `clip` with its contacts and the floor and levelling in its source; frames held in the input
    (a gap nobody was seen in) stay held, the clean-up adds no motion nobody saw."""
    pose, transl, contact = clip.full_pose()[held_from], clip.transl[held_from], contacts.contact[held_from]
    cleaned = dataclasses.replace(
        clip, **split_full_pose(pose), transl=transl, foot_contact=contact.astype(np.float32),
        source={**(clip.source or {}), "feet": {"mode": "lock", "floor_height_m": float(-floor.offset_m),
                                                "leveling": np.round(leveling, 6).tolist()}})
    return FeetResult(cleaned, contacts, floor, leveling)


def _held_from(clip: MotionClip) -> np.ndarray:
    """(T,) for each frame the first frame of the run of identical poses and translations it belongs to."""
    pose, transl = clip.full_pose(), clip.transl
    same = np.concatenate([[False], (pose[1:] == pose[:-1]).all(axis=(1, 2)) & (transl[1:] == transl[:-1]).all(axis=1)])
    return np.maximum.accumulate(np.where(same, 0, np.arange(clip.num_frames)))


def _lock_targets(centres: np.ndarray, contact: np.ndarray, floor: Floor, blend_frames: int,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Lock weight (T, 2) and foot centre targets (T, 2, 3): the median centre of each contact, on the floor,
    weight 1 during the contact and ramping linearly to 0 over `blend_frames` before and after it."""
    num = len(centres)
    weight = np.zeros((num, 2))
    targets = centres.copy()
    frames = np.arange(num)
    for f in range(2):
        for start, end in _runs(contact[:, f]):
            anchor = np.median(centres[start:end, f], axis=0)
            anchor -= floor.height(anchor) * floor.normal
            distance = np.maximum(np.maximum(start - frames, frames - (end - 1)), 0)
            ramp = np.clip(1.0 - distance / (blend_frames + 1), 0.0, 1.0)
            better = ramp > weight[:, f]
            weight[better, f] = ramp[better]
            targets[better, f] = anchor
    return weight, targets


# ---------------------------------------------------------------- the causal (live) version


@dataclass
class _FootState:
    contact: bool = False
    anchor: np.ndarray | None = None  # (3,) where the planted foot's centre is held
    release: int = 0  # frames since the contact ended (blending out while < blend_frames)


class FootLocker:
    """Causal foot locking of one person: each frame's record in, the same frame's record out (no lag).

    The floor is level in the camera frame (no look-ahead to fit a tilt) at the height of the lowest slow foot
    near it, followed within a few frames, so contacts are told while the estimate drifts up or down (a jump's
    feet are slow at its top, but far above the floor). Speeds are differences over the last two frames. A foot
    is pinned where its contact begins (flat, on the floor) and blends out over `blend_frames` after it ends;
    the root is left where it was seen, so the body stays on the person in the image.
    """

    def __init__(self, rest_joints: np.ndarray = REST_JOINTS, fps: float = 30.0, config: FeetConfig | None = None,
                 floor_rate: float = FLOOR_RATE) -> None:
        self.rest = np.asarray(rest_joints, dtype=np.float64)
        self.fps, self.config, self.floor_rate = fps, config or FeetConfig(), floor_rate
        self.reset()

    def reset(self) -> None:
        self._floor_y: float | None = None  # camera y (down) of the floor the feet are held on
        self._ground_y = 0.0  # camera y of the ground as the estimate sees it now (contacts are told on it)
        self._centres: list[np.ndarray] = []  # the last frames' foot centres (2, 3), oldest first
        self._feet = [_FootState(), _FootState()]
        self.contact = np.zeros(2, bool)  # the last frame's decisions, feet in `SIDES` order

    @property
    def floor(self) -> Floor:
        """The floor the last frame's feet were held on (camera frame)."""
        return Floor(_CAMERA_UP.copy(), -(self._floor_y or 0.0))

    def __call__(self, params: SmplxParams) -> SmplxParams:
        pose = axis_angle_to_matrix(params.full_pose()[None])
        transl = params.transl.astype(np.float64)[None]
        rotations, joints = forward_kinematics(self.rest, pose, transl)
        soles = sole_points(rotations, joints, self.rest)[0]  # (2, 2, 3)
        centres, lowest = soles.mean(axis=1), soles[..., 1].max(axis=1)  # camera y down: lowest = largest y
        self._centres = [*self._centres[-2:], centres]
        span = len(self._centres) - 1
        speeds = foot_speed((centres - self._centres[0]) * self.fps / max(span, 1), centres,
                            self.config.depth_speed_weight)
        if self._floor_y is None:
            self._floor_y = self._ground_y = float(lowest.max())
        near = (speeds < self.config.contact_speed_mps[1]) & (
            np.abs(lowest - self._ground_y) < self.config.contact_height_m[1])
        if near.any():  # the lowest slow foot near the ground: the ground follows it, the floor its average
            self._ground_y += self.floor_rate * (float(lowest[near].max()) - self._ground_y)
            self._floor_y += SLOW_FLOOR_RATE * (float(lowest[near].max()) - self._floor_y)
        floor = Floor(_CAMERA_UP.copy(), -self._floor_y)
        heights = self._ground_y - lowest
        probability = contact_probability(heights, speeds, self.config)
        weight, targets = np.zeros((1, 2)), centres[None].copy()
        for f, foot in enumerate(self._feet):
            was = foot.contact
            foot.contact = probability[f] >= (self.config.off if was else self.config.on)
            if foot.contact:
                if not was:  # its first contact frame: where it stays
                    foot.anchor = centres[f]
                foot.release = 0
            elif was:
                foot.release = 1
            elif foot.release:
                foot.release += 1
            if foot.anchor is not None and (foot.contact or foot.release <= self.config.blend_frames):
                weight[0, f] = 1.0 if foot.contact else 1.0 - foot.release / (self.config.blend_frames + 1)
                targets[0, f] = foot.anchor - floor.height(foot.anchor) * floor.normal  # on the floor as it is now
        self.contact = np.array([foot.contact for foot in self._feet])
        if not weight.any() and floor.height(soles).min() >= 0:
            return params
        local = lock_feet(rotations, joints, transl, self.rest, targets, weight, floor)
        fields = split_full_pose(matrix_to_axis_angle(local[0]).astype(np.float32))
        return dataclasses.replace(params, **fields)


class LockedFeet:
    """A causal smoother's output (or the records as they are, `smoother` None) with every person's feet locked by
    their own `FootLocker`: called like the smoother, `(people, frame_index) -> people`."""

    def __init__(self, smoother: Callable[[list[SmplxParams], int | None], list[SmplxParams]] | None,
                 rest_joints: np.ndarray = REST_JOINTS, fps: float = 30.0, config: FeetConfig | None = None) -> None:
        self.smoother, self.rest, self.fps, self.feet_config = smoother, rest_joints, fps, config
        self._lockers: dict[int, FootLocker] = {}

    @property
    def config(self) -> object:
        """The wrapped smoother's settings (the live window shows them)."""
        return getattr(self.smoother, "config", None)

    @property
    def track_ids(self) -> list[int]:
        """The people whose feet are followed now."""
        return sorted(self._lockers)

    def reset(self) -> None:
        self._lockers.clear()
        if hasattr(self.smoother, "reset"):
            self.smoother.reset()

    def __call__(self, people: list[SmplxParams], frame_index: int | None = None) -> list[SmplxParams]:
        smoothed = self.smoother(people, frame_index) if self.smoother is not None else list(people)
        seen = {p.track_id for p in smoothed}
        for track_id in [t for t in self._lockers if t not in seen]:
            del self._lockers[track_id]  # a person gone: a new one starts afresh
        out = []
        for person in smoothed:
            locker = self._lockers.setdefault(person.track_id, FootLocker(self.rest, self.fps, self.feet_config))
            out.append(locker(person))
        return out
