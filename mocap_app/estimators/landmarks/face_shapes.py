"""ARKit blend-shape weights and eye gaze from MediaPipe's face mesh, by geometry.

Each frame the mesh (468 points, 478 with the iris) is put in a head frame built from rigid points (outer eye
corners, forehead, nose tip): turning or tilting the head moves nothing there. In that frame a few measures are
taken (eye aperture over eye width, brow heights above the eyes, lip corners and lip gap relative to the nose
tip, mouth width, chin drop, lip depth, iris offset) and compared with the person's own neutral face; the
weights (and gaze) are those whose measured responses (`FaceResponse`, from renders of the default avatar:
`eval face --calibrate`) add up to that change. The neutral face is the median of the first `NEUTRAL_FRAMES`
frames seen, then follows the face slowly while it looks neutral — people differ (eye size, brow height), and a
fixed reference would read a person with narrow eyes as squinting for the whole take. Until then the calibration
face's neutral makes up the rest of the reference, so a single photo reads against an average face.
"""

from __future__ import annotations

import functools
import json
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap_app.core.face import ARKIT_INDEX, NUM_ARKIT_SHAPES
from mocap_app.core.rotations import cross

# MediaPipe face-mesh indices ("left" = the subject's left, on the image's right for a frontal face).
RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER = 33, 133, 362, 263
RIGHT_LIDS = ((159, 145), (158, 153), (160, 144))  # (upper, lower) pairs across the eye
LEFT_LIDS = ((386, 374), (385, 380), (387, 373))
# The whole lid contours between the corners (upper, lower): their midline is where the iris is measured from.
RIGHT_LID_CONTOUR = ((246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155))
LEFT_LID_CONTOUR = ((466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382))
RIGHT_BROW_INNER, RIGHT_BROW_OUTER, LEFT_BROW_INNER, LEFT_BROW_OUTER = 55, 46, 285, 276
FOREHEAD, NOSE_TIP, CHIN = 10, 4, 152
UPPER_LIP_INNER, LOWER_LIP_INNER, UPPER_LIP_OUTER, LOWER_LIP_OUTER = 13, 14, 0, 17
RIGHT_MOUTH_CORNER, LEFT_MOUTH_CORNER = 61, 291
RIGHT_CHEEK, LEFT_CHEEK = 205, 425
RIGHT_IRIS, LEFT_IRIS = 468, 473  # centres; present only in the refined (478-point) mesh

FEATURES = (
    "aperture_left", "aperture_right",  # lid gap over eye width
    "lower_lid_left", "lower_lid_right",  # lower lid below the eye corners (eye widths)
    "brow_inner_left", "brow_inner_right", "brow_outer_left", "brow_outer_right",  # above the eye corners
    "corner_up_left", "corner_up_right", "corner_out_left", "corner_out_right",  # lip corners vs the nose tip
    "lip_gap", "mouth_width", "chin_drop", "lip_depth", "cheek_width",
    "iris_x_left", "iris_x_right", "iris_y_left", "iris_y_right",  # iris from the eye centre (eye widths)
    "iris_lid_left", "iris_lid_right",  # iris below the lids' midpoint (eye widths): MediaPipe places the iris
    # and the lids together, so their errors largely cancel in this difference
)
F = {name: i for i, name in enumerate(FEATURES)}
# Measures compared with the neutral face as a share of it: eyes and mouths differ in size between people more
# than a blink or a pucker differs between them (a blink closes any eye to about a quarter of its aperture).
RELATIVE = np.array([F["aperture_left"], F["aperture_right"], F["mouth_width"]])


