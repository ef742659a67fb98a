"""The foot clean-up against synthetic motion with known contacts (`python main.py eval feet`).

Ground truth: `body.motions.GROUNDED_MOTIONS` (walk, a turn on one foot, squat, jump) with their true
contacts, placed 3.5 m in front of a level camera whose optical axis is 1 m above the floor, seen from
several yaws. The estimate: the truth with what a smoothed per-frame estimate keeps (`FeetNoise`): slow
joint-rotation errors, root jitter, a root that wanders horizontally (feet slide) and drifts vertically
(feet sink into or float over the floor). Each estimate is measured as it is and after `clean_feet`, in the
camera's frame (the cleaned clip turned back from its levelled frame).

Measures, per motion and over all: foot skate (mean horizontal speed of a foot's centre over the frames it
is in contact in the truth and the frame before, mm/frame), penetration (depth of the lowest sole point
below the true floor, mm: mean over frames, max; with a clean-up also the max below the floor it held the
feet on: the fitted one, the exported file's y = 0, or live the running one), floor error (mean distance of
the true floor under each true contact's foot from the fitted floor, mm), contact precision/recall/F1
(frames x feet), body MPJPE (joints 0-21, mm), for the jump the frames in the air with a foot in contact,
and for the turn the planted foot's drift and heading change kept.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from mocap_app.body.feet import ANKLES, FeetConfig, Floor, FootLocker, clean_feet, sole_points
from mocap_app.body.motions import GROUNDED_MOTIONS, place_grounded
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import MotionClip, split_full_pose
from mocap_app.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mocap_app.core.skeleton import forward_kinematics

CAMERA = CameraIntrinsics.from_fov(640, 480)
FLOOR_BELOW_CAMERA_M = 1.0
TRUE_FLOOR = Floor(np.array([0.0, -1.0, 0.0]), -FLOOR_BELOW_CAMERA_M)
YAWS_DEG = (0.0, 45.0, 90.0)
BODY_JOINTS = np.arange(22)


@dataclass(frozen=True)
class FeetNoise:
    """How the estimate differs from the truth (all errors smoothed over `smooth_s`, as offline smoothing leaves them).

    rotation_deg: per-axis standard deviation of every joint's rotation error. root_jitter_m: (x, y, z)
    standard deviation of `transl`. slide_mps: standard deviation of the root's horizontal wandering speed.
    drift_m: amplitude of the root's slow vertical drift (period `drift_period_s`).
    """

    rotation_deg: float = 1.5
    root_jitter_m: tuple[float, float, float] = (0.005, 0.005, 0.015)
    slide_mps: float = 0.04
    drift_m: float = 0.05
    drift_period_s: float = 3.0
    smooth_s: float = 0.2


def _smoothed(noise: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian-smoothed (T, ...) noise rescaled to keep its standard deviation."""
    radius = max(1, int(3 * sigma_frames))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
    kernel /= np.sqrt((kernel**2).sum())
    flat = noise.reshape(len(noise), -1)
    padded = np.pad(flat, ((radius, radius), (0, 0)), mode="reflect")
    out = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(flat.shape[1])], axis=1)
    return out.reshape(noise.shape)


