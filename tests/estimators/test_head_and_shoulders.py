"""A head-and-shoulders view (a webcam at a desk, the app's first use) still gives a body with --max-people 1:
the subject follower hands the whole frame over when its detector finds nobody, and a big person's crop is
retried without its black padding."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mocap_app.core.config import load_config
from mocap_app.core.frames import Detection, Frame
from mocap_app.detect import SubjectFollower
from mocap_app.pipeline.process import ProcessOptions, build_detection, build_estimators, close_all

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


class NobodyDetector:
    def detect_rgb(self, rgb: np.ndarray) -> list[Detection]:
        return []

    def detect_once(self, rgb: np.ndarray) -> list[Detection]:
        return []


def test_the_follower_hands_over_the_whole_frame_when_its_detector_finds_nobody() -> None:
    follower = SubjectFollower(NobodyDetector())
    frame = Frame(image=np.zeros((240, 320, 3), np.uint8), index=0, timestamp_ns=0, source="test")
    (whole,) = follower.detect(frame)
    np.testing.assert_array_equal(whole.box, [0, 0, 320, 240])
    assert whole.track_id == 0 and follower.subject_id is None


def test_seated_head_and_shoulders_photos_give_a_body() -> None:
    """camera.jpg (scikit-image, CC0) and grace_hopper.jpg (matplotlib, public domain): before, the detector's
    box padded to a 1.25x square hid the person from holistic (camera) and the guessed hips far below the frame
    put the torso outside the box (both): no body."""
    options = ProcessOptions()
    config = load_config()
    estimator = build_estimators(options, config)[0]
    follower, _ = build_detection(options)
    try:
        for name in ("camera.jpg", "grace_hopper.jpg"):
            estimator.reset()
            follower.reset()
            frame = Frame(image=cv2.imread(str(REAL / name)), index=0, timestamp_ns=0, source=name)
            bodies = estimator.estimate(frame, follower.detect(frame))
            assert len(bodies) == 1, name
    finally:
        close_all([estimator, follower])