def change_from(features: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(len(FEATURES),) how `features` differ from `neutral`: differences, `RELATIVE` ones as shares."""
    change = features - neutral
    change[RELATIVE] /= np.maximum(neutral[RELATIVE], 1e-6)
    return change

NEUTRAL_FRAMES = 30  # the first frames with a face: the person's neutral reference (their median)
# Until then the calibration face stands in for what is not yet seen of this one, fading out over these frames: a
# photo is read against it, a video soon against itself (a face unlike the calibration face, eyes narrower, read
# as half blinking for the first dozen frames of the sample clip when it faded out over all 30).
STAND_IN_FRAMES = 5
NEUTRAL_FOLLOW = 0.01  # then, per neutral-looking frame, the reference moves this share towards it
NEUTRAL_LOOKING = 0.15  # no shape above this weight: a frame that may update the reference
# Outer-eye-corner distance (pixels) under which the mesh is too coarse to read, and from which it is read in
# full; weights fade in between (the sample clip's face, 18-22 px, had read as a wide-eyed smile at full weight).
# A webcam user 2 m away in 640x480 has about 27 px; the calibration faces have 90.
UNREADABLE_EYE_SPAN_PX, READABLE_EYE_SPAN_PX = 12.0, 24.0


@dataclass(frozen=True)
class FaceReading:
    """weights: (52,) float32 in [0, 1], ARKit order (`core.face.ARKIT_SHAPES`); shapes the geometry cannot
    tell stay 0. gaze: (2, 2) float32 radians, (yaw, pitch) of the (left, right) eye relative to the head,
    yaw positive towards the subject's left, pitch positive up; zeros without the iris points. calibrated:
    whether the neutral reference is complete (before that, weights are read against the frames so far and the
    calibration face, `NeutralReference`)."""

    weights: np.ndarray
    gaze: np.ndarray
    calibrated: bool


class NeutralReference:
    """One person's neutral face, in whatever measures a reader compares with it: the median of the first
    `NEUTRAL_FRAMES` seen (`value` then set), after that following slowly those that look neutral (`follow`).
    Before it is complete, `stand_in` (the calibration face's measures, when given) makes up what is not yet seen
    of this face, fading out over `STAND_IN_FRAMES`."""

    def __init__(self, stand_in: np.ndarray | None = None) -> None:
        self.stand_in = stand_in
        self.value: np.ndarray | None = None
        self._first: deque[np.ndarray] = deque(maxlen=NEUTRAL_FRAMES)

    def against(self, measures: np.ndarray) -> np.ndarray:
        """The reference `measures` are compared with; until the neutral is complete they are part of it."""
        if self.value is not None:
            return self.value
        self._first.append(measures)
        seen = np.median(np.stack(self._first), axis=0)
        if len(self._first) == NEUTRAL_FRAMES:
            self.value = seen
            return seen
        if self.stand_in is None:
            return seen
        share = min(1.0, (len(self._first) - 1) / (STAND_IN_FRAMES - 1))
        return share * seen + (1.0 - share) * self.stand_in

    def follow(self, measures: np.ndarray) -> None:
        """A frame that looks neutral: a complete reference moves `NEUTRAL_FOLLOW` of the way towards it."""
        if self.value is not None:
            self.value = self.value + NEUTRAL_FOLLOW * (measures - self.value)


def head_frame(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face mesh ((N, 3) pixels, MediaPipe's z scaled like x) in the head's frame: (N, 3) points with the
    origin between the outer eye corners, x towards the subject's left eye, y down the face, z away from the
    face, unit = the outer-eye-corner distance; and (3, 3) the frame's axes (rows) in image coordinates."""
    origin = 0.5 * (mesh[LEFT_EYE_OUTER] + mesh[RIGHT_EYE_OUTER])
    across = mesh[LEFT_EYE_OUTER] - mesh[RIGHT_EYE_OUTER]
    scale = float(np.linalg.norm(across))
    x = across / scale
    down = mesh[NOSE_TIP] - mesh[FOREHEAD]
    y = down - (down @ x) * x
    y /= np.linalg.norm(y)
    axes = np.stack([x, y, cross(x, y)])
    return (mesh - origin) @ axes.T / scale, axes


def head_pose_terms(axes: np.ndarray) -> np.ndarray:
    """(5,) yaw, pitch, yaw², pitch², yaw·pitch (radians) of a head frame's axes: what the pose-dependent part
    of the measures is fitted on (`FaceResponse.pose_matrix`). Yaw positive turning to the subject's left,
    pitch positive looking up; MediaPipe's depths are approximate, so are these, the same way at calibration."""
    facing = axes[2]  # away from the face, image axes (z away from the camera)
    yaw = np.arctan2(-facing[0], facing[2])
    pitch = np.arctan2(facing[1], np.hypot(facing[0], facing[2]))
    return np.array([yaw, pitch, yaw * yaw, pitch * pitch, yaw * pitch])


# Per-eye index arrays, (left, right) along the first axis: the measures of both eyes in one numpy step each.
_OUTER, _INNER = np.array([LEFT_EYE_OUTER, RIGHT_EYE_OUTER]), np.array([LEFT_EYE_INNER, RIGHT_EYE_INNER])
_UPPER_LIDS, _LOWER_LIDS = (np.array([[pair[k] for pair in LEFT_LIDS], [pair[k] for pair in RIGHT_LIDS]])
                            for k in (0, 1))
_UPPER_CONTOURS = np.array([LEFT_LID_CONTOUR[0], RIGHT_LID_CONTOUR[0]])
_LOWER_CONTOURS = np.array([LEFT_LID_CONTOUR[1], RIGHT_LID_CONTOUR[1]])
_BROW_INNER, _BROW_OUTER = np.array([LEFT_BROW_INNER, RIGHT_BROW_INNER]), np.array([LEFT_BROW_OUTER, RIGHT_BROW_OUTER])
_CORNERS, _IRISES = np.array([LEFT_MOUTH_CORNER, RIGHT_MOUTH_CORNER]), np.array([LEFT_IRIS, RIGHT_IRIS])
_OUTWARD = np.array([1.0, -1.0])  # the subject's left is +x in the head frame
_PER_EYE = {measure: [F[f"{measure}_left"], F[f"{measure}_right"]] for measure in (
    "aperture", "lower_lid", "brow_inner", "brow_outer", "corner_up", "corner_out", "iris_x", "iris_y", "iris_lid")}


def face_features(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(len(FEATURES),) the measures of one face mesh ((468 or 478, 3) pixels), in head-frame units, and the
    (5,) `head_pose_terms` of its head frame."""
    p, axes = head_frame(np.asarray(mesh, np.float64))
    out = np.zeros(len(FEATURES))
    width = np.linalg.norm(p[_OUTER, :2] - p[_INNER, :2], axis=1)  # (2,) per eye
    centre = 0.5 * (p[_OUTER] + p[_INNER])  # (2, 3)
    out[_PER_EYE["aperture"]] = np.linalg.norm(p[_UPPER_LIDS, :2] - p[_LOWER_LIDS, :2], axis=2).mean(1) / width
    out[_PER_EYE["lower_lid"]] = (p[_LOWER_LIDS, 1].mean(1) - centre[:, 1]) / width
    out[_PER_EYE["brow_inner"]] = centre[:, 1] - p[_BROW_INNER, 1]
    out[_PER_EYE["brow_outer"]] = centre[:, 1] - p[_BROW_OUTER, 1]
    out[_PER_EYE["corner_up"]] = p[NOSE_TIP, 1] - p[_CORNERS, 1]
    out[_PER_EYE["corner_out"]] = _OUTWARD * (p[_CORNERS, 0] - p[NOSE_TIP, 0])
    if len(p) > max(LEFT_IRIS, RIGHT_IRIS):
        iris = p[_IRISES]
        out[_PER_EYE["iris_x"]] = (iris[:, 0] - centre[:, 0]) / width
        out[_PER_EYE["iris_y"]] = (iris[:, 1] - centre[:, 1]) / width
        midline = 0.5 * (p[_UPPER_CONTOURS, 1].mean(1) + p[_LOWER_CONTOURS, 1].mean(1))
        out[_PER_EYE["iris_lid"]] = (iris[:, 1] - midline) / width
    out[F["lip_gap"]] = np.linalg.norm(p[UPPER_LIP_INNER] - p[LOWER_LIP_INNER])
    out[F["mouth_width"]] = np.linalg.norm(p[LEFT_MOUTH_CORNER] - p[RIGHT_MOUTH_CORNER])
    out[F["chin_drop"]] = p[CHIN, 1] - p[NOSE_TIP, 1]
    out[F["lip_depth"]] = 0.5 * (p[UPPER_LIP_OUTER, 2] + p[LOWER_LIP_OUTER, 2]) - p[NOSE_TIP, 2]
    out[F["cheek_width"]] = p[LEFT_CHEEK, 0] - p[RIGHT_CHEEK, 0]
    return out, head_pose_terms(axes)


RESPONSE_FILE = Path(__file__).with_name("face_response.json")
GAZE_LIMIT_RAD = (0.6, 0.5)  # |yaw|, |pitch| an eye turns at most
# Prior on the weights, in units of the measures' noise: a shape must move the measures this many noise widths
# (squared) before it is read; keeps shapes the measures barely see (a brow's small lift) from soaking up noise.
PRIOR = 100.0
# Shapes the head's turns do not imitate get a lighter one: their measures (lip corners down, lips pressed or
# pushed forward) stay put under turns once the pose is taken out. `eval face` (4 people): frowns' correlation
# - (never read) -> 0.84/0.86, mouthClose -> 0.62, mouthPucker -> 0.54, MAE 0.038 -> 0.036, false activation
# under head turns 0.024 unchanged; the same for eyeWide, squints, stretches or cheekPuff read head turns as them
# (false activation 0.11-0.33), and brows move too little in MediaPipe's mesh to be read at all.
LIGHT_PRIORS = {"mouthFrownLeft": 10.0, "mouthFrownRight": 10.0, "mouthClose": 10.0, "mouthPucker": 10.0}
ACTIVE_WEIGHT = 0.3  # read under the strong prior: a shape present
REFIT_PRIOR = 4.0  # then their weights under this one
GAZE_PRIOR = 1.0  # per radian squared: the eyes turn freely


@dataclass(frozen=True)
class FaceResponse:
    """How the measures move: matrix (len(FEATURES), len(shapes) + 2), the change of every measure at each shape's
    full weight, then per radian of gaze yaw and pitch (both eyes together); pose_matrix (len(FEATURES), 5), their
    change with the head's pose (`head_pose_terms`) on an expression-free face — a turned face foreshortens the
    measures, which would otherwise read as expressions; neutral (len(FEATURES),) the calibration face's own
    measures with the pose taken out: the reference for a face not yet seen long enough to have its own (a
    photo). Written by `eval face --calibrate` from renders of the default avatar
    (`pipeline.evaluation.face.calibrate`)."""

    shapes: tuple[str, ...]
    matrix: np.ndarray
    pose_matrix: np.ndarray
    noise: np.ndarray  # (len(FEATURES),) spread of each measure on the turned neutral face after the pose fit
    neutral: np.ndarray

    @classmethod
    def load(cls, path: Path = RESPONSE_FILE) -> FaceResponse:
        data = json.loads(Path(path).read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was calibrated for other measures; run `python main.py eval face --calibrate`")
        return cls(tuple(data["shapes"]), np.array(data["matrix"], np.float64), np.array(data["pose_matrix"]),
                   np.array(data["noise"]), np.array(data["neutral"]))

    def save(self, path: Path = RESPONSE_FILE) -> None:
        Path(path).write_text(json.dumps({"features": FEATURES, "shapes": self.shapes,
                                          "matrix": np.round(self.matrix, 5).tolist(),
                                          "pose_matrix": np.round(self.pose_matrix, 5).tolist(),
                                          "noise": np.round(self.noise, 5).tolist(),
                                          "neutral": np.round(self.neutral, 5).tolist()}, indent=1) + "\n")

    @functools.cached_property
    def _normal_system(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What `solve` needs that does not change from frame to frame: the normal matrix and the map from a
        change to the right-hand side (both noise-weighed), the bounds, and the priors' diagonals for picking
        the shapes present and for refitting them."""
        count = len(self.shapes)
        a = self.matrix / self.noise[:, None]
        low = np.concatenate([np.zeros(count), [-GAZE_LIMIT_RAD[0], -GAZE_LIMIT_RAD[1]]])
        high = np.concatenate([np.ones(count), GAZE_LIMIT_RAD])
        picking = np.array([LIGHT_PRIORS.get(name, PRIOR) for name in self.shapes] + [GAZE_PRIOR, GAZE_PRIOR])
        refitting = np.array([REFIT_PRIOR] * count + [GAZE_PRIOR, GAZE_PRIOR])
        return a.T @ a, a.T / self.noise, low, high, picking, refitting

    def solve(self, change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shape weights ((len(shapes),) in [0, 1]) and gaze ((2,) yaw, pitch radians) whose responses add up
        closest to `change` ((len(FEATURES),) measures minus the neutral ones), each measure weighed by its noise:
        bounded linear least squares — a blink and a squint both narrow the eye, a pucker and a funnel both narrow
        the mouth, and only the mix of every measure tells them apart."""
        count = len(self.shapes)
        normal, to_target, low, high, picking, refitting = self._normal_system
        target = to_target @ change

        def fit(columns: np.ndarray, prior: np.ndarray) -> np.ndarray:
            found = box_least_squares(normal[columns][:, columns] + np.diag(prior[columns]),
                                      target[columns], low[columns], high[columns])
            x = np.zeros(count + 2)
            x[columns] = found
            return x

        # A strong prior picks the shapes present, then a light one sets their weights: a prior strong enough
        # to keep noise out would also pull every real weight down by a third.
        everything = np.arange(count + 2)
        chosen = fit(everything, picking)
        x = fit(everything[(chosen > ACTIVE_WEIGHT) | (everything >= count)], refitting)
        return x[:count], x[count:]


def box_least_squares(hessian: np.ndarray, target: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """argmin ½ xᵀ H x − targetᵀ x subject to low ≤ x ≤ high, for a positive definite (n, n) H: the primal
    active-set method on the normal equations (exact, finite). For the reader's ~24 unknowns it takes ~30 µs;
    scipy's BVLS on the stacked system gave the same x in ~300 µs per call, mostly Python holding the GIL."""
    x = np.clip(np.linalg.solve(hessian, target), low, high)
    fixed = (x == low) | (x == high)
    for _ in range(4 * len(x) + 10):
        free = ~fixed
        candidate = x.copy()
        if free.any():
            rows = hessian[free]  # boolean masks: np.ix_ cost more than the solve at this size
            candidate[free] = np.linalg.solve(rows[:, free], target[free] - rows[:, fixed] @ x[fixed])
        step = candidate - x
        outside = free & ((candidate < low) | (candidate > high))
        if outside.any():  # go as far as the bounds allow; the first bound reached joins the fixed set
            limit = np.where(step < 0, (low - x) / np.where(step < 0, step, -1.0),
                             (high - x) / np.where(step > 0, step, 1.0))
            blocking = np.flatnonzero(outside)[np.argmin(limit[outside])]
            x = np.clip(x + max(0.0, float(limit[blocking])) * step, low, high)
            x[blocking] = low[blocking] if step[blocking] < 0 else high[blocking]
            fixed[blocking] = True
            continue
        x = candidate
        gradient = hessian @ x - target
        # A fixed variable may leave its bound when the gradient points into the box there.
        wants_out = fixed & (((x == low) & (gradient < 0)) | ((x == high) & (gradient > 0)))
        if not wants_out.any():
            return x
        fixed[np.flatnonzero(wants_out)[np.argmax(np.abs(gradient[wants_out]))]] = False
    raise RuntimeError("box_least_squares did not converge")  # a finite method: only a non-PD H gets here


@functools.lru_cache(maxsize=1)
def shipped_response() -> FaceResponse:
    """The calibration that ships with the app (`RESPONSE_FILE`), read once: every new person gets a reader."""
    return FaceResponse.load()


def gaze_rotation(yaw: float, pitch: float) -> np.ndarray:
    """(3,) axis-angle of an SMPL-X eye joint looking `yaw` radians to the subject's left and `pitch` up from
    straight ahead, relative to the head (smplx axes: x the subject's left, y up, z forward): the turn about y
    (towards +x) after the one about x (-pitch: +y up), composed as quaternions — closed form, a few µs."""
    cy, sy = math.cos(0.5 * yaw), math.sin(0.5 * yaw)
    cx, sx = math.cos(-0.5 * pitch), math.sin(-0.5 * pitch)
    w, v = cy * cx, np.array([cy * sx, sy * cx, -sy * sx])
    norm = float(np.linalg.norm(v))
    if norm < 1e-12:
        return np.zeros(3)
    return v * (2.0 * math.atan2(norm, w) / norm)


class FaceShapeReader:
    """Reads one person's face frame after frame (keeps their neutral reference): `read(mesh)`."""

    def __init__(self, response: FaceResponse | None = None) -> None:
        self.response = response or shipped_response()
        self._columns = np.array([ARKIT_INDEX[name] for name in self.response.shapes])
        self._neutral = NeutralReference(self.response.neutral)

    @property
    def calibrated(self) -> bool:
        return self._neutral.value is not None

    def read(self, mesh: np.ndarray) -> FaceReading:
        """The weights and gaze of a face mesh ((468 or 478, 3) pixels, MediaPipe's z scaled like x)."""
        span = float(np.linalg.norm(mesh[LEFT_EYE_OUTER] - mesh[RIGHT_EYE_OUTER]))
        trust = float(np.clip((span - UNREADABLE_EYE_SPAN_PX) / (READABLE_EYE_SPAN_PX - UNREADABLE_EYE_SPAN_PX),
                              0.0, 1.0))
        if trust == 0.0:  # too small to read; nor does it shape the person's neutral reference
            return FaceReading(np.zeros(NUM_ARKIT_SHAPES, np.float32), np.zeros((2, 2), np.float32), self.calibrated)
        measures, pose = face_features(mesh)
        features = measures - self.response.pose_matrix @ pose  # the head's pose taken out
        solved, gaze = self.response.solve(change_from(features, self._neutral.against(features)))
        if solved.max() < NEUTRAL_LOOKING:
            self._neutral.follow(features)
        weights = np.zeros(NUM_ARKIT_SHAPES, np.float32)
        weights[self._columns] = trust * solved
        if len(mesh) <= max(LEFT_IRIS, RIGHT_IRIS):
            gaze = np.zeros(2)  # no iris points: the eyes look straight ahead
        return FaceReading(weights, np.tile(trust * gaze, (2, 1)).astype(np.float32), self.calibrated)
