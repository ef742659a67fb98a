"""SMPL-X parameters ↔ the flat vector the filters see, and each value's noise.

Measured vector (233 values): 55 joint rotations as unit quaternions (x, y, z, w; 220 values),
`transl` (3, metres), `expression` (10). Quaternions are filtered component-wise after each new
one is put on the same hemisphere as the filter's own estimate (q and −q are one rotation), so
an axis-angle that wraps at ±π never reaches the filter as a jump. Values are grouped in blocks —
one per joint, one for the translation, one for the expression — for confidence and gating.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from mocap_app.core.params import NUM_EXPRESSION, SmplxParams, split_full_pose
from mocap_app.core.skeleton import JOINT_INDEX, NUM_JOINTS

from .config import SmoothingConfig

NUM_QUAT_VALUES = 4 * NUM_JOINTS
TRANSL = slice(NUM_QUAT_VALUES, NUM_QUAT_VALUES + 3)
EXPRESSION = slice(TRANSL.stop, TRANSL.stop + NUM_EXPRESSION)
NUM_VALUES = EXPRESSION.stop
TRANSL_BLOCK = NUM_JOINTS
EXPRESSION_BLOCK = NUM_JOINTS + 1
NUM_BLOCKS = NUM_JOINTS + 2
# (NUM_VALUES,) block index of each value.
BLOCK_OF_VALUE = np.concatenate([np.repeat(np.arange(NUM_JOINTS), 4), np.full(3, TRANSL_BLOCK),
                                 np.full(NUM_EXPRESSION, EXPRESSION_BLOCK)])
BLOCK_OF_VALUE.flags.writeable = False
_JAW = JOINT_INDEX["jaw"]


def pose_to_quats(full_pose: np.ndarray) -> np.ndarray:
    """(..., 55, 3) axis-angle → (..., 55, 4) unit quaternions (x, y, z, w)."""
    pose = np.asarray(full_pose, dtype=np.float64)
    return Rotation.from_rotvec(pose.reshape(-1, 3)).as_quat().reshape(*pose.shape[:-1], 4)


def quats_to_pose(quats: np.ndarray) -> np.ndarray:
    """(..., 55, 4) quaternions (any norm > 0) → (..., 55, 3) axis-angle, angles in [0, π]."""
    quats = np.asarray(quats, dtype=np.float64)
    return Rotation.from_quat(quats.reshape(-1, 4)).as_rotvec().reshape(*quats.shape[:-1], 3)


def align_hemisphere(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """A copy of the measured vector(s) (..., NUM_VALUES) with each quaternion negated where it
    points away from the one in `reference` (same shape)."""
    quats = values[..., :NUM_QUAT_VALUES].reshape(*values.shape[:-1], NUM_JOINTS, 4)
    ref = reference[..., :NUM_QUAT_VALUES].reshape(quats.shape)
    sign = np.where((quats * ref).sum(-1, keepdims=True) < 0.0, -1.0, 1.0)
    out = np.array(values, dtype=np.float64)
    out[..., :NUM_QUAT_VALUES] = (quats * sign).reshape(*values.shape[:-1], NUM_QUAT_VALUES)
    return out


def measurement(params: SmplxParams) -> np.ndarray:
    """(NUM_VALUES,) float64 measured vector of one record (quaternions not yet aligned)."""
    return np.concatenate([pose_to_quats(params.full_pose()).ravel(), params.transl, params.expression])


def block_confidence(joint_confidence: np.ndarray, confidence: np.ndarray | float) -> np.ndarray:
    """(..., NUM_BLOCKS) confidence of each block: joints their own, translation the person's
    overall confidence, expression the jaw's (the face's visibility)."""
    joint_confidence = np.asarray(joint_confidence, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)[..., None]
    return np.concatenate([joint_confidence, confidence, joint_confidence[..., _JAW : _JAW + 1]], axis=-1)


def noise_figures(config: SmoothingConfig) -> tuple[np.ndarray, np.ndarray]:
    """(NUM_VALUES,) measurement standard deviation at confidence 1 and (NUM_VALUES,) process-noise variance.

    A rotation error of θ radians moves a unit quaternion by about θ/2, hence the halving.
    """
    std = np.empty(NUM_VALUES)
    accel = np.empty(NUM_VALUES)
    std[:NUM_QUAT_VALUES] = np.radians(config.rotation_noise_deg) / 2.0
    accel[:NUM_QUAT_VALUES] = np.radians(config.rotation_accel_deg) / 2.0
    std[TRANSL], accel[TRANSL] = config.translation_noise_m, config.translation_accel_m
    std[EXPRESSION], accel[EXPRESSION] = config.expression_noise, config.expression_accel
    return std, accel**2


def apply_values(template: SmplxParams, values: np.ndarray, betas: np.ndarray, **overrides: object) -> SmplxParams:
    """`template` with its pose, translation and expression replaced by the filtered vector
    (NUM_VALUES,) and its betas by `betas` (10,); other fields from `overrides` or the template."""
    fields: dict[str, object] = dict(split_full_pose(quats_to_pose(values[:NUM_QUAT_VALUES].reshape(NUM_JOINTS, 4))))
    fields |= {"transl": values[TRANSL], "expression": values[EXPRESSION], "betas": betas}
    values_of = {name: getattr(template, name) for name in (
        "camera", "track_id", "confidence", "joint_confidence", "box", "frame_index", "timestamp_ns",
        "face_weights")}  # the face reader smooths its weights itself (a blink lasts a few frames)
    return SmplxParams(**(values_of | fields | overrides))  # type: ignore[arg-type]
