from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap_app.body.kinematics import posed_joints
from mocap_app.body.motions import MOTIONS, make_motion, place_in_camera
from mocap_app.capture import VideoFileSource
from mocap_app.core import CameraIntrinsics, MotionClip
from mocap_app.core.skeleton import JOINT_INDEX
from mocap_app.render.synthetic import room_background

ROOT = Path(__file__).resolve().parents[2]
CAMERA = CameraIntrinsics.from_fov(640, 480)
FEET = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]


@pytest.mark.parametrize("name", sorted(MOTIONS))
def test_motions_stand_on_the_floor_in_view_of_the_camera(name: str) -> None:
    params = place_in_camera(make_motion(name, 40), CAMERA, distance_m=3.0, floor_offset_m=0.9)
    joints = posed_joints(params)
    np.testing.assert_allclose(joints[:, FEET, 1].max(axis=1), 0.9, atol=1e-9)  # y down: feet lowest
    assert np.all(joints[:, JOINT_INDEX["head"], 1] < joints[:, 0, 1])  # head above the pelvis
    pixels = joints[..., :2] / joints[..., 2:] * [CAMERA.fx, CAMERA.fy] + [CAMERA.cx, CAMERA.cy]
    assert np.all((pixels > 0) & (pixels < [CAMERA.width, CAMERA.height]))
    assert all(p.frame_index == i for i, p in enumerate(params))


def test_a_body_facing_the_camera_has_its_left_on_the_image_right() -> None:
    (params,) = place_in_camera(make_motion("arms_raise", 1), CAMERA)
    joints = posed_joints([params])[0]
    assert joints[JOINT_INDEX["left_wrist"], 0] > joints[JOINT_INDEX["right_wrist"], 0]
    side = posed_joints(place_in_camera(make_motion("arms_raise", 1), CAMERA, yaw_deg=90))[0]
    # Turned 90°: facing the image's right, the right shoulder nearer the camera than the left.
    assert side[JOINT_INDEX["right_shoulder"], 2] < side[JOINT_INDEX["left_shoulder"], 2] - 0.2
    assert side[JOINT_INDEX["left_foot"], 0] > side[JOINT_INDEX["left_ankle"], 0]  # toes point right


def test_motion_content() -> None:
    raise_ = posed_joints(place_in_camera(make_motion("arms_raise", 21), CAMERA))
    mid, start = raise_[10], raise_[0]
    for side in ("left", "right"):
        wrist, shoulder = JOINT_INDEX[f"{side}_wrist"], JOINT_INDEX[f"{side}_shoulder"]
        assert start[wrist, 1] > start[shoulder, 1] + 0.3  # arms hang at the start
        assert mid[wrist, 1] < mid[shoulder, 1] - 0.2  # raised above the shoulders midway
    squat = posed_joints(place_in_camera(make_motion("squat", 21), CAMERA))
    assert squat[10, 0, 1] - squat[0, 0, 1] > 0.2  # the pelvis drops by more than 20 cm
    talk = make_motion("look_and_talk", 30).pose
    assert talk[:, JOINT_INDEX["jaw"], 0].max() > 0.3


def test_room_background_is_deterministic_and_textured() -> None:
    a, b = room_background(320, 240, seed=3), room_background(320, 240, seed=3)
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert a.std() > 10


def test_the_sample_clip_matches_its_ground_truth() -> None:
    source = VideoFileSource(ROOT / "assets" / "samples" / "demo.mp4")
    truth = MotionClip.load(ROOT / "assets" / "samples" / "demo_truth.npz")
    assert (source.info.width, source.info.height, source.info.fps) == (640, 480, 30.0)
    assert source.info.frame_count == truth.num_frames == 150 and truth.fps == 30.0
    source.close()
