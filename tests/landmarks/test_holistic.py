"""The estimator with real MediaPipe holistic on a photograph, offline."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import Detection, Frame
from mocap_app.core.params import SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX as J
from mocap_app.estimators.base import Estimator
from mocap_app.estimators.landmarks import HolisticTracker, LandmarkEstimator

# NASA's public-domain astronaut portrait (Eileen Collins), as shipped by scikit-image.
ASTRONAUT = Path(__file__).resolve().parents[1] / "data" / "landmarks" / "astronaut.jpg"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("complexity", [0, 2])
def test_model_complexities_that_would_download_are_refused(offline, complexity):
    with pytest.raises(ConfigError, match="not available offline"):
        HolisticTracker(model_complexity=complexity)


def _check(params: SmplxParams) -> None:
    for name in ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose", "transl"):
        assert np.isfinite(getattr(params, name)).all(), name
    assert params.body_pose.shape == (21, 3) and params.left_hand_pose.shape == (15, 3)
    orient = axis_angle_to_matrix(params.global_orient.astype(np.float64))
    assert (orient @ [0, 0, 1])[2] < -0.5  # she faces the camera
    assert (orient @ [0, 1, 0])[1] < -0.5  # upright (camera y points down)
    assert params.transl[2] > 0.3
    assert params.joint_confidence[J["jaw"]] == 1.0  # the face mesh was found
    assert params.joint_confidence[J["left_shoulder"]] > 0.5
    assert (params.joint_confidence[25:] == 0.0).all()  # no hands in the picture: kept neutral
    assert np.abs(params.left_hand_pose).max() == 0.0


def test_estimator_finds_the_astronaut_offline(offline):
    image = cv2.resize(cv2.imread(str(ASTRONAUT)), (640, 480))
    estimator = LandmarkEstimator()
    assert isinstance(estimator, Estimator)
    try:
        for index in range(3):
            whole = estimator.estimate(Frame(image, index, time.perf_counter_ns()), [])
        assert len(whole) == 1 and whole[0].track_id == 0 and whole[0].frame_index == 2
        _check(whole[0])
        assert estimator.timing.holistic_ms > 0 and estimator.timing.fit_ms > 0
        box = Detection(np.array([120.0, 20.0, 560.0, 480.0]), 0.9, track_id=7)
        for index in range(3, 6):
            cropped = estimator.estimate(Frame(image, index, time.perf_counter_ns()), [box])
        assert len(cropped) == 1 and cropped[0].track_id == 7
        _check(cropped[0])
        # Same photo, same camera: the crop must land the body where the whole-frame run put it.
        assert np.linalg.norm(cropped[0].transl - whole[0].transl) < 0.15
    finally:
        estimator.close()


def test_estimator_reports_nobody_on_an_empty_image(offline):
    estimator = LandmarkEstimator()
    try:
        blank = np.full((480, 640, 3), 90, dtype=np.uint8)
        assert estimator.estimate(Frame(blank, 0, 0), []) == []
    finally:
        estimator.close()
