"""SMPL-X expression and jaw fitted to the face mesh through SMPL-X's landmark embedding: the MediaPipe → iBUG
correspondence, the landmark model against smplx's own posing, known expressions recovered from noisy turned
faces, and the estimator filling `expression` only with the user's model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mocap_app.body.face_landmarks import FIRST_IBUG, MEDIAPIPE_IBUG, FaceLandmarkModel
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.estimators.landmarks import LandmarkEstimator
from mocap_app.estimators.landmarks.expression import ExpressionFitter, PoseDrift
from mocap_app.estimators.landmarks.face_shapes import NEUTRAL_FRAMES
from mocap_app.estimators.landmarks.synthetic import synthesize_landmarks

from .conftest import random_pose

TO_IMAGE = np.diag([1.0, -1.0, -1.0])  # smplx model axes (y up, z forward) → image axes (y down, z away)
PX_PER_M = 1000.0  # 90 px between the outer eye corners, as on the face calibration renders
CENTRE = np.array([320.0, 240.0, 0.0])  # where the face is in the image (pixels)
NO_DRIFT = PoseDrift(np.zeros((51, 3, 5)))  # synthetic faces turn rigidly: MediaPipe's drift is its own


@pytest.fixture(scope="module")
def face_model(smplx_model) -> FaceLandmarkModel:
    return FaceLandmarkModel.from_smplx(smplx_model)


def face_mesh(landmarks: np.ndarray, head: np.ndarray, rng: np.random.Generator, noise_px: float) -> np.ndarray:
    """(478, 3) a MediaPipe face mesh in pixels whose iBUG points are `landmarks` ((51, 3) smplx model coordinates)
    turned by the head's axis-angle `head`, with Gaussian noise; the other points scattered over the face."""
    mesh = rng.uniform(-60.0, 60.0, (478, 3)) + CENTRE
    points = landmarks @ axis_angle_to_matrix(head).T @ TO_IMAGE * PX_PER_M + CENTRE
    mesh[MEDIAPIPE_IBUG] = points + rng.normal(0.0, noise_px, points.shape)
    return mesh


def calibrated_fitter(model: FaceLandmarkModel, person: np.ndarray, rng: np.random.Generator,
                      noise_px: float) -> ExpressionFitter:
    """A fitter that has seen `NEUTRAL_FRAMES` neutral frames of the face `model.rest + person`, the head moving."""
    fitter = ExpressionFitter(model, NO_DRIFT)
    for _ in range(NEUTRAL_FRAMES):
        reading = fitter.fit(face_mesh(model.rest + person, rng.normal(0.0, 0.1, 3), rng, noise_px))
    assert reading.calibrated
    return fitter


def test_the_correspondence_is_51_distinct_points_on_the_matching_mediapipe_contours():
    from mediapipe.python.solutions import face_mesh_connections as contours

    assert MEDIAPIPE_IBUG.shape == (51,) and len(set(MEDIAPIPE_IBUG.tolist())) == 51
    assert MEDIAPIPE_IBUG.min() >= 0 and MEDIAPIPE_IBUG.max() < 468  # the mesh proper, not the iris points

    def on(contour, first: int, last: int) -> bool:
        points = {p for edge in contour for p in edge}
        return set(MEDIAPIPE_IBUG[first - FIRST_IBUG:last - FIRST_IBUG + 1].tolist()) <= points

    assert on(contours.FACEMESH_RIGHT_EYEBROW, 17, 21) and on(contours.FACEMESH_LEFT_EYEBROW, 22, 26)
    assert on(contours.FACEMESH_NOSE, 27, 35)
    assert on(contours.FACEMESH_RIGHT_EYE, 36, 41) and on(contours.FACEMESH_LEFT_EYE, 42, 47)
    assert on(contours.FACEMESH_LIPS, 48, 67)
    # The eye corners and mouth corners `face_shapes` reads (subject's right, then left).
    assert MEDIAPIPE_IBUG[[36 - 17, 39 - 17, 42 - 17, 45 - 17, 48 - 17, 54 - 17]].tolist() == [33, 133, 362, 263,
                                                                                                   61, 291]