def corrupt(truth: MotionClip, noise: FeetNoise, seed: int) -> MotionClip:
    """The estimate of `truth`: the errors of `FeetNoise`, deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    num, sigma = truth.num_frames, noise.smooth_s * truth.fps
    error = _smoothed(rng.normal(0.0, np.radians(noise.rotation_deg), (num, 55, 3)), sigma)
    pose = matrix_to_axis_angle(axis_angle_to_matrix(truth.full_pose()) @ axis_angle_to_matrix(error))
    jitter = _smoothed(rng.normal(0.0, 1.0, (num, 3)), sigma) * np.asarray(noise.root_jitter_m)
    velocity = _smoothed(rng.normal(0.0, noise.slide_mps, (num, 3)), 3 * sigma) * [1.0, 0.0, 1.0]
    slide = np.cumsum(velocity, axis=0) / truth.fps
    t = np.arange(num) / truth.fps
    drift = noise.drift_m * np.sin(2 * np.pi * t / noise.drift_period_s + rng.uniform(0, 2 * np.pi))
    transl = truth.transl + jitter + slide + drift[:, None] * [0.0, 1.0, 0.0]
    return dataclasses.replace(truth, **split_full_pose(pose.astype(np.float32)), transl=transl.astype(np.float32),
                               foot_contact=None)


@dataclass(frozen=True)
class FeetFigures:
    """One motion's (or the whole set's) measures; None where a measure does not apply."""

    skate_mm_per_frame: float
    penetration_mean_mm: float
    penetration_max_mm: float
    mpjpe_mm: float
    floor_error_mm: float | None = None
    penetration_own_floor_max_mm: float | None = None
    contact_precision: float | None = None
    contact_recall: float | None = None
    contact_f1: float | None = None


@dataclass(frozen=True)
class FeetReport:
    """Per motion (and "all") figures without the clean-up, with it (offline) and with the causal `FootLocker`
    (online; no floor fit, so no floor error), and the two special checks (offline).

    jump_air_contact_frames: frames of the jumps' flights where the clean-up planted a foot.
    jump_height_kept: the cleaned jumps' highest lift of the lowest foot over the truth's.
    turn_foot_drift_mm: the turns' planted foot centre, largest horizontal distance from its median position.
    turn_heading_kept: the turns' planted foot heading change after clean-up over the truth's.
    """

    raw: dict[str, FeetFigures]
    cleaned: dict[str, FeetFigures]
    online: dict[str, FeetFigures]
    jump_air_contact_frames: int
    jump_height_kept: float
    turn_foot_drift_mm: float
    turn_heading_kept: float
    clips: int
    frames: int
    seconds: float


@dataclass
class _Measures:
    """Sums over clips, merged into `FeetFigures`."""

    skate: list[np.ndarray] = dataclasses.field(default_factory=list)
    depth: list[np.ndarray] = dataclasses.field(default_factory=list)
    error: list[np.ndarray] = dataclasses.field(default_factory=list)
    floor: list[np.ndarray] = dataclasses.field(default_factory=list)
    own_depth: list[np.ndarray] = dataclasses.field(default_factory=list)
    counts: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))  # true pos, detected, truth

    def figures(self) -> FeetFigures:
        depth = np.concatenate(self.depth)
        tp, detected, actual = self.counts
        precision, recall = tp / max(detected, 1), tp / max(actual, 1)
        extra = {} if not actual else {
            "contact_precision": float(precision),
            "contact_recall": float(recall),
            "contact_f1": float(2 * precision * recall / max(precision + recall, 1e-9))}
        if self.floor:
            extra["floor_error_mm"] = float(np.mean(np.concatenate(self.floor)))
        if self.own_depth:
            extra["penetration_own_floor_max_mm"] = float(np.concatenate(self.own_depth).max())
        return FeetFigures(float(np.mean(np.concatenate(self.skate))), float(depth.mean()), float(depth.max()),
                           float(np.mean(np.concatenate(self.error))), **extra)


def _posed(clip: MotionClip, leveling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations and joints of `clip` in the camera frame (undoing a levelling rotation)."""
    rotations, joints = forward_kinematics(REST_JOINTS, axis_angle_to_matrix(clip.full_pose()),
                                           clip.transl.astype(np.float64))
    return leveling.T @ rotations, joints @ leveling


def _measure(into: _Measures, truth: MotionClip, estimate: MotionClip, leveling: np.ndarray,
             floor_heights: np.ndarray | None = None, detected: np.ndarray | None = None,
             fitted: Floor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Add one clip's measures; returns its sole points (T, 2, 2, 3) and ankle rotations (T, 2, 3, 3).

    floor_heights: (T, 2, 2) the sole points' heights above the floor the clip was cleaned on (the fitted one
    offline, the running one live). detected: (T, 2) the contacts it found. fitted: the fitted floor, camera
    frame, for the floor error.
    """
    true_rotations, true_joints = _posed(truth, np.eye(3))
    rotations, joints = _posed(estimate, leveling)
    soles = sole_points(rotations, joints)
    contact = truth.foot_contact > 0.5
    moved = np.linalg.norm(np.diff(soles.mean(axis=2)[..., [0, 2]], axis=0), axis=-1)  # (T-1, 2)
    into.skate.append(1000.0 * moved[contact[1:] & contact[:-1]])
    into.depth.append(1000.0 * np.maximum(0.0, -TRUE_FLOOR.height(soles).min(axis=(1, 2))))
    into.error.append(1000.0 * np.linalg.norm(joints[:, BODY_JOINTS] - true_joints[:, BODY_JOINTS], axis=-1).ravel())
    if fitted is not None:  # the true floor's height where a foot stands, seen from the fitted one
        true_soles = sole_points(true_rotations, true_joints)[contact]  # (N, 2, 3)
        standing = np.take_along_axis(true_soles, TRUE_FLOOR.height(true_soles).argmin(axis=1)[:, None, None], axis=1)
        into.floor.append(1000.0 * np.abs(fitted.height(standing[:, 0])))
    if floor_heights is not None:
        into.own_depth.append(1000.0 * np.maximum(0.0, -floor_heights.min(axis=(1, 2))))
    if detected is not None:
        into.counts += [(detected & contact).sum(), detected.sum(), contact.sum()]
    return soles, rotations[:, ANKLES]


def run_online(estimate: MotionClip, config: FeetConfig | None = None) -> tuple[MotionClip, np.ndarray, np.ndarray]:
    """`estimate` frame by frame through a `FootLocker`: the locked clip, the contacts (T, 2) it decided and the
    heights (T, 2, 2) of its sole points above the floor it held them on."""
    locker = FootLocker(REST_JOINTS, estimate.fps, config)
    frames, contacts, heights = [], [], []
    for i in range(estimate.num_frames):
        frames.append(locker(estimate.frame(i)))
        contacts.append(locker.contact)
        rotations, joints = forward_kinematics(REST_JOINTS, axis_angle_to_matrix(frames[-1].full_pose()[None]),
                                               frames[-1].transl[None].astype(np.float64))
        heights.append(locker.floor.height(sole_points(rotations, joints)[0]))
    locked = MotionClip.from_params(frames, estimate.fps, source=estimate.source)
    return locked, np.array(contacts), np.array(heights)


def _heading(rotations: np.ndarray) -> np.ndarray:
    """(T,) heading of a foot (its model z axis) about the camera's vertical, unwrapped radians."""
    forward = rotations[:, :, 2]
    return np.unwrap(np.arctan2(forward[:, 0], forward[:, 2]))


