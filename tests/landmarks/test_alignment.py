"""Pixel alignment of the landmark fit: the fitted body, projected with the frame's intrinsics, lands on the
2-D landmarks even when MediaPipe's 3-D world landmarks have the wrong metric scale; and each track gets the
person's own size."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.body.metrics import reprojection_error_px
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX as J
from mocap_app.estimators.landmarks import HolisticLandmarks, LandmarkFitter, synthesize_landmarks
from mocap_app.estimators.landmarks import layout as L
from mocap_app.estimators.landmarks.fit import SCALE_FRAMES
from mocap_app.estimators.landmarks.synthetic import posed_joints

from .conftest import facing_camera, random_pose

BODY = slice(0, 22)


def mediapipe_like(obs: HolisticLandmarks, rng: np.random.Generator, world_scale: float) -> HolisticLandmarks:
    """MediaPipe's habits: world landmarks at its own (wrong) metric scale with 2 cm noise, pixels with 1 px noise."""
    return HolisticLandmarks(obs.pose_world * world_scale + rng.normal(0, 0.02, obs.pose_world.shape),
                             obs.pose_image + rng.normal(0, 1.0, obs.pose_image.shape), obs.pose_visibility,
                             obs.left_hand, obs.right_hand, obs.face)


def random_placement(rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.uniform(-0.4, 0.4), rng.uniform(-0.1, 0.3), rng.uniform(2.5, 4.5)])


@pytest.mark.parametrize("world_scale", [0.8, 1.1])
def test_fitted_body_lands_on_the_2d_landmarks_and_finds_its_depth(camera, world_scale):
    rng = np.random.default_rng(21)
    reprojection, depth_error = [], []
    for _ in range(12):
        pose, transl = random_pose(rng, rng.uniform(-1.5, 1.5)), random_placement(rng)
        fit = LandmarkFitter().fit(mediapipe_like(synthesize_landmarks(pose, transl, camera), rng, world_scale), camera)
        _, gt = posed_joints(pose, transl)
        _, est = posed_joints(fit.full_pose, fit.transl)
        reprojection.append(reprojection_error_px(est[BODY], gt[BODY], camera)[1])
        depth_error.append(abs(est[0, 2] - gt[0, 2]) / gt[0, 2])
    # Measured (seed 21, 12 poses, yaws within ±86°): worst 2.0 % of the height and 3.4 % of the depth at
    # world scale 0.8, 1.4 % / 2.0 % at 1.1; placing the body by solvePnP on the world landmarks alone
    # (before the alignment) gave 9.8 % / 21 % at 0.8 and 4.5 % / 11 % at 1.1.
    assert max(reprojection) < 2.5, reprojection
    assert max(depth_error) < 0.06, depth_error


def _with_image(obs: HolisticLandmarks, image: np.ndarray, vis: np.ndarray) -> HolisticLandmarks:
    return HolisticLandmarks(obs.pose_world, image, vis, obs.left_hand, obs.right_hand, obs.face)


def test_alignment_shrugs_off_a_confident_outlier(camera):
    errors = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        pose, transl = random_pose(rng, 0.4), np.array([0.1, 0.1, 3.0])
        obs = mediapipe_like(synthesize_landmarks(pose, transl, camera), rng, 0.9)
        image = obs.pose_image.copy()
        image[L.LEFT_WRIST] += (90.0, -60.0)  # a confident but wrong wrist (a swapped hand, a racket)
        fit = LandmarkFitter().fit(_with_image(obs, image, obs.pose_visibility), camera)
        _, gt = posed_joints(pose, transl)
        _, est = posed_joints(fit.full_pose, fit.transl)
        others = [j for j in range(22) if j != J["left_wrist"]]
        errors.append(reprojection_error_px(est[others], gt[others], camera)[1])
    # Measured (seeds 0-5): worst 1.8 %, mean 1.2 % of the height (0.5-1.4 % without the outlier); a plain
    # least-squares alignment (no Huber) gave worst 2.3 %, mean 2.0 %.
    assert max(errors) < 2.2, errors
    assert np.mean(errors) < 1.5, errors


def test_landmarks_out_of_frame_do_not_pull(camera):
    rng = np.random.default_rng(4)
    pose, transl = random_pose(rng, 0.4), np.array([0.1, 0.1, 3.0])
    obs = mediapipe_like(synthesize_landmarks(pose, transl, camera), rng, 0.9)
    image, vis = obs.pose_image.copy(), obs.pose_visibility.copy()
    foot = [L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX]
    image[foot] = (700.0, 520.0)  # MediaPipe's guess beyond the 640x480 frame...
    vis[foot] = 0.05  # ...marked not visible
    fit = LandmarkFitter().fit(_with_image(obs, image, vis), camera)
    _, gt = posed_joints(pose, transl)
    _, est = posed_joints(fit.full_pose, fit.transl)
    seen = [j for j in range(22) if j not in (J["right_ankle"], J["right_foot"])]
    assert reprojection_error_px(est[seen], gt[seen], camera)[1] < 2.0  # measured 1.52 % (1.51 % with the foot seen)
    assert abs(est[0, 2] - gt[0, 2]) < 0.1  # measured 5.5 cm (6.0 cm with the foot seen)


