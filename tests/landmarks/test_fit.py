"""The landmark fit on synthetic MediaPipe-like landmarks made from known SMPL-X poses."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.body.metrics import pa_mpjpe
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX as J
from mocap_app.estimators.landmarks import HolisticLandmarks, LandmarkFitter, synthesize_landmarks
from mocap_app.estimators.landmarks import layout as L
from mocap_app.estimators.landmarks.fit import HOLD_DECAY, LIMIT_HIGH, LIMIT_LOW, OCCLUDED_CONFIDENCE
from mocap_app.estimators.landmarks.synthetic import posed_joints

from .conftest import FINGERS, facing_camera, random_pose

BODY = slice(0, 22)


def bend_angle(joints: np.ndarray, a: int, b: int, c: int) -> float:
    u, v = joints[b] - joints[a], joints[c] - joints[b]
    return float(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))


def angle_between(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))


def fit_errors(pose: np.ndarray, transl: np.ndarray, camera, obs: HolisticLandmarks | None = None,
               **fitter_args) -> tuple[float, float, np.ndarray, np.ndarray]:
    obs = obs or synthesize_landmarks(pose, transl, camera)
    fit = LandmarkFitter(**fitter_args).fit(obs, camera)
    _, gt = posed_joints(pose, transl)
    _, est = posed_joints(fit.full_pose, fit.transl)
    pa = pa_mpjpe(est[BODY], gt[BODY])
    mpjpe = float(np.linalg.norm(est[BODY] - gt[BODY], axis=1).mean())
    return pa, mpjpe, gt, est


@pytest.mark.parametrize("yaw", [0.0, 0.6, -1.0, np.pi / 2])
def test_body_fit_recovers_random_poses(camera, yaw):
    rng = np.random.default_rng(int(10 * abs(yaw)) + 1)
    pa_errors, errors, bend_errors = [], [], []
    for _ in range(8):
        pose = random_pose(rng, yaw)
        transl = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), rng.uniform(2.5, 4.0)])
        pa, mpjpe, gt, est = fit_errors(pose, transl, camera)
        pa_errors.append(pa)
        errors.append(mpjpe)
        for chain in (("left_shoulder", "left_elbow", "left_wrist"), ("right_hip", "right_knee", "right_ankle")):
            ids = [J[n] for n in chain]
            bend_errors.append(abs(bend_angle(est, *ids) - bend_angle(gt, *ids)))
    # Exact landmarks: what is left is the unobserved spine/collar split.
    assert np.mean(pa_errors) < 0.015, pa_errors
    assert np.mean(errors) < 0.03, errors
    assert np.degrees(max(bend_errors)) < 3.0


def test_body_fit_tolerates_landmark_noise(camera):
    rng = np.random.default_rng(7)
    pa_errors = []
    for _ in range(10):
        pose = random_pose(rng, rng.uniform(-0.8, 0.8))
        transl = np.array([0.0, 0.1, 3.0])
        clean = synthesize_landmarks(pose, transl, camera)
        noisy = HolisticLandmarks(pose_world=clean.pose_world + rng.normal(0, 0.01, clean.pose_world.shape),
                                  pose_image=clean.pose_image + rng.normal(0, 2.0, clean.pose_image.shape),
                                  pose_visibility=clean.pose_visibility, left_hand=clean.left_hand,
                                  right_hand=clean.right_hand, face=clean.face)
        pa_errors.append(fit_errors(pose, transl, camera, noisy)[0])
    assert np.mean(pa_errors) < 0.03, pa_errors


def test_refinement_does_not_hurt_the_ik(camera):
    rng = np.random.default_rng(3)
    cases = [(random_pose(rng, 0.3), np.array([0.1, 0.0, 3.0])) for _ in range(6)]
    ik_only = np.mean([fit_errors(p, t, camera, refine_steps=0)[0] for p, t in cases])
    refined = np.mean([fit_errors(p, t, camera, refine_steps=2)[0] for p, t in cases])
    assert refined <= ik_only + 1e-4


def test_global_orient_is_in_the_opencv_camera_frame(camera):
    """Hand-made MediaPipe world landmarks of an upright person facing the camera (x right, y down, z away)."""
    world = np.zeros((33, 3))
    world[L.LEFT_HIP], world[L.RIGHT_HIP] = (0.1, 0.0, 0.0), (-0.1, 0.0, 0.0)
    world[L.LEFT_SHOULDER], world[L.RIGHT_SHOULDER] = (0.18, -0.5, 0.0), (-0.18, -0.5, 0.0)
    for i, (x, y) in {L.LEFT_KNEE: (0.1, 0.4), L.RIGHT_KNEE: (-0.1, 0.4), L.LEFT_ANKLE: (0.1, 0.8),
                      L.RIGHT_ANKLE: (-0.1, 0.8), L.LEFT_ELBOW: (0.2, -0.25), L.RIGHT_ELBOW: (-0.2, -0.25),
                      L.LEFT_WRIST: (0.2, 0.0), L.RIGHT_WRIST: (-0.2, 0.0)}.items():
        world[i] = (x, y, 0.0)
    depth = 3.0
    image = np.stack([camera.fx * world[:, 0] / (world[:, 2] + depth) + camera.cx,
                      camera.fy * world[:, 1] / (world[:, 2] + depth) + camera.cy], axis=1)
    vis = np.zeros(33)
    vis[list(L.BODY_LANDMARKS.values())] = 1.0
    fit = LandmarkFitter().fit(HolisticLandmarks(world, image, vis), camera)
    orient = axis_angle_to_matrix(fit.full_pose[0])
    assert orient @ np.array([0, 1, 0]) == pytest.approx([0, -1, 0], abs=0.05)  # model up → camera up (−y)
    assert orient @ np.array([0, 0, 1]) == pytest.approx([0, 0, -1], abs=0.05)  # facing the camera
    assert orient @ np.array([1, 0, 0]) == pytest.approx([1, 0, 0], abs=0.05)  # subject's left → image right
    assert fit.transl[2] == pytest.approx(depth, abs=0.05)
    assert fit.transl[1] < -0.05  # the pelvis is above the hip midpoint (camera y points down)


def test_hand_flexion_and_spread_recovered(camera):
    pose = np.zeros((55, 3))
    pose[0] = facing_camera(0.3)
    pose[J["left_shoulder"]], pose[J["right_shoulder"]] = (0, 0, -1.0), (0, 0, 1.0)  # arms down, hands visible
    pose[J["left_elbow"]], pose[J["right_elbow"]] = (0, -1.0, 0), (0, 1.0, 0)
    flex = {"index": 0.2, "middle": 0.6, "ring": 1.0, "pinky": 1.3}
    for finger, angle in flex.items():
        for k in (1, 2, 3):
            pose[J[f"left_{finger}{k}"]] = (0.0, 0.0, -angle)
            pose[J[f"right_{finger}{k}"]] = (0.0, 0.15 if k == 1 else 0.0, angle)  # right MCPs also spread
    transl = np.array([0.0, 0.0, 2.0])
    fit = LandmarkFitter().fit(synthesize_landmarks(pose, transl, camera), camera)
    g_gt, gt = posed_joints(pose, transl)
    g_est, est = posed_joints(fit.full_pose, fit.transl)
    for side in ("left", "right"):
        for finger in FINGERS:
            ids = [J[f"{side}_{finger}{k}"] for k in (1, 2, 3)]
            last = REST_JOINTS[ids[2]] - REST_JOINTS[ids[1]]
            # Segment directions (what the landmarks fix; a bone's roll about itself is not observed).
            segs_gt = [gt[ids[1]] - gt[ids[0]], gt[ids[2]] - gt[ids[1]], g_gt[ids[2]] @ last]
            segs_est = [est[ids[1]] - est[ids[0]], est[ids[2]] - est[ids[1]], g_est[ids[2]] @ last]
            for a, b in zip(segs_gt, segs_est, strict=True):
                assert np.degrees(angle_between(a, b)) < 2.0, (side, finger)
            for k in (0, 1):  # flexion at the PIP and DIP joints
                flex_gt = angle_between(segs_gt[k], segs_gt[k + 1])
                flex_est = angle_between(segs_est[k], segs_est[k + 1])
                assert np.degrees(abs(flex_gt - flex_est)) < 2.0, (side, finger, k)
    assert (fit.joint_confidence[25:] == 1.0).all()


def test_jaw_follows_mouth_opening(camera):
    recovered = []
    for jaw in (0.0, 0.1, 0.2, 0.35):
        pose = np.zeros((55, 3))
        pose[0] = facing_camera(0.0)
        pose[J["jaw"]] = (jaw, 0.0, 0.0)
        fit = LandmarkFitter().fit(synthesize_landmarks(pose, np.array([0.0, 0.0, 2.5]), camera), camera)
        recovered.append(fit.full_pose[J["jaw"], 0])
        assert fit.full_pose[J["jaw"], 0] == pytest.approx(jaw, abs=0.04)
    assert np.all(np.diff(recovered) > 0)


def _leg_off_frame(obs: HolisticLandmarks) -> HolisticLandmarks:
    """The left knee, ankle and foot below the bottom of the image, reported not visible (a webcam framing)."""
    legs = [L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX]
    vis, image = obs.pose_visibility.copy(), obs.pose_image.copy()
    vis[legs] = 0.1
    image[legs, 1] = 480 + 50.0
    return HolisticLandmarks(obs.pose_world, image, vis, obs.left_hand, obs.right_hand, obs.face)


def test_unseen_parts_hold_then_fade_and_are_marked(camera):
    rng = np.random.default_rng(11)
    pose = random_pose(rng, 0.2)
    transl = np.array([0.0, 0.0, 3.0])
    fitter = LandmarkFitter()
    first = fitter.fit(synthesize_landmarks(pose, transl, camera), camera)
    unseen = _leg_off_frame(synthesize_landmarks(random_pose(rng, 0.2), transl, camera, hands=False, face=False))
    second = fitter.fit(unseen, camera, previous=first)
    held = [J["left_hip"], J["left_knee"], J["left_ankle"], J["jaw"], *range(25, 55)]
    assert (second.joint_confidence[held] == 0.0).all()
    assert second.full_pose[held] == pytest.approx(first.full_pose[held] * HOLD_DECAY, abs=1e-6)
    assert (second.joint_confidence[[J["right_knee"], J["left_elbow"]]] > 0.5).all()
    fresh = fitter.fit(unseen, camera)  # nothing to hold: the neutral pose
    assert np.abs(fresh.full_pose[held]).max() < 1e-6


def test_occluded_landmarks_inside_the_image_are_fitted_with_low_confidence(camera):
    rng = np.random.default_rng(12)
    pose = random_pose(rng, 1.2)
    transl = np.array([0.0, 0.0, 3.0])
    vis = np.ones(33)
    vis[[L.LEFT_ELBOW, L.LEFT_WRIST]] = 0.05  # behind the body, yet MediaPipe places them
    fit = LandmarkFitter().fit(synthesize_landmarks(pose, transl, camera, visibility=vis), camera)
    assert fit.joint_confidence[J["left_elbow"]] == OCCLUDED_CONFIDENCE
    _, gt = posed_joints(pose, transl)
    _, est = posed_joints(fit.full_pose, fit.transl)
    assert np.linalg.norm(est[J["left_wrist"]] - gt[J["left_wrist"]]) < 0.03


def test_outputs_stay_within_joint_limits(camera):
    rng = np.random.default_rng(5)
    limited = np.isfinite(LIMIT_LOW).any(axis=1)
    for _ in range(10):
        pose = random_pose(rng, rng.uniform(-1, 1))
        clean = synthesize_landmarks(pose, np.array([0.0, 0.0, 3.0]), camera)
        noisy = HolisticLandmarks(clean.pose_world + rng.normal(0, 0.05, clean.pose_world.shape), clean.pose_image,
                                  clean.pose_visibility, clean.left_hand + rng.normal(0, 3.0, (21, 3)),
                                  clean.right_hand, clean.face)
        fit = LandmarkFitter().fit(noisy, camera)
        aa = fit.full_pose[limited]
        assert (aa >= LIMIT_LOW[limited] - 1e-6).all() and (aa <= LIMIT_HIGH[limited] + 1e-6).all()
        assert np.isfinite(fit.transl).all()


def test_refinement_takes_up_what_a_joint_limit_holds_back(camera):
    """Shoulders turned 110° against the hips: the spine joints stop at their twist limit, and the
    refinement moves the joints still free (the collars) towards the shoulder line that is seen."""
    pose = np.zeros((55, 3))
    pose[0] = facing_camera(0.2)
    for name in ("spine1", "spine2", "spine3"):
        pose[J[name]] = (0.0, 0.65, 0.0)  # 0.15 rad past the 0.5 limit each
    transl = np.array([0.0, 0.0, 3.0])
    obs = synthesize_landmarks(pose, transl, camera, hands=False, face=False)
    _, gt = posed_joints(pose, transl)
    shoulders = [J["right_shoulder"], J["left_shoulder"]]
    line_errors = []
    for steps in (0, 2):  # translation-only image alignment: the limbs stay as the IK and refinement left them
        fit = LandmarkFitter(refine_steps=steps, align_steps=0).fit(obs, camera)
        assert np.abs(fit.full_pose[J["spine2"], 1]) <= LIMIT_HIGH[J["spine2"], 1] + 1e-6
        _, est = posed_joints(fit.full_pose, fit.transl)
        line_errors.append(angle_between(est[shoulders[1]] - est[shoulders[0]], gt[shoulders[1]] - gt[shoulders[0]]))
    assert np.degrees(line_errors[0]) > 5.0  # the limit alone leaves the shoulders short of their turn
    assert line_errors[1] < line_errors[0] - np.radians(0.5)
