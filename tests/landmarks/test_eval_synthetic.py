"""`eval synthetic` pieces: the metrics, and the landmark estimator on a few avatar renders scored at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap_app.body.metrics import mpjpe, pa_mpjpe, reprojection_error_px, rotation_errors_deg
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.pipeline.evaluation.synthetic import evaluate_view

ROOT = Path(__file__).resolve().parents[2]


def test_pa_mpjpe_ignores_similarity_transforms_and_sees_pose_changes():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(22, 3))
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    moved = 1.3 * joints @ rotation.T + [0.5, -2.0, 3.0]
    assert pa_mpjpe(moved, joints) == pytest.approx(0.0, abs=1e-9)
    bent = joints.copy()
    bent[5] += [0.1, 0.0, 0.0]
    assert 0.002 < pa_mpjpe(bent, joints) < 0.1 / 4  # spread over all joints, well under the 10 cm moved


def test_rotation_errors_are_geodesic_degrees():
    a = np.zeros((3, 3))
    b = np.array([[0.0, 0.0, np.radians(30)], [np.radians(90), 0, 0], [0.0, 0.0, 0.0]])
    assert rotation_errors_deg(a, b) == pytest.approx([30.0, 90.0, 0.0], abs=1e-6)


def test_mpjpe_and_reprojection_error_see_translation_and_depth():
    camera = CameraIntrinsics.from_fov(640, 480)
    rng = np.random.default_rng(1)
    joints = rng.normal(scale=0.3, size=(22, 3)) + np.array([0.0, 0.0, 3.0])
    moved = joints + np.array([0.05, 0.0, 0.0])
    assert mpjpe(moved, joints) == pytest.approx(0.05)
    assert pa_mpjpe(moved, joints) == pytest.approx(0.0, abs=1e-9)
    px, pct = reprojection_error_px(moved, joints, camera)
    assert px == pytest.approx(0.05 * camera.fx / 3.0, rel=0.15)  # 5 cm sideways at ~3 m: ~9 px
    height = np.ptp(camera.fy * joints[:, 1] / joints[:, 2])
    assert pct == pytest.approx(100.0 * px / height)
    # Twice as far and twice as large: the same image, a large MPJPE.
    far = joints * 2.0
    assert reprojection_error_px(far, joints, camera)[0] == pytest.approx(0.0, abs=1e-9)
    assert mpjpe(far, joints) > 2.5


@pytest.mark.slow
def test_landmark_estimator_on_front_facing_avatar_renders():
    from mocap_app.body.avatar import AnnyAvatar, AvatarCache
    from mocap_app.body.motions import make_motion, place_in_camera
    from mocap_app.estimators.landmarks import LandmarkEstimator
    from mocap_app.render.offscreen import MeshRenderer
    from mocap_app.render.synthetic import render_motion, room_background

    camera = CameraIntrinsics.from_fov(640, 480)
    avatar = AnnyAvatar(cache=AvatarCache(ROOT / ".cache" / "anny", ROOT / ".cache" / "warp"),
                        progress=lambda line: None).load()
    skeleton = avatar.rest_joints().astype(np.float64)
    truth, starts = [], []
    for name in ("arms_raise", "look_and_talk"):
        starts.append(len(truth))
        truth += place_in_camera(make_motion(name, 8), camera, yaw_deg=0.0, rest_joints=skeleton)
    renderer = MeshRenderer(640, 480)
    try:
        renders = list(render_motion(renderer, avatar.meshes, truth, camera, room_background(640, 480)))
    finally:
        renderer.close()
    report = evaluate_view(lambda: LandmarkEstimator(intrinsics=camera), renders, truth, skeleton, 0.0, starts)
    assert report.detection_rate >= 0.9
    assert report.body_pa_mpjpe_mm <= 60.0  # the acceptance for front-facing renders
    assert report.jaw_angle_deg < 10.0
    # Fitted on the body that is drawn (the avatar's skeleton), the body lands on the person: the issue asks
    # for a median reprojection error <= 3 % of the height. Measured here 0.9 % (PA-MPJPE 25 mm); fitted on
    # the reference skeleton and drawn as the avatar, 4.2 % (PA-MPJPE 35 mm).
    drawn = evaluate_view(lambda: LandmarkEstimator(skeleton, intrinsics=camera), renders, truth, skeleton, 0.0,
                          starts)
    assert drawn.reprojection_pct_height <= 3.0
    assert drawn.body_pa_mpjpe_mm <= 60.0