def test_a_kicking_leg_whose_3d_direction_is_off_is_turned_onto_its_2d_landmarks(camera):
    """The footballer's case: MediaPipe's 3-D puts the kicking leg 40° off (swung about the hip), its 2-D is right."""
    pose = np.zeros((55, 3))
    pose[0] = facing_camera(0.5)
    pose[J["right_hip"]], pose[J["right_knee"]] = (-1.3, 0.0, 0.2), (0.4, 0.0, 0.0)
    pose[J["left_shoulder"]], pose[J["right_shoulder"]] = (0.0, 0.0, -1.0), (0.0, 0.0, 1.0)
    transl = np.array([0.2, 0.0, 4.0])
    obs = synthesize_landmarks(pose, transl, camera)
    world = obs.pose_world.copy()
    swing = axis_angle_to_matrix(np.array([0.0, 0.0, np.radians(40.0)]))
    leg = [L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX]
    world[leg] = world[L.RIGHT_HIP] + (world[leg] - world[L.RIGHT_HIP]) @ swing.T
    wrong = HolisticLandmarks(world, obs.pose_image, obs.pose_visibility, obs.left_hand, obs.right_hand, obs.face)
    _, gt = posed_joints(pose, transl)
    fit = LandmarkFitter().fit(wrong, camera)
    _, est = posed_joints(fit.full_pose, fit.transl)
    error = np.linalg.norm(camera.project(est) - camera.project(gt), axis=1)
    rest_of_body = np.delete(error[BODY], [J["right_knee"], J["right_ankle"], J["right_foot"]])
    # Measured (the person ~220 px tall): ankle 4.3 px, the rest of the body within 6.0 px; with the
    # translation alone (align_steps=0) 19 px and 16 px.
    assert error[J["right_ankle"]] < 8.0
    assert rest_of_body.max() < 9.0


@pytest.mark.parametrize("size", [0.85, 1.15])
def test_short_and_tall_people_get_their_size_and_the_drawn_body_still_lands_on_them(camera, size):
    """A person `size` times the rest skeleton: the track's scale converges to it, `pelvis_m` is where the person
    stands, and the rest skeleton (the drawn body) at `transl` projects onto the person."""
    rng = np.random.default_rng(5)
    person = REST_JOINTS * size
    fitter, previous = LandmarkFitter(), None
    drawn_errors = []
    for _ in range(12):
        pose, transl = random_pose(rng, 0.3), np.array([0.1, 0.1, 3.5])
        obs = synthesize_landmarks(pose, transl, camera, rest_joints=person)
        obs = HolisticLandmarks(obs.pose_world + rng.normal(0, 0.02, obs.pose_world.shape), obs.pose_image,
                                obs.pose_visibility, obs.left_hand, obs.right_hand, obs.face)
        previous = fitter.fit(obs, camera, previous)
        _, gt = posed_joints(pose, transl, person)
        _, drawn = posed_joints(previous.full_pose, previous.transl)
        drawn_errors.append(reprojection_error_px(drawn[BODY], gt[BODY], camera)[1])
    assert previous.scale_frames == 12
    # Measured after 12 frames: 0.854 and 1.151; the pelvis 2 and 4 cm off; the drawn body within 2.1 % of
    # the height in every frame (the head and foot templates keep an adult's size).
    assert previous.scale == pytest.approx(size, abs=0.02)
    assert np.linalg.norm(previous.pelvis_m - gt[0]) < 0.1
    assert max(drawn_errors) < 3.0, drawn_errors


def test_scale_is_kept_after_the_first_frames_and_starts_afresh_per_track(camera):
    rng = np.random.default_rng(8)
    fitter = LandmarkFitter()
    pose, transl = random_pose(rng, 0.0), np.array([0.0, 0.1, 3.0])
    small = synthesize_landmarks(pose, transl, camera, rest_joints=REST_JOINTS * 0.9)
    large = synthesize_landmarks(pose, transl, camera, rest_joints=REST_JOINTS * 1.2)
    previous = None
    for _ in range(SCALE_FRAMES):
        previous = fitter.fit(small, camera, previous)
    assert previous.scale == pytest.approx(0.9, abs=0.01)
    later = fitter.fit(large, camera, previous)  # past the first frames: the size is settled
    assert (later.scale, later.scale_frames) == (previous.scale, SCALE_FRAMES)
    assert fitter.fit(large, camera).scale == pytest.approx(1.2, abs=0.01)  # a new track measures again


def test_reported_reprojection_error_is_in_pixels(camera):
    rng = np.random.default_rng(2)
    pose, transl = random_pose(rng, 0.2), np.array([0.0, 0.0, 3.0])
    obs = synthesize_landmarks(pose, transl, camera)
    assert LandmarkFitter().fit(obs, camera).reprojection_px < 0.5  # exact landmarks, same skeleton: measured 0.31
    shifted = HolisticLandmarks(obs.pose_world, obs.pose_image + rng.normal(0, 4.0, obs.pose_image.shape),
                                obs.pose_visibility, obs.left_hand, obs.right_hand, obs.face)
    # 4 px noise per axis (5 px apart on average), of which the fit follows a little: measured 3.5 px.
    assert 2.0 < LandmarkFitter().fit(shifted, camera).reprojection_px < 5.0
    out_of_frame = obs.pose_image + np.array([1000.0, 0.0])
    unseen = HolisticLandmarks(obs.pose_world, out_of_frame, np.zeros(33), obs.left_hand, obs.right_hand, obs.face)
    assert np.isnan(LandmarkFitter().fit(unseen, camera).reprojection_px)
