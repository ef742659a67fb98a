"""SMPL-X's 10 expression coefficients and the jaw's opening, fitted to MediaPipe's face mesh through SMPL-X's
landmark embedding (`body.face_landmarks`), for when the user's SMPL-X model is installed.

Each frame the 51 iBUG points of the mesh are moved, turned and scaled onto SMPL-X's face (a similarity: the
head's pose and the face's size taken out), corrected for how MediaPipe's points drift as the head turns
(`PoseDrift`, measured on renders like `face_shapes`' pose terms) and compared with the person's own neutral
face, taken as `face_shapes`' is (`NeutralReference`: median of the first frames, then followed slowly while
the face looks neutral): people's faces differ from SMPL-X's mean face, their expressions are changes from
their own. The change is explained by SMPL-X's landmarks (`FaceLandmarkModel`, smplx's skinning of expression
and jaw) plus a small similarity (the alignment saw the expression too): ridge least squares, then the points
aligned again onto the neutral moved by the fit and solved again, the jaw's angle relinearised (Gauss-Newton;
the coefficients are linear).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap_app.body.face_landmarks import MEDIAPIPE_IBUG, NUM_FACE_LANDMARKS, FaceLandmarkModel
from mocap_app.core.params import NUM_EXPRESSION

from .face_shapes import NeutralReference, head_pose_terms
from .rotations import kabsch, skew

# MediaPipe's landmark scatter: a pixel, and no less than a millimetre on SMPL-X's face (a pixel where the eye
# corners lie 90 px apart, as on the calibration faces). A small face's points weigh less, the prior more.
NOISE_PX, NOISE_M = 1.0, 0.001
EXPRESSION_PRIOR = 1.0  # ridge per coefficient² (in noise units): SMPL-X's coefficients are about unit spread
JAW_PRIOR = 10.0  # per radian² (a third of a radian ~ one noise width)
EXPRESSION_LIMIT = 3.0  # |ψ| at most
JAW_LIMITS = (0.0, 0.6)  # radians, as the landmark fit's jaw
ITERATIONS = 2  # solves (the second after aligning again): noise-free synthetic faces recovered to 1e-3
NEUTRAL_LOOKING, NEUTRAL_JAW = 0.3, 0.05  # no coefficient above this, the jaw below this (rad): may update the neutral
EVEN = np.ones(NUM_FACE_LANDMARKS)
IMAGE_TO_HEAD = np.diag([1.0, -1.0, -1.0])  # smplx axes (y up, z forward) → `face_shapes.head_frame`'s (down, away)
DRIFT_FILE = Path(__file__).with_name("expression_drift.json")


@dataclass(frozen=True)
class ExpressionFit:
    """expression: (10,) float32 SMPL-X expression coefficients in [-3, 3]. jaw: opening in radians (about the jaw
    joint's x axis, `jaw_pose[0]`). calibrated: whether the neutral reference is complete."""

    expression: np.ndarray
    jaw: float
    calibrated: bool


@dataclass(frozen=True)
class PoseDrift:
    """How MediaPipe's 51 iBUG points move, after the similarity alignment, as an expression-free face turns:
    matrix (51, 3, 5), their change per unit of each `face_shapes.head_pose_terms` term, in units of the face's
    size (the points' RMS distance from their centroid), smplx axes. Written by
    `pipeline.evaluation.face_drift.calibrate` from renders of the avatar's faces."""

    matrix: np.ndarray

    @classmethod
    def load(cls, path: Path = DRIFT_FILE) -> PoseDrift:
        return cls(np.array(json.loads(Path(path).read_text())["matrix"], np.float64))

    def save(self, path: Path = DRIFT_FILE) -> None:
        Path(path).write_text(json.dumps({"matrix": np.round(self.matrix, 5).tolist()}) + "\n")


@functools.lru_cache(maxsize=1)
def shipped_drift() -> PoseDrift:
    """The drift that ships with the app (`DRIFT_FILE`), read once."""
    return PoseDrift.load()


def face_size(points: np.ndarray) -> float:
    """RMS distance of (N, 3) points from their centroid: the unit `PoseDrift` is in."""
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def similarity_onto(points: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(51, 3) `points` moved, turned and scaled onto `target` (51, 3) by least squares; the scale, and the (3, 3)
    rotation from the points' axes to the target's."""
    source, middle = points - points.mean(axis=0), target.mean(axis=0)
    centred = target - middle
    rotation = kabsch(source, centred, EVEN)
    turned = source @ rotation.T
    scale = float((turned * centred).sum() / (source * source).sum())
    return scale * turned + middle, scale, rotation


class ExpressionFitter:
    """Fits one person's face frame after frame (keeps their neutral reference): `fit(mesh)`."""

    def __init__(self, model: FaceLandmarkModel, drift: PoseDrift | None = None) -> None:
        self.model = model
        self._drift = (drift or shipped_drift()).matrix * face_size(model.rest)  # metres on SMPL-X's face
        self._neutral = NeutralReference()
        self._jaw = 0.0
        # Similarity columns (translation, small rotation ω × p, scale) about SMPL-X's face: the person's
        # neutral differs from it by millimetres, a second-order change to these.
        centred = model.rest - model.rest.mean(axis=0)
        rigid = np.concatenate([np.broadcast_to(np.eye(3), (NUM_FACE_LANDMARKS, 3, 3)), -skew(centred),
                                centred[..., None]], axis=-1)
        self._system = np.zeros((3 * NUM_FACE_LANDMARKS, NUM_EXPRESSION + 8))  # [jacobian | rigid]
        self._system[:, NUM_EXPRESSION + 1:] = rigid.reshape(-1, 7)
        self._prior = np.diag(np.concatenate([np.full(NUM_EXPRESSION, EXPRESSION_PRIOR), [JAW_PRIOR],
                                              np.full(7, 1e-9)]))

    def fit(self, mesh: np.ndarray) -> ExpressionFit:
        """The expression and jaw of a face mesh ((468 or 478, 3) pixels, MediaPipe's z scaled like x)."""
        points = np.asarray(mesh, np.float64)[MEDIAPIPE_IBUG]
        neutral = self._neutral.value
        aligned, scale, rotation = similarity_onto(points, self.model.rest if neutral is None else neutral)
        drift = self._drift @ head_pose_terms(IMAGE_TO_HEAD @ rotation)
        corrected = aligned - drift
        expression, jaw = self._solve(points, corrected, self._neutral.against(corrected), drift,
                                      max(NOISE_M, NOISE_PX * scale))
        self._jaw = jaw
        if np.abs(expression).max() < NEUTRAL_LOOKING and jaw < NEUTRAL_JAW:
            self._neutral.follow(corrected)
        return ExpressionFit(expression.astype(np.float32), jaw, self._neutral.value is not None)

    def _solve(self, points: np.ndarray, corrected: np.ndarray, reference: np.ndarray, drift: np.ndarray,
               noise: float) -> tuple[np.ndarray, float]:
        """ψ and θ whose landmark moves (from SMPL-X's neutral) best explain how the face `points` (51, 3), aligned
        onto the neutral `reference` (51, 3, metres) and `corrected` for the head pose's `drift` (51, 3), differ
        from it, each point's scatter `noise` metres (see module doc)."""
        model, a = self.model, self._system
        prior = self._prior * noise**2  # the residuals are in metres, not in noise widths
        expression, jaw = np.zeros(NUM_EXPRESSION), self._jaw
        for step in range(ITERATIONS):
            landmarks, jacobian = model.evaluate(expression, jaw)
            moved = landmarks - model.rest
            if step:
                corrected = similarity_onto(points, reference + moved + drift)[0] - drift
            a[:, :NUM_EXPRESSION + 1] = jacobian.reshape(-1, NUM_EXPRESSION + 1)
            # Solved for the parameters themselves (the prior pulls them, not the step, towards zero).
            rhs = (corrected - reference - moved).ravel() + a[:, :NUM_EXPRESSION + 1] @ np.append(expression, jaw)
            x = np.linalg.solve(a.T @ a + prior, a.T @ rhs)
            expression = np.clip(x[:NUM_EXPRESSION], -EXPRESSION_LIMIT, EXPRESSION_LIMIT)
            jaw = float(np.clip(x[NUM_EXPRESSION], *JAW_LIMITS))
        return expression, jaw
