"""SMPL-X's 10 expression coefficients and the jaw's opening, fitted to MediaPipe's face mesh through SMPL-X's
landmark embedding (`body.face_landmarks`), for when the user's SMPL-X model is installed.

Each frame the 51 iBUG points of the mesh are put in the SMPL-X head's frame and scale by a similarity
alignment on the rigid points (eye corners, nose), which takes the head's pose and the face's size out, and
compared with the person's own neutral face, taken like `face_shapes`' reference (median of the first
`NEUTRAL_FRAMES` frames, then followed slowly while the face looks neutral): people's faces differ from SMPL-X's
mean face, their expressions are changes from their own. The change is explained by SMPL-X's landmarks
(`FaceLandmarkModel`, exact skinning of expression and jaw) plus a small similarity correction (the alignment
saw the expression too): ridge least squares, Gauss-Newton in the jaw's angle (the coefficients are linear).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from mocap_app.body.face_landmarks import FIRST_IBUG, MEDIAPIPE_IBUG, NUM_FACE_LANDMARKS, FaceLandmarkModel
from mocap_app.core.params import NUM_EXPRESSION

from .face_shapes import NEUTRAL_FOLLOW, NEUTRAL_FRAMES
from .rotations import kabsch, skew

# Points the expression barely moves: the alignment rests on them (the others count a little, for its scale).
RIGID_IBUG = (27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45)
RIGID = np.isin(np.arange(NUM_FACE_LANDMARKS) + FIRST_IBUG, RIGID_IBUG)
ALIGN_WEIGHTS = np.where(RIGID, 1.0, 0.1)
# MediaPipe's landmark scatter: a pixel, and no less than a millimetre on SMPL-X's face (a pixel where the eye
# corners lie 90 px apart, as on the calibration faces). A small face's points weigh less, the prior more.
NOISE_PX, NOISE_M = 1.0, 0.001
DEPTH_WEIGHT = 0.5  # MediaPipe's depths are less certain than its image positions
EXPRESSION_PRIOR = 1.0  # ridge per coefficient² (in noise units): SMPL-X's coefficients are about unit spread
JAW_PRIOR = 10.0  # per radian² (a third of a radian ~ one noise width)
EXPRESSION_LIMIT = 3.0  # |ψ| at most
JAW_LIMITS = (0.0, 0.6)  # radians, as the landmark fit's jaw
EVEN = np.ones(NUM_FACE_LANDMARKS)
ITERATIONS = 2  # solves (the second after aligning again): noise-free synthetic faces recovered to 1e-3
NEUTRAL_LOOKING, NEUTRAL_JAW = 0.3, 0.05  # no coefficient above this, the jaw below this (rad): may update the neutral


@dataclass(frozen=True)
class ExpressionFit:
    """expression: (10,) float32 SMPL-X expression coefficients in [-3, 3]. jaw: opening in radians (about the jaw
    joint's x axis, `jaw_pose[0]`). calibrated: whether the neutral reference is complete."""

    expression: np.ndarray
    jaw: float
    calibrated: bool


def similarity_onto(points: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """(N, 3) `points` moved, turned and scaled onto `target` (N, 3), weighted least squares, and the scale."""
    w = weights / weights.sum()
    source, middle = points - w @ points, w @ target
    centred = target - middle
    turned = source @ kabsch(source, centred, w).T
    scale = float(w @ (turned * centred).sum(axis=1) / (w @ (source * source).sum(axis=1)))
    return scale * turned + middle, scale


class ExpressionFitter:
    """Fits one person's face frame after frame (keeps their neutral reference): `fit(mesh)`."""

    def __init__(self, model: FaceLandmarkModel) -> None:
        self.model = model
        self._first: deque[np.ndarray] = deque(maxlen=NEUTRAL_FRAMES)
        self._neutral: np.ndarray | None = None
        self._jaw = 0.0
        self._row_weights = np.tile([1.0, 1.0, DEPTH_WEIGHT], NUM_FACE_LANDMARKS)
        # Similarity columns (translation, small rotation ω × p, scale) about SMPL-X's face: the person's
        # neutral differs from it by millimetres, a second-order change to these.
        centred = model.rest - model.rest.mean(axis=0)
        rigid = np.concatenate([np.broadcast_to(np.eye(3), (NUM_FACE_LANDMARKS, 3, 3)), -skew(centred),
                                centred[..., None]], axis=-1)
        self._system = np.zeros((3 * NUM_FACE_LANDMARKS, NUM_EXPRESSION + 8))  # weighted [jacobian | rigid]
        self._system[:, NUM_EXPRESSION + 1:] = rigid.reshape(-1, 7) * self._row_weights[:, None]
        self._prior = np.diag(np.concatenate([np.full(NUM_EXPRESSION, EXPRESSION_PRIOR), [JAW_PRIOR],
                                              np.full(7, 1e-9)]))

    def fit(self, mesh: np.ndarray) -> ExpressionFit:
        """The expression and jaw of a face mesh ((468 or 478, 3) pixels, MediaPipe's z scaled like x)."""
        points = np.asarray(mesh, np.float64)[MEDIAPIPE_IBUG]
        aligned, scale = similarity_onto(points, self.model.rest if self._neutral is None else self._neutral,
                                         ALIGN_WEIGHTS)
        if self._neutral is None:
            self._first.append(aligned)
            reference = np.median(np.stack(self._first), axis=0)
            if len(self._first) == NEUTRAL_FRAMES:
                self._neutral = reference
        else:
            reference = self._neutral
        expression, jaw = self._solve(points, aligned, reference, max(NOISE_M, NOISE_PX * scale))
        self._jaw = jaw
        if self._neutral is not None and np.abs(expression).max() < NEUTRAL_LOOKING and jaw < NEUTRAL_JAW:
            self._neutral = self._neutral + NEUTRAL_FOLLOW * (aligned - self._neutral)
        return ExpressionFit(expression.astype(np.float32), jaw, self._neutral is not None)

    def _solve(self, points: np.ndarray, aligned: np.ndarray, reference: np.ndarray,
               noise: float) -> tuple[np.ndarray, float]:
        """ψ and θ whose landmark moves (from SMPL-X's neutral) best explain how the face `points` (51, 3), first
        `aligned` onto the neutral `reference` (51, 3, metres), differ from it, each point's scatter `noise`
        metres: ridge least squares with a small similarity correction, then the points aligned again onto the
        reference moved by the fit (the expression had pulled the first alignment) and solved again, the jaw's
        angle relinearised each time."""
        model, w, a = self.model, self._row_weights, self._system
        prior = self._prior * noise**2  # the residuals are in metres, not in noise widths
        expression, jaw = np.zeros(NUM_EXPRESSION), self._jaw
        for step in range(ITERATIONS):
            landmarks, jacobian = model.evaluate(expression, jaw)
            moved = landmarks - model.rest
            if step:
                aligned, _ = similarity_onto(points, reference + moved, EVEN)
            a[:, :NUM_EXPRESSION + 1] = jacobian.reshape(-1, NUM_EXPRESSION + 1) * w[:, None]
            # Solved for the parameters themselves (the prior pulls them, not the step, towards zero).
            rhs = (aligned - reference - moved).ravel() * w + a[:, :NUM_EXPRESSION + 1] @ np.append(expression, jaw)
            x = np.linalg.solve(a.T @ a + prior, a.T @ rhs)
            expression = np.clip(x[:NUM_EXPRESSION], -EXPRESSION_LIMIT, EXPRESSION_LIMIT)
            jaw = float(np.clip(x[NUM_EXPRESSION], *JAW_LIMITS))
        return expression, jaw
