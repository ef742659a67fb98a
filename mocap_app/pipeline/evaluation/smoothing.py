"""The smoothing filters against synthetic motion with known ground truth (`python main.py eval smoothing`).

Ground truth: smooth random motion of all 55 joints (sums of sinusoids, 0.1–1.5 Hz) with a body
that keeps turning about the vertical (so its axis-angle wraps at ±π), a walk on a circle, and
changing expressions. Observations add what per-frame regressors do: confidence-scaled jitter,
occasional outliers (a joint thrown 30–90°, the translation off by decimetres, the whole body
flipped front/back), and dropped frames (runs of 1–5). Joint positions come from forward
kinematics on the reference rest skeleton.

Reported per method (raw / online Kalman / offline RTS / online one-euro), over the frames that
were observed: mean acceleration error (mm/frame², frames whose neighbours were observed too),
MPJPE (mm), MPJPE on the dropped frames the filter bridged, and lag in frames (best shift of the
cross-correlation with the ground truth, refined below a frame; > 0 = behind).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from mocap_app.body.kinematics import joint_positions
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import NUM_BETAS, NUM_EXPRESSION, MotionClip
from mocap_app.core.skeleton import JOINT_INDEX, NUM_JOINTS
from mocap_app.smoothing import OnlineSmoother, SmoothingConfig, smooth_clip

HAND_JOINTS = np.arange(25, 55)
LIMB_JOINTS = np.array([JOINT_INDEX[f"{side}_{part}"] for side in ("left", "right")
                        for part in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")])
FACE_JOINTS = np.array([JOINT_INDEX[n] for n in ("jaw", "left_eye_smplhf", "right_eye_smplhf")])
METHODS = ("raw", "online_kalman", "offline_rts", "one_euro")
MAX_LAG_FRAMES = 8
CAMERA = CameraIntrinsics.from_fov(640, 480)


@dataclass(frozen=True)
class NoiseModel:
    """How observations differ from the truth.

    rotation_jitter_deg: per-axis standard deviation of a joint's rotation noise at confidence 1
        (hands `hand_factor` times more); noise grows as 1/confidence.
    translation_jitter_m: (3,) x, y, z standard deviation of `transl` (depth is the worst).
    expression_jitter, betas_jitter: standard deviation of the coefficients.
    joint_outlier_rate: chance per joint and frame of a rotation 30–90° off about a random axis.
    translation_outlier_rate: chance per frame of `transl` 0.2–0.6 m off.
    flip_rate: chance per frame of the whole body turned 180° about the vertical (front/back confusion).
    drop_rate: chance per frame that a run of 1–5 dropped frames starts.
    """

    rotation_jitter_deg: float = 2.0
    hand_factor: float = 1.5
    translation_jitter_m: tuple[float, float, float] = (0.01, 0.01, 0.03)
    expression_jitter: float = 0.15
    betas_jitter: float = 0.3
    joint_outlier_rate: float = 0.01
    translation_outlier_rate: float = 0.01
    flip_rate: float = 0.005
    drop_rate: float = 0.03


def _clip(full_pose: np.ndarray, transl: np.ndarray, expression: np.ndarray, betas: np.ndarray,
          joint_confidence: np.ndarray, confidence: np.ndarray, frame_index: np.ndarray, fps: float) -> MotionClip:
    return MotionClip.from_full_pose(full_pose, transl, fps, CAMERA, expression=expression, betas=betas,
                                     joint_confidence=joint_confidence, confidence=confidence,
                                     frame_index=frame_index, source={"synthetic": "eval smoothing"})


def synthetic_motion(num_frames: int, seed: int, fps: float = 30.0) -> MotionClip:
    """Ground truth: T frames of smooth motion (see the module docstring), every frame present."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / fps
    # Limbs swing widest, the trunk and face least; slower components carry more of the motion.
    amplitude = np.full(NUM_JOINTS, np.radians(10.0))
    amplitude[LIMB_JOINTS] = np.radians(25.0)
    amplitude[HAND_JOINTS] = np.radians(15.0)
    amplitude[FACE_JOINTS] = np.radians(8.0)
    freq = rng.uniform(0.1, 1.5, (3, NUM_JOINTS, 3))
    phase = rng.uniform(0, 2 * np.pi, (3, NUM_JOINTS, 3))
    weight = rng.uniform(0.5, 1.0, (3, NUM_JOINTS, 3)) / (1.0 + freq)
    base = rng.normal(0.0, 0.3, (NUM_JOINTS, 3)) * (amplitude / np.radians(25.0))[:, None]
    pose = base + amplitude[:, None] * np.einsum(
        "mja,mtja->tja", weight, np.sin(2 * np.pi * freq[:, None] * t[None, :, None, None] + phase[:, None]))
    # The body faces the camera (model y up → camera y down) and turns about the vertical at 25–45°/s.
    yaw = rng.uniform(0, 2 * np.pi) + np.radians(rng.uniform(25, 45)) * t
    sway = Rotation.from_rotvec(pose[:, 0])
    orient = Rotation.from_euler("x", 180, degrees=True) * Rotation.from_euler("y", yaw[:, None]) * sway
    pose[:, 0] = orient.as_rotvec()
    radius, speed = rng.uniform(0.5, 1.0), rng.uniform(0.3, 0.6)
    angle = speed * t + rng.uniform(0, 2 * np.pi)
    transl = np.stack([radius * np.cos(angle), 0.03 * np.sin(2 * np.pi * 1.6 * t),
                       3.5 + radius * np.sin(angle)], axis=1)
    expression = np.sin(2 * np.pi * rng.uniform(0.2, 1.0, NUM_EXPRESSION) * t[:, None]
                        + rng.uniform(0, 2 * np.pi, NUM_EXPRESSION))
    betas = np.broadcast_to(rng.normal(0.0, 1.0, NUM_BETAS), (num_frames, NUM_BETAS))
    ones = np.ones(num_frames)
    return _clip(pose, transl, expression, betas, np.ones((num_frames, NUM_JOINTS)), ones,
                 np.arange(num_frames), fps)


