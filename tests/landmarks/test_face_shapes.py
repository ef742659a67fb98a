"""The face reader: measures that ignore the head's pose, weights unmixed from the measured responses, a neutral
reference per person; and the whole path (render → MediaPipe → reader) on a few shots of the avatar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.face import ARKIT_INDEX
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.estimators.landmarks.face_shapes import (
    FEATURES,
    NEUTRAL_FRAMES,
    FaceResponse,
    FaceShapeReader,
    face_features,
)


def synthetic_mesh(rng: np.random.Generator) -> np.ndarray:
    """(478, 3) points standing in for a face mesh (pixels): only their arrangement matters here."""
    return rng.uniform(-60.0, 60.0, (478, 3)) + np.array([320.0, 240.0, 0.0])


def test_measures_do_not_change_when_the_whole_face_turns_moves_or_scales():
    mesh = synthetic_mesh(np.random.default_rng(1))
    measures, pose = face_features(mesh)
    centre = mesh.mean(axis=0)
    turned = (mesh - centre) @ axis_angle_to_matrix(np.array([0.1, -0.3, 0.05])).T * 1.4 + centre + (30, -12, 5)
    measures_turned, pose_turned = face_features(turned)
    np.testing.assert_allclose(measures_turned, measures, atol=1e-9)
    assert not np.allclose(pose_turned, pose)  # the pose terms are where the turn shows


def test_the_solver_unmixes_shapes_that_move_the_same_measures():
    response = FaceResponse.load()
    for mix in ({"eyeBlinkLeft": 1.0, "mouthSmileRight": 1.0}, {"jawOpen": 1.0, "eyeBlinkRight": 1.0},
                {"jawOpen": 0.7}, {"mouthSmileRight": 0.6}):
        truth = np.zeros(len(response.shapes))
        for name, value in mix.items():
            truth[response.shapes.index(name)] = value
        weights, gaze = response.solve(response.matrix @ np.concatenate([truth, [0.2, 0.0]]))
        # The priors shrink a little: measured within 0.03 of every weight and 0.003 rad of the gaze
        # (deterministic: scipy's BVLS on fixed inputs).
        np.testing.assert_allclose(weights, truth, atol=0.06, err_msg=str(mix))
        np.testing.assert_allclose(gaze, [0.2, 0.0], atol=0.01, err_msg=str(mix))
    noise = np.random.default_rng(2).normal(0.0, 1.0, len(FEATURES)) * response.noise
    quiet, _ = response.solve(noise)  # a neutral face's own noise reads as nothing
    assert quiet.max() < 0.3, dict(zip(response.shapes, quiet.round(2), strict=True))


def test_each_person_is_read_against_their_own_neutral_face():
    response = FaceResponse.load()
    rng = np.random.default_rng(3)
    reader = FaceShapeReader(response)
    mesh = synthetic_mesh(rng)
    for _ in range(NEUTRAL_FRAMES):
        reading = reader.read(mesh + rng.normal(0.0, 0.05, mesh.shape))
    assert reading.calibrated
    assert reader.read(mesh).weights.max() < 0.05  # whatever this face looks like, it is their neutral
    assert not FaceShapeReader(response).read(mesh).calibrated


@pytest.fixture(scope="module")
def rendered_reads():
    from mocap_app.body.avatar import AnnyAvatar
    from mocap_app.core.frames import CameraIntrinsics
    from mocap_app.pipeline.evaluation.face import FaceRenderer, FaceShot, _read_sequence
    from mocap_app.render.offscreen import MeshRenderer
    from mocap_app.render.synthetic import room_background

    camera = CameraIntrinsics.from_fov(640, 480)
    person = FaceRenderer(AnnyAvatar().load(), (0.8, 0.62, 0.5), camera)
    blank = np.zeros(52)

    def shot(name: str | None = None, head=(0.0, 0.0), gaze=(0.0, 0.0)) -> FaceShot:
        weights = blank.copy()
        if name:
            weights[ARKIT_INDEX[name]] = 1.0
        return FaceShot(weights, np.radians([gaze, gaze]), head, "test")

    held = [shot()] * NEUTRAL_FRAMES + [shot("eyeBlinkLeft")] * 3 + [shot("mouthSmileRight")] * 3 \
        + [shot(head=(25.0, 8.0))] * 3 + [shot(gaze=(15.0, 0.0))] * 3
    renderer = MeshRenderer(640, 480)
    try:
        images = [person.render(renderer, s, room_background(640, 480, 1)) for s in held]
    finally:
        renderer.close()
    reader = FaceShapeReader()
    return [reader.read(mesh) for mesh in _read_sequence(images)]


def test_a_rendered_blink_smile_gaze_and_head_turn_read_as_such(rendered_reads):
    blink, smile, turn, gaze = (rendered_reads[NEUTRAL_FRAMES + 3 * k + 2] for k in range(4))
    # Measured on this render (Zen 4, MediaPipe's XNNPACK): blink 0.97 (other eye 0), smile 0.97, turned head's
    # largest weight 0, gaze (17.0, -5.6) deg for (15, 0) — 5.9 deg off, single shots of eval face range 0-12 deg
    # around their 4.6 mean; bounds leave room for another CPU's kernels.
    assert blink.weights[ARKIT_INDEX["eyeBlinkLeft"]] > 0.7 and blink.weights[ARKIT_INDEX["eyeBlinkRight"]] < 0.3
    assert smile.weights[ARKIT_INDEX["mouthSmileRight"]] > 0.5
    assert turn.weights.max() < 0.3  # a turned head is not an expression
    yaw, pitch = np.degrees(gaze.gaze[0])
    assert abs(yaw - 15.0) < 5.0 and abs(pitch) < 9.0


def test_a_face_too_small_to_read_gives_no_expression_and_leaves_the_reference_alone():
    from mocap_app.estimators.landmarks.face_shapes import (
        LEFT_EYE_OUTER,
        READABLE_EYE_SPAN_PX,
        RIGHT_EYE_OUTER,
        UNREADABLE_EYE_SPAN_PX,
    )

    rng = np.random.default_rng(4)
    neutral = synthetic_mesh(rng)
    expressive = neutral + rng.normal(0.0, 6.0, neutral.shape)  # a face that reads as some expression
    centre = neutral.mean(axis=0)

    def at_span(mesh: np.ndarray, span_px: float) -> np.ndarray:
        span = np.linalg.norm(mesh[LEFT_EYE_OUTER] - mesh[RIGHT_EYE_OUTER])
        return (mesh - centre) * (span_px / span) + centre

    reader = FaceShapeReader()
    for _ in range(NEUTRAL_FRAMES):
        reader.read(at_span(neutral, 2 * READABLE_EYE_SPAN_PX))
    full = reader.read(at_span(expressive, 2 * READABLE_EYE_SPAN_PX))
    assert full.weights.max() > 0.3 and np.abs(full.gaze).max() > 0  # the test face does read as something
    tiny = reader.read(at_span(expressive, UNREADABLE_EYE_SPAN_PX - 1))
    assert tiny.weights.max() == 0.0 and np.abs(tiny.gaze).max() == 0.0
    # The measures are scale-free, so halfway between the spans the same face reads at half weight.
    half = reader.read(at_span(expressive, 0.5 * (UNREADABLE_EYE_SPAN_PX + READABLE_EYE_SPAN_PX)))
    np.testing.assert_allclose(half.weights, 0.5 * full.weights, atol=1e-6)
    fresh = FaceShapeReader()
    for _ in range(NEUTRAL_FRAMES):
        fresh.read(at_span(expressive, UNREADABLE_EYE_SPAN_PX - 1))
    assert not fresh.calibrated  # tiny faces never became anyone's neutral


def test_photos_read_against_the_calibration_face():
    """A single photo has no neutral of its own: scikit-image's astronaut (Eileen Collins, smiling) must read as
    a smile with open eyes. Measured (Zen 4): smile L/R 1.00/1.00, blinks 0; Grace Hopper's slight smile
    0.43/0.71; the cameraman's right eye, half shut behind his camera, eyeBlinkRight 0.49."""
    import cv2

    from mocap_app.estimators.landmarks.holistic import HolisticTracker

    photo = Path(__file__).resolve().parents[1] / "data" / "real" / "astronaut.jpg"
    rgb = np.ascontiguousarray(cv2.imread(str(photo))[:, :, ::-1])
    with HolisticTracker(refine_face=True) as tracker:
        observed = tracker.process(rgb)
    assert observed is not None and observed.face_mesh is not None
    weights = FaceShapeReader().read(observed.face_mesh).weights
    assert weights[ARKIT_INDEX["mouthSmileLeft"]] >= 0.5 and weights[ARKIT_INDEX["mouthSmileRight"]] >= 0.5
    assert weights[ARKIT_INDEX["eyeBlinkLeft"]] <= 0.3 and weights[ARKIT_INDEX["eyeBlinkRight"]] <= 0.3


