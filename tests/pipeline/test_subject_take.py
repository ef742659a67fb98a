"""One subject, true timing, end to end: a two-person take where the subject walks out of the frame and back,
processed by `main.py process` (the default: --max-people 1) and its files re-read by independent readers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.frames import Frame
from mocap_app.detect import BlazePoseDetector, DetectorConfig, SubjectFollower, iou_matrix
from mocap_app.estimators.landmarks import LandmarkEstimator
from mocap_app.export.npz import load_exported_npz
from tests.detect.scenes import Placement, compose, crossing, walk_out_and_back, write_take
from tests.export.conftest import read_with

from .test_process_cli import run_main

FPS = 15.0
FRAMES = 45


def read_fbx_seconds(path: Path) -> float:
    """Animation length read by ufbx (an independent C reader), in a subprocess (its binding can crash)."""
    code = ("import json, sys, ufbx\n"
            "stack = list(ufbx.load_file(sys.argv[1]).anim_stacks)[0]\n"
            "print(json.dumps(stack.time_end - stack.time_begin))\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_subject_who_walks_out_and_back_is_the_only_one_exported_with_a_gap_and_the_takes_duration(
        tmp_path: Path) -> None:
    """~8 s: 45 frames at 15 fps, the subject away for 15 of them."""
    for reader in ("ufbx", "bvhio", "pygltflib"):
        pytest.importorskip(reader)
    truth = write_take(tmp_path / "take.mp4", walk_out_and_back(FRAMES), FPS)
    outputs = [tmp_path / f"take.{suffix}" for suffix in ("fbx", "bvh", "glb", "npz")]
    result = run_main("process", str(tmp_path / "take.mp4"), *[a for p in outputs for a in ("-o", str(p))],
                      timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["take.mp4", *(p.name for p in outputs)])  # one each
    duration = (FRAMES - 1) / FPS  # first frame to last, as the video

    clip = load_exported_npz(tmp_path / "take.npz")
    assert clip.num_frames == FRAMES and clip.fps == FPS
    np.testing.assert_array_equal(clip.frame_index, np.arange(FRAMES))
    seen = clip.confidence > 0
    for i in np.flatnonzero(seen):  # every measured frame is the subject, never the person standing at the left
        other, subject = truth[i]
        assert subject is not None and iou_matrix(clip.box[i][None], subject[None])[0, 0] >= 0.4
        assert iou_matrix(clip.box[i][None], other[None])[0, 0] < 0.2
    away = [i for i, (_, subject) in enumerate(truth) if subject is None]
    assert len(away) >= 10 and not seen[away].any()  # a gap while they are away: marked, confidence 0
    assert not clip.joint_confidence[away].any()
    assert seen[:8].all() and seen[-5:].all()  # followed from the start, found again when back
    gap = np.flatnonzero(~seen)
    np.testing.assert_array_equal(clip.full_pose()[gap], clip.full_pose()[np.repeat(gap[0] - 1, len(gap))])  # held

    assert abs(read_fbx_seconds(tmp_path / "take.fbx") - duration) <= 1e-3
    bvh = read_with("bvhio", tmp_path / "take.bvh", [0])
    assert bvh["frame_count"] == FRAMES and abs(bvh["frame_time"] - 1 / FPS) < 1e-6
    glb = read_with("gltf", tmp_path / "take.glb", [0])
    assert glb["num_keys"] == FRAMES and abs(glb["time_end"] - duration) <= 1e-3


def test_landmarks_on_the_crop_give_small_people_a_body() -> None:
    """Holistic on the whole frame finds nobody under ~200 px tall in 640x480 (measured: 0/48 at 150 px, 17/24 at
    200 px); on the subject's crop (square, 1.25x the box, enlarged to 256 px) a 120-px person gets a body in
    >= 95 % of the frames (measured 46/48: the 2 frames before the detector first finds them)."""
    detector = BlazePoseDetector(DetectorConfig(max_people=4))
    follower, estimator = SubjectFollower(detector), LandmarkEstimator()
    bodies = 0
    try:
        for t in range(48):
            image, (box,) = compose([Placement("avatar_000" if t % 6 < 3 else "avatar_015", 120, 160 + 320 * t / 47,
                                               360)])
            frame = Frame(np.ascontiguousarray(image[..., ::-1]), t, t * 33_333_333)
            persons = follower.detect(frame)
            people = estimator.estimate(frame, persons) if persons else []
            for person in people:
                centre = np.asarray(person.box)
                assert iou_matrix(centre[None], box[None])[0, 0] >= 0.4
            bodies += len(people)
    finally:
        estimator.close()
        detector.close()
    assert bodies >= 0.95 * 48, bodies


@pytest.mark.parametrize("subject_in_front", [True, False])
def test_two_parallel_workers_give_bodies_of_the_subject_only_while_people_cross(subject_in_front: bool) -> None:
    """The default pipeline's two MediaPipe workers on alternate frames, both given the subject's box: every body
    (its root projected into the image) stands inside the subject's silhouette box, none on the other person."""
    detector = BlazePoseDetector(DetectorConfig(max_people=4))
    follower, workers = SubjectFollower(detector), [LandmarkEstimator(), LandmarkEstimator()]
    s, o = (1, 0) if subject_in_front else (0, 1)
    bodies = 0
    try:
        for t, people in enumerate(crossing(40, subject_in_front)):
            image, boxes = compose(people)
            frame = Frame(np.ascontiguousarray(image[..., ::-1]), t, t * 66_666_667)
            persons = follower.detect(frame)
            for body in workers[t % 2].estimate(frame, persons) if persons else []:
                x, _, z = body.transl
                u = body.camera.fx * x / z + body.camera.cx
                subject, other = boxes[s], boxes[o]
                assert subject[0] - 10 <= u <= subject[2] + 10, (t, u, subject)
                assert iou_matrix(np.asarray(body.box)[None], subject[None])[0, 0] > iou_matrix(
                    np.asarray(body.box)[None], other[None])[0, 0]
                bodies += 1
    finally:
        for worker in workers:
            worker.close()
        detector.close()
    assert bodies >= 22  # measured 24 of 40 both ways: a gap while the two overlap