def corrupt(truth: MotionClip, noise: NoiseModel, seed: int) -> MotionClip:
    """What an estimator would report for `truth`: noisy, with outliers and dropped frames."""
    rng = np.random.default_rng(seed)
    num = truth.num_frames
    # Per-joint confidence drifts slowly between 0.4 and 1 (hands 0.3–0.9).
    drift = np.cumsum(rng.normal(0.0, 0.05, (num, NUM_JOINTS)), axis=0)
    confidence = 0.7 + 0.3 * np.sin(drift + rng.uniform(0, 2 * np.pi, NUM_JOINTS))
    confidence[:, HAND_JOINTS] -= 0.1
    std = np.radians(noise.rotation_jitter_deg) / confidence
    std[:, HAND_JOINTS] *= noise.hand_factor
    error = rng.normal(0.0, 1.0, (num, NUM_JOINTS, 3)) * std[..., None]
    outliers = rng.random((num, NUM_JOINTS)) < noise.joint_outlier_rate
    axes = rng.normal(size=(num, NUM_JOINTS, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    error[outliers] = axes[outliers] * np.radians(rng.uniform(30, 90, (outliers.sum(), 1)))
    truth_rot = Rotation.from_rotvec(truth.full_pose().reshape(-1, 3).astype(np.float64))
    pose = (truth_rot * Rotation.from_rotvec(error.reshape(-1, 3))).as_rotvec().reshape(num, NUM_JOINTS, 3)
    flips = rng.random(num) < noise.flip_rate
    pose[flips, 0] = (Rotation.from_euler("y", np.pi) * Rotation.from_rotvec(pose[flips, 0])).as_rotvec()
    overall = confidence[:, :22].mean(axis=1)
    transl = truth.transl + rng.normal(0.0, 1.0, (num, 3)) * np.asarray(noise.translation_jitter_m) / overall[:, None]
    jumps = rng.random(num) < noise.translation_outlier_rate
    transl[jumps] += rng.normal(0.0, 1.0, (jumps.sum(), 3)) * [0.1, 0.1, 0.4]
    expression = truth.expression + rng.normal(0.0, noise.expression_jitter, (num, NUM_EXPRESSION)) \
        / confidence[:, JOINT_INDEX["jaw"], None]
    betas = truth.betas + rng.normal(0.0, noise.betas_jitter, (num, NUM_BETAS))
    kept = np.ones(num, dtype=bool)
    for start in np.flatnonzero(rng.random(num) < noise.drop_rate):
        if start > 0:  # the first frame is always seen
            kept[start : start + rng.integers(1, 6)] = False
    return _clip(pose[kept], transl[kept], expression[kept], betas[kept], confidence[kept], overall[kept],
                 truth.frame_index[kept], truth.fps)


def joint_positions_mm(full_pose: np.ndarray, transl: np.ndarray) -> np.ndarray:
    """(T, 55, 3) axis-angle + (T, 3) metres → (T, 55, 3) joint positions in millimetres (reference rest skeleton)."""
    return 1000.0 * joint_positions(full_pose, transl)


def run_online(observed: MotionClip, num_frames: int, config: SmoothingConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Feed the observations frame by frame (empty frames where dropped) through an `OnlineSmoother`.

    Returns (T, 55, 3) positions in mm on every frame (NaN where nothing came out), (T,) bool
    frames with an output, and the mean filter time per frame with a person (ms).
    """
    smoother = OnlineSmoother(config, fps=observed.fps)
    rows = {int(f): i for i, f in enumerate(observed.frame_index)}
    pose = np.full((num_frames, NUM_JOINTS, 3), np.nan)
    transl = np.full((num_frames, 3), np.nan)
    elapsed = 0.0
    for f in range(num_frames):
        people = [observed.frame(rows[f])] if f in rows else []
        start = time.perf_counter()
        out = smoother(people, frame_index=f)
        elapsed += time.perf_counter() - start
        if out:
            pose[f], transl[f] = out[0].full_pose(), out[0].transl
    present = ~np.isnan(transl[:, 0])
    positions = np.full((num_frames, NUM_JOINTS, 3), np.nan)
    positions[present] = joint_positions_mm(pose[present], transl[present])
    return positions, present, 1000.0 * elapsed / max(len(rows), 1)


def run_offline(observed: MotionClip, num_frames: int, config: SmoothingConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """As `run_online`, for `smooth_clip` with the gaps filled (ms: per observed frame)."""
    start = time.perf_counter()
    smoothed = smooth_clip(observed, config, fill_gaps=True)
    elapsed = time.perf_counter() - start
    positions = np.full((num_frames, NUM_JOINTS, 3), np.nan)
    positions[smoothed.frame_index] = joint_positions_mm(smoothed.full_pose(), smoothed.transl)
    present = np.zeros(num_frames, dtype=bool)
    present[smoothed.frame_index] = True
    return positions, present, 1000.0 * elapsed / observed.num_frames


def lag_frames(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Delay of `estimate` behind `truth` (T, J, 3; NaN frames ignored), frames (> 0 = behind).

    The integer shift s whose cross-correlation — as the mean squared difference between
    estimate(t) and truth(t − s) — is best, refined to a fraction of a frame by least squares on the
    truth's velocity v: d = s − Σ (estimate(t) − truth(t − s))·v(t − s) / Σ v·v. Subtracting the
    truth before correlating keeps the measurement noise from moving the peak; joint errors over
    3x the median (outliers) are left out of the refinement.
    """
    num_frames = len(truth)
    velocity = np.gradient(truth, axis=0)
    best = None
    for s in range(-MAX_LAG_FRAMES, MAX_LAG_FRAMES + 1):
        est = estimate[max(s, 0) : num_frames + min(s, 0)]
        ref = truth[max(-s, 0) : num_frames - max(s, 0)]
        seen = ~np.isnan(est[:, 0, 0])
        error = float(((est[seen] - ref[seen]) ** 2).sum(-1).mean())
        if best is None or error < best[0]:
            best = (error, s)
    s = best[1]  # type: ignore[index]
    est = estimate[max(s, 0) : num_frames + min(s, 0)]
    ref, vel = (a[max(-s, 0) : num_frames - max(s, 0)] for a in (truth, velocity))
    seen = ~np.isnan(est[:, 0, 0])
    error, vel = est[seen] - ref[seen], vel[seen]
    # Gross errors (outliers) say nothing about delay but would dominate the sums: leave them out.
    size = np.linalg.norm(error, axis=-1)
    inlier = size <= 3.0 * np.median(size)
    return float(s - (error[inlier] * vel[inlier]).sum() / (vel[inlier] ** 2).sum())


@dataclass(frozen=True)
class MethodReport:
    """One method over the evaluated sequences (means over sequences).

    accel_error_mm: mean |Δ²estimate − Δ²truth| over joints and observed triplets of frames, mm/frame².
    mpjpe_mm: mean joint position error over observed frames, mm.
    bridged_mpjpe_mm: the same over dropped frames the method filled (None: it fills none).
    lag_frames: delay behind the truth, frames. ms_per_frame: filter time per observed frame.
    """

    method: str
    accel_error_mm: float
    mpjpe_mm: float
    bridged_mpjpe_mm: float | None
    lag_frames: float
    ms_per_frame: float


def evaluate_sequence(truth: MotionClip, observed: MotionClip, config: SmoothingConfig) -> dict[str, dict]:
    """Metrics of every method on one sequence."""
    num = truth.num_frames
    gt = joint_positions_mm(truth.full_pose(), truth.transl)
    seen = np.zeros(num, dtype=bool)
    seen[observed.frame_index] = True
    raw = np.full_like(gt, np.nan)
    raw[seen] = joint_positions_mm(observed.full_pose(), observed.transl)
    one_euro = dataclasses.replace(config, method="one_euro")
    runs = {"raw": (raw, seen, 0.0),
            "online_kalman": run_online(observed, num, config),
            "offline_rts": run_offline(observed, num, config),
            "one_euro": run_online(observed, num, one_euro)}
    triplet = seen[1:-1] & seen[:-2] & seen[2:]
    results = {}
    for method, (positions, present, ms) in runs.items():
        accel = positions[2:] - 2 * positions[1:-1] + positions[:-2]
        accel_true = gt[2:] - 2 * gt[1:-1] + gt[:-2]
        error = np.linalg.norm(positions - gt, axis=-1)
        bridged = present & ~seen
        results[method] = {
            "accel_error_mm": float(np.linalg.norm(accel - accel_true, axis=-1)[triplet].mean()),
            "mpjpe_mm": float(error[seen].mean()),
            "bridged_mpjpe_mm": float(error[bridged].mean()) if bridged.any() else None,
            "lag_frames": lag_frames(positions, gt),
            "ms_per_frame": ms,
        }
    return results


def evaluate(config: SmoothingConfig, sequences: int = 4, num_frames: int = 600, seed: int = 0,
             noise: NoiseModel | None = None) -> list[MethodReport]:
    """All methods on `sequences` generated sequences (seeds seed, seed+1, ...), averaged."""
    noise = noise or NoiseModel()
    per_sequence = []
    for k in range(sequences):
        truth = synthetic_motion(num_frames, seed=seed + k)
        per_sequence.append(evaluate_sequence(truth, corrupt(truth, noise, seed=10_000 + seed + k), config))
    reports = []
    for method in METHODS:
        rows = [r[method] for r in per_sequence]
        bridged = [r["bridged_mpjpe_mm"] for r in rows if r["bridged_mpjpe_mm"] is not None]
        reports.append(MethodReport(
            method=method,
            accel_error_mm=float(np.mean([r["accel_error_mm"] for r in rows])),
            mpjpe_mm=float(np.mean([r["mpjpe_mm"] for r in rows])),
            bridged_mpjpe_mm=float(np.mean(bridged)) if bridged else None,
            lag_frames=float(np.mean([r["lag_frames"] for r in rows])),
            ms_per_frame=float(np.mean([r["ms_per_frame"] for r in rows]))))
    return reports