def test_box_least_squares_is_bvls():
    """The reader's bounded solver against scipy's BVLS on random problems of its size: the same minimiser (both
    exact; measured worst difference 1e-14 over 2000 problems)."""
    from scipy.optimize import lsq_linear

    from mocap_app.estimators.landmarks.face_shapes import box_least_squares

    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(2, 26))
        a, b = rng.normal(size=(n + 10, n)), rng.normal(size=n + 10) * rng.uniform(0.1, 10.0)
        prior = rng.uniform(0.01, 5.0, n)
        low = -rng.uniform(0.0, 1.0, n) * (rng.random(n) < 0.5)
        high = low + rng.uniform(0.1, 2.0, n)
        expected = lsq_linear(np.vstack([a, np.diag(np.sqrt(prior))]), np.concatenate([b, np.zeros(n)]),
                              bounds=(low, high), method="bvls", tol=1e-12).x
        found = box_least_squares(a.T @ a + np.diag(prior), a.T @ b, low, high)
        np.testing.assert_allclose(found, expected, atol=1e-9)


def test_gaze_rotation_is_the_turn_about_y_after_the_one_about_x():
    """The closed form against scipy's Euler composition (R = R_y(yaw) R_x(-pitch)) over the eyes' whole range
    and beyond: float64 round-off only (measured worst 4e-16)."""
    from scipy.spatial.transform import Rotation

    from mocap_app.estimators.landmarks.face_shapes import gaze_rotation

    for yaw in np.linspace(-1.2, 1.2, 13):
        for pitch in np.linspace(-1.0, 1.0, 11):
            expected = Rotation.from_euler("YX", [yaw, -pitch]).as_rotvec()
            np.testing.assert_allclose(gaze_rotation(float(yaw), float(pitch)), expected, atol=1e-12)
