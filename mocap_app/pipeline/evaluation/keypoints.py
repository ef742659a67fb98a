"""2-D keypoint scoring shared by `eval real` and `eval conditions`: the 13 main joints, projection of an
estimate's joints, PCK, and matching estimates to true people in one frame.

The 13 main joints are the ones a person can place by eye on a photo (COCO-like, with one head point
instead of the face points): head, shoulders, elbows, wrists, hips, knees, ankles. Each maps to one SMPL-X
joint; "head" is SMPL-X's head joint (the middle of the head at ear height, where the skull sits on the neck).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mocap_app.body.kinematics import posed_joints
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.params import SmplxParams
from mocap_app.core.skeleton import JOINT_INDEX

MAIN_JOINTS: tuple[str, ...] = (
    "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
MAIN_JOINT_INDEX = np.array([JOINT_INDEX[name] for name in MAIN_JOINTS])  # into the 55 SMPL-X joints
PCK_FRACTION = 0.1  # PCK@0.1: a joint is correct within 10 % of the person's height
MATCH_FRACTION = 0.5  # an estimate belongs to a true person when its mean joint error is under half their height


def estimate_keypoints(people: Sequence[SmplxParams], rest_joints: np.ndarray = REST_JOINTS) -> np.ndarray:
    """(N, 13, 2) pixels: the main joints of each estimate posed on `rest_joints` (the skeleton the estimator
    fitted with: `process.drawn_skeleton` in the app) and projected with the estimate's own camera."""
    if not people:
        return np.zeros((0, len(MAIN_JOINTS), 2))
    joints = posed_joints(people, rest_joints)[:, MAIN_JOINT_INDEX]
    return np.stack([p.camera.project(j) for j, p in zip(joints, people, strict=True)])


def keypoint_errors(pred: np.ndarray, truth: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """(J,) pixel distances between (J, 2) `pred` and `truth`; NaN where `visible` (J,) is False."""
    errors = np.linalg.norm(np.asarray(pred, float) - np.asarray(truth, float), axis=-1)
    if visible is not None:
        errors = np.where(np.asarray(visible, bool), errors, np.nan)
    return errors


def pck(errors: np.ndarray, height_px: float | np.ndarray, fraction: float = PCK_FRACTION) -> float:
    """Share of the finite `errors` (pixels, any shape) under `fraction` × `height_px` (a number, or one per
    error); NaN when no error is finite."""
    errors = np.asarray(errors, dtype=np.float64)
    threshold = fraction * np.broadcast_to(np.asarray(height_px, dtype=np.float64), errors.shape)
    seen = np.isfinite(errors)
    return float((errors[seen] < threshold[seen]).mean()) if seen.any() else float("nan")


@dataclass(frozen=True)
class Match:
    """Estimate `estimate` (index into the frame's estimates) is true person `person` (index into the
    frame's people); `error_px`: mean main-joint error."""

    person: int
    estimate: int
    error_px: float


def match_people(pred: np.ndarray, truth: np.ndarray, heights_px: Sequence[float],
                 visible: np.ndarray | None = None, fraction: float = MATCH_FRACTION) -> list[Match]:
    """One-to-one assignment (Hungarian, on mean main-joint error) of estimates `pred` (N, J, 2) to true
    people `truth` (M, J, 2) of heights `heights_px` (M,); pairs whose error is `fraction` of the person's
    height or more are left unmatched. visible: (M, J) bool, joints to compare (default all)."""
    if len(pred) == 0 or len(truth) == 0:
        return []
    visible = np.ones(np.shape(truth)[:2], bool) if visible is None else np.asarray(visible, bool)
    cost = np.empty((len(truth), len(pred)))
    for m in range(len(truth)):
        for n in range(len(pred)):
            errors = keypoint_errors(pred[n], truth[m], visible[m])
            cost[m, n] = np.nanmean(errors) if np.isfinite(errors).any() else np.inf
    finite = np.where(np.isfinite(cost), cost, 1e12)
    rows, cols = linear_sum_assignment(finite)
    return [Match(int(m), int(n), float(cost[m, n])) for m, n in zip(rows, cols, strict=True)
            if cost[m, n] < fraction * heights_px[m]]