def test_the_landmark_model_is_smplx_posing_the_expression_and_jaw(smplx_model, face_model):
    rng = np.random.default_rng(0)
    expression, jaw = rng.uniform(-2.0, 2.0, 10), 0.35
    params = SmplxParams.neutral(CameraIntrinsics.from_fov(640, 480), expression=expression,
                                 jaw_pose=[jaw, 0.0, 0.0], transl=np.zeros(3))
    vertices = smplx_model.forward(params).vertices[0].astype(np.float64)  # the mesh the overlay draws
    faces, bary = smplx_model.face_landmark_embedding
    posed = np.einsum("lk,lkc->lc", bary, vertices[smplx_model.faces[faces]])
    landmarks, jacobian = face_model.evaluate(expression, jaw)
    assert np.abs(posed - face_model.rest).max() > 0.01  # the SMPL-X mesh shows expression and jaw
    np.testing.assert_allclose(landmarks, posed, atol=1e-6)  # smplx poses in float32: measured 3e-8 m
    step = 1e-6
    numeric = np.stack([(face_model.evaluate(expression + step * d[:10], jaw + step * d[10])[0]
                         - face_model.evaluate(expression - step * d[:10], jaw - step * d[10])[0]) / (2 * step)
                        for d in np.eye(11)], axis=-1)
    np.testing.assert_allclose(jacobian, numeric, atol=1e-7)  # central differences: measured 8e-11


def test_known_expressions_and_jaw_openings_are_recovered_from_turned_noisy_faces(face_model):
    rng = np.random.default_rng(1)
    errors, jaw_errors = [], []
    for _ in range(20):
        person = rng.normal(0.0, 0.003, face_model.rest.shape)  # their own face: 3 mm from SMPL-X's per point
        fitter = calibrated_fitter(face_model, person, rng, noise_px=0.5)
        expression, jaw = rng.uniform(-2.0, 2.0, 10), rng.uniform(0.0, 0.4)
        moved = face_model.evaluate(expression, jaw)[0] - face_model.rest
        fit = fitter.fit(face_mesh(face_model.rest + person + moved, rng.normal(0.0, 0.3, 3), rng, noise_px=0.5))
        errors.append(np.abs(fit.expression - expression))
        jaw_errors.append(abs(fit.jaw - jaw))
    # The synthetic model's expression moves its landmarks 1-4 mm per unit (the real one's move several times
    # more), so 0.5 px (0.5 mm) of noise and the ridge prior leave mean / 90th-percentile / largest errors of
    # 0.09 / 0.18-0.20 / 0.33-0.41 coefficient and jaws within 0.017-0.031 rad (measured on three seeds).
    assert np.mean(errors) < 0.15 and np.percentile(errors, 90) < 0.3
    assert max(jaw_errors) < 0.05


def test_a_neutral_face_turned_reads_as_no_expression(face_model):
    rng = np.random.default_rng(2)
    person = rng.normal(0.0, 0.003, face_model.rest.shape)
    fitter = calibrated_fitter(face_model, person, rng, noise_px=0.0)
    for head in ([0.0, 0.7, 0.0], [0.4, 0.0, 0.0], [0.2, -0.5, 0.3]):  # 40 degrees of yaw, 23 of pitch, a mix
        fit = fitter.fit(face_mesh(face_model.rest + person, np.array(head), rng, noise_px=0.0))
        # the similarity takes the turn out exactly: measured 3e-14
        assert np.abs(fit.expression).max() < 1e-6 and fit.jaw < 1e-6, head
    largest = []
    for _ in range(20):
        person = rng.normal(0.0, 0.003, face_model.rest.shape)
        fitter = calibrated_fitter(face_model, person, rng, noise_px=0.5)
        largest.append(np.abs(fitter.fit(face_mesh(face_model.rest + person, rng.normal(0.0, 0.4, 3), rng,
                                                   noise_px=0.5)).expression).max())
    assert max(largest) < 0.5  # what 0.5 px of noise alone reads: measured 0.16 on average, at most 0.26


def test_a_small_face_is_read_with_a_stronger_prior(face_model):
    rng = np.random.default_rng(3)
    expression = np.zeros(10)
    expression[0] = 2.0
    moved = face_model.evaluate(expression, 0.0)[0] - face_model.rest
    read = {}
    for px_per_m in (1000.0, 200.0):  # 90 and 18 px between the eye corners
        fitter = ExpressionFitter(face_model, NO_DRIFT)
        for _ in range(NEUTRAL_FRAMES):
            fitter.fit(face_mesh(face_model.rest * px_per_m / PX_PER_M, np.zeros(3), rng, 0.0))
        read[px_per_m] = fitter.fit(face_mesh((face_model.rest + moved) * px_per_m / PX_PER_M, np.zeros(3), rng,
                                              0.0)).expression[0]
    assert read[1000.0] > 1.9  # measured 1.99 (the prior's pull)
    assert read[200.0] < 0.95 * read[1000.0]  # measured 1.76: a coarse face's read is shrunk towards neutral