def evaluate(frames: int = 90, seed: int = 0, noise: FeetNoise | None = None,
             config: FeetConfig | None = None) -> FeetReport:
    """Every grounded motion from every yaw in `YAWS_DEG`, measured raw and cleaned."""
    noise = noise or FeetNoise()
    start = time.perf_counter()
    raw = {name: _Measures() for name in (*GROUNDED_MOTIONS, "all")}
    cleaned = {name: _Measures() for name in (*GROUNDED_MOTIONS, "all")}
    online = {name: _Measures() for name in (*GROUNDED_MOTIONS, "all")}
    air_contacts, jump_kept, turn_drift, turn_kept = 0, [], [], []
    count = 0
    for m, (name, make) in enumerate(GROUNDED_MOTIONS.items()):
        motion = make(frames)
        for y, yaw in enumerate(YAWS_DEG):
            truth = place_grounded(motion, CAMERA, yaw_deg=yaw, floor_offset_m=FLOOR_BELOW_CAMERA_M)
            estimate = corrupt(truth, noise, seed + 100 * m + y)
            result = clean_feet(estimate, REST_JOINTS, config)
            for target in (raw[name], raw["all"]):
                _measure(target, truth, estimate, np.eye(3))
            own = result.floor.height(sole_points(*_posed(result.clip, np.eye(3))))
            fitted = Floor(result.leveling.T @ result.floor.normal, result.floor.offset_m)
            for target in (cleaned[name], cleaned["all"]):
                soles, ankles = _measure(target, truth, result.clip, result.leveling, own, result.contacts.contact,
                                         fitted)
            locked, live, held = run_online(estimate, config)
            for target in (online[name], online["all"]):
                _measure(target, truth, locked, np.eye(3), held, live)
            count += 1
            true_rotations, true_joints = _posed(truth, np.eye(3))
            if name == "jump":
                air = ~motion.contact.any(axis=1)
                air_contacts += int(result.contacts.contact[air].sum())
                true_lift = TRUE_FLOOR.height(sole_points(true_rotations, true_joints)).min(axis=(1, 2)).max()
                jump_kept.append(TRUE_FLOOR.height(soles).min(axis=(1, 2)).max() / true_lift)
            if name == "pivot_turn":
                centre = soles[:, 1].mean(axis=1)
                middle = np.median(centre, axis=0)
                turn_drift.append(1000.0 * np.linalg.norm((centre - middle)[:, [0, 2]], axis=-1).max())
                true_turn = np.ptp(_heading(true_rotations[:, ANKLES[1]]))
                turn_kept.append(np.ptp(_heading(ankles[:, 1])) / true_turn)
    return FeetReport(
        raw={k: v.figures() for k, v in raw.items()}, cleaned={k: v.figures() for k, v in cleaned.items()},
        online={k: v.figures() for k, v in online.items()},
        jump_air_contact_frames=air_contacts, jump_height_kept=float(np.mean(jump_kept)),
        turn_foot_drift_mm=float(np.max(turn_drift)), turn_heading_kept=float(np.mean(turn_kept)),
        clips=count, frames=frames, seconds=time.perf_counter() - start)
