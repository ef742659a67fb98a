"""`eval conditions`: the identity-switch and phantom counters, scoring on hand-made outputs, and one small
render of every condition's scenes (slow: builds the avatar's shapes and renders with OpenGL)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mocap_app.body.kinematics import posed_joints
from mocap_app.body.motions import make_motion, place_in_camera
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.pipeline.evaluation.conditions import (
    SHAPES,
    ConditionReport,
    RenderedScene,
    TruePerson,
    acceptance,
    conditions,
    identity_switches,
    phantom_frames,
    score_condition,
)
from mocap_app.pipeline.evaluation.keypoints import MAIN_JOINT_INDEX
from mocap_app.pipeline.evaluation.runs import FrameOutput

CAMERA = CameraIntrinsics.from_fov(640, 480)


def test_identity_switches_count_changes_of_a_true_persons_track():
    assert identity_switches([{0: 5, 1: 6}, {0: 5, 1: 6}, {0: 5}, {0: 5, 1: 6}]) == 0  # a gap is not a switch
    assert identity_switches([{0: 5, 1: 6}, {0: 6, 1: 5}, {0: 6, 1: 5}]) == 2  # swapped once: both change
    assert identity_switches([{0: 1}, {0: 2}, {0: 1}]) == 2
    assert identity_switches([]) == 0


def test_phantom_frames_count_frames_with_any_unmatched_estimate():
    assert phantom_frames([0, 0, 1, 2, 0]) == 2
    assert phantom_frames([]) == 0


def _truth(track_id: int, x_m: float, frames: int = 6) -> list[TruePerson]:
    params = place_in_camera(make_motion("arms_raise", frames), CAMERA, track_id=track_id)
    params = [dataclasses.replace(p, transl=p.transl + np.array([x_m, 0, 0], np.float32)) for p in params]
    joints = posed_joints(params, REST_JOINTS)
    people = []
    for p, j in zip(params, joints, strict=True):
        keypoints = CAMERA.project(j[MAIN_JOINT_INDEX])
        box = np.array([*keypoints.min(0), *keypoints.max(0)])
        people.append(TruePerson(track_id, keypoints, float(box[3] - box[1]), box, p, REST_JOINTS))
    return people


def test_perfect_estimates_score_no_error_and_a_swap_and_a_phantom_are_counted():
    a, b = _truth(0, -0.8), _truth(1, 0.8)
    frames = [[]] + [[x, y] for x, y in zip(a, b, strict=True)] + [[]]  # an empty frame before and after
    scene = RenderedScene([np.zeros((2, 2, 3), np.uint8)] * len(frames), frames)
    condition = conditions(4)["crossing"]
    exact = [FrameOutput(i, [t.params for t in truth], [t.params for t in truth]) for i, truth in enumerate(frames)]
    report = score_condition(condition, [scene], [exact])
    assert report.person_frames == 12 and report.detection_rate == 1.0
    assert report.identity_switches == 0 and report.phantom_frames == 0
    assert report.reprojection_px == pytest.approx(0.0, abs=1e-3) and report.mpjpe_mm == pytest.approx(0.0, abs=1e-3)

    def relabel(p, track_id):
        return dataclasses.replace(p, track_id=track_id)

    swapped = [FrameOutput(i, [relabel(t.params, t.track_id if i < 4 else 1 - t.track_id) for t in truth], [])
               for i, truth in enumerate(frames)]
    swapped[-1] = FrameOutput(len(frames) - 1, [a[-1].params], [])  # a body where nobody is
    report = score_condition(condition, [scene], [swapped])
    assert report.identity_switches == 2 and report.phantom_frames == 1 and report.detection_rate == 1.0

    missing = [FrameOutput(i, [t.params for t in truth[:1]], []) for i, truth in enumerate(frames)]
    assert score_condition(condition, [scene], [missing]).detection_rate == pytest.approx(0.5)


def test_condition_table_covers_the_issues_list():
    table = conditions(4)
    assert {"yaw0", "yaw45", "yaw90", "yaw135", "yaw180", "occluded", "small200px", "small120px", "small100px",
            "crossing"} <= set(table)
    assert table["crossing"].max_people == 2 and all(len(s.actors) == 2 for s in table["crossing"].scenes)
    assert all(s.occluder is not None for s in table["occluded"].scenes)
    for condition in table.values():
        for scene in condition.scenes:
            assert all(actor.shape in SHAPES for actor in scene.actors)
    assert {a.shape for s in table["yaw0"].scenes for a in s.actors} == set(SHAPES) - {"anny"}


@pytest.mark.slow
def test_every_condition_renders_with_truth_inside_the_frame():
    from mocap_app.body.avatar import AnnyAvatar
    from mocap_app.pipeline.evaluation import conditions as module
    from mocap_app.render.offscreen import MeshRenderer
    from mocap_app.render.synthetic import room_background

    base = AnnyAvatar(progress=lambda line: None).load()
    bodies = {shape: module._body(module.shaped_avatar(base, values)) for shape, values in SHAPES.items()}
    heights = {shape: body.height_m for shape, body in bodies.items()}
    assert heights["tall_slim"] > heights["anny"] + 0.1 > heights["short_muscular"] + 0.1
    background = room_background(640, 480)
    renderer = MeshRenderer(640, 480)
    try:
        for name, condition in conditions(2).items():
            scene = condition.scenes[0]
            rendered = module.render_scene(scene, renderer, bodies, CAMERA, background, empty_frames=1)
            assert len(rendered.images) == len(rendered.truth) == scene.frames + 2
            assert rendered.truth[0] == [] and rendered.truth[-1] == []
            assert np.array_equal(rendered.images[0], background)
            for image, truth in zip(rendered.images[1:-1], rendered.truth[1:-1], strict=True):
                assert len(truth) == len(scene.actors)
                assert not np.array_equal(image, background)
                for person in truth:
                    assert (person.keypoints >= 0).all() and (person.keypoints <= [640, 480]).all(), name
                    if name.startswith("small"):
                        assert person.height_px == pytest.approx(int(name[5:-2]), rel=0.1)
    finally:
        renderer.close()


@pytest.mark.slow
def test_front_facing_condition_through_the_pipeline_meets_the_issues_figures():
    from mocap_app.core.config import AppConfig
    from mocap_app.pipeline.evaluation.conditions import evaluate

    report, = evaluate(["yaw0"], AppConfig(), frames=6)
    assert report.detection_rate >= 0.95
    assert report.phantom_frames == 0 and report.identity_switches == 0
    assert report.reprojection_pct <= 3.0


def _report(name: str, **figures) -> ConditionReport:
    values = dict(frames=10, person_frames=8, height_px=200.0, detection_rate=1.0, identity_switches=0,
                  phantom_frames=0, shown_phantom_frames=0, reprojection_px=4.0, reprojection_pct=2.0, mpjpe_mm=70.0,
                  pa_mpjpe_mm=50.0)
    return ConditionReport(name, "", **{**values, **figures})


def test_acceptance_names_the_worst_condition_of_each_criterion():
    reports = [_report("yaw0"), _report("yaw180", reprojection_pct=18.0), _report("crossing", identity_switches=1),
               _report("small120px", detection_rate=0.9), _report("small100px", detection_rate=0.5)]
    criteria = {c.name.split(",")[0]: c for c in acceptance(reports)}
    assert not criteria["2-D error % of height"].passed and "yaw180" in criteria["2-D error % of height"].name
    assert not criteria["identity switches"].passed
    assert criteria["phantom frames"].passed
    detection = criteria["detection rate"]
    assert detection.value == 0.9 and "small120px" in detection.name  # 100 px people are below the limit
    assert all(c.passed for c in acceptance([_report("yaw0"), _report("crossing")]))