def test_the_estimator_fills_the_expression_only_with_the_users_smplx_model(face_model, camera):
    rng = np.random.default_rng(4)
    obs = synthesize_landmarks(random_pose(rng, 0.0), np.array([0.0, 0.0, 3.0]), camera)
    params = SmplxParams.neutral(camera)
    expression = np.zeros(10)
    expression[:3] = (1.5, -1.0, 0.8)
    smiling = face_model.evaluate(expression, 0.2)[0]
    estimators = {"model": LandmarkEstimator(face_model=face_model), "none": LandmarkEstimator(),
                  "off": LandmarkEstimator(face="off", face_model=face_model)}
    read = {}
    for name, estimator in estimators.items():
        for _ in range(NEUTRAL_FRAMES):
            estimator._with_face(params, dataclasses.replace(obs, face_mesh=face_mesh(face_model.rest, np.zeros(3),
                                                                                        rng, 0.2)), 0)
        read[name] = estimator._with_face(params, dataclasses.replace(obs, face_mesh=face_mesh(smiling, np.zeros(3),
                                                                                                 rng, 0.2)), 0)
    np.testing.assert_allclose(read["model"].expression, expression, atol=0.2)  # 0.2 px noise: measured 0.06
    assert abs(read["model"].jaw_pose[0] - 0.2) < 0.02  # measured 0.003
    assert not read["none"].expression.any() and not read["off"].expression.any()


@pytest.fixture(scope="module")
def rendered_fits(face_model):
    """The default avatar (kept out of the drift's calibration) rendered and read by MediaPipe as in the app."""
    from mocap_app.body.avatar import AnnyAvatar
    from mocap_app.core.face import ARKIT_INDEX
    from mocap_app.pipeline.evaluation.face import FaceRenderer, FaceShot, _read_sequence
    from mocap_app.render.offscreen import MeshRenderer
    from mocap_app.render.synthetic import room_background

    camera = CameraIntrinsics.from_fov(640, 480)
    person = FaceRenderer(AnnyAvatar().load(), (0.8, 0.62, 0.5), camera)

    def shot(name: str | None = None, head=(0.0, 0.0)) -> FaceShot:
        weights = np.zeros(52)
        if name:
            weights[ARKIT_INDEX[name]] = 1.0
        return FaceShot(weights, np.zeros((2, 2)), head, "test")

    rng = np.random.default_rng(5)
    held = [shot(head=tuple(rng.uniform(-3.0, 3.0, 2))) for _ in range(NEUTRAL_FRAMES)]
    held += [shot(head=(25.0, 0.0))] * 3 + [shot(head=(-20.0, 8.0))] * 3 + [shot("jawOpen")] * 3 \
        + [shot("jawOpen", (20.0, 0.0))] * 3 + [shot("mouthSmileLeft")] * 3
    renderer = MeshRenderer(640, 480)
    try:
        images = [person.render(renderer, s, room_background(640, 480, 1)) for s in held]
    finally:
        renderer.close()
    fitter = ExpressionFitter(face_model)
    return [fitter.fit(mesh) for mesh in _read_sequence(images)]


def test_rendered_head_turns_read_as_little_expression_and_an_open_mouth_as_the_jaw(rendered_fits):
    turned, turned_up, jaw_open, jaw_open_turned, smile = (rendered_fits[NEUTRAL_FRAMES + 3 * k + 2]
                                                           for k in range(5))
    # Measured (this machine's x86-64, MediaPipe's XNNPACK), in the synthetic model's coefficients: the turned
    # heads' largest |ψ| 0.15 and 0.21 (over a wider set of turns up to 0.7, and 1.5 without the drift
    # correction), their jaws 0.004 and 0 rad; the open mouth's jaw 0.27 (0.32 turned), the smile's 0 with |ψ| up
    # to 1.3. Bounds leave room for another CPU's kernels.
    for fit in (turned, turned_up):
        assert np.abs(fit.expression).max() < 1.0 and fit.jaw < 0.08
    assert jaw_open.jaw > 0.15 and jaw_open_turned.jaw > 0.15
    assert smile.jaw < 0.08 and np.abs(smile.expression).max() > 0.5  # a smile is an expression, not a jaw


def test_the_pipeline_gives_the_default_estimators_the_users_face_model(smplx_body_models, tmp_path):
    from mocap_app.core.config import load_config
    from mocap_app.pipeline.process import ProcessOptions, build_estimators, close_all

    for overrides, fitted in (([f"paths.body_models={smplx_body_models}"], True),
                              ([f"paths.body_models={tmp_path}"], False),  # no SMPL-X files
                              ([f"paths.body_models={smplx_body_models}", "model.face=off"], False)):
        config = load_config(None, ["model.estimator=default", *overrides])
        estimators = build_estimators(ProcessOptions.from_settings(config), config)
        assert estimators and all((e.face_model is not None) == fitted for e in estimators), overrides
        close_all(estimators)
