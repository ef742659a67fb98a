"""`eval real`: the annotation loader, PCK, and the annotations shipped in tests/data/real."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mocap_app.pipeline.evaluation.keypoints import MAIN_JOINTS, match_people, pck
from mocap_app.pipeline.evaluation.real import (
    AnnotatedImage,
    AnnotatedPerson,
    AnnotationError,
    load_annotations,
    score_image,
)

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def _write(folder: Path, images: list, **top) -> Path:
    (folder / "a.jpg").write_bytes(b"not decoded by the loader")
    path = folder / "keypoints.json"
    path.write_text(json.dumps({"format": "mocap-keypoints-2d", "version": 1, "images": images, **top}))
    return path


def test_loader_reads_joints_visibility_height_and_box(tmp_path):
    _write(tmp_path, [{"file": "a.jpg", "people": [
        {"box": [10, 20, 110, 420], "keypoints": {"head": [60, 50, 2], "left_knee": [70, 300, 1],
                                                  "right_ankle": [0, 0, 0]}}]}])
    annotations = load_annotations(tmp_path)  # the folder: keypoints.json inside it
    person = annotations.images[0].people[0]
    assert person.height_px == 400.0  # the box's height when height_px is not given
    assert person.visible.tolist() == [name in ("head", "left_knee") for name in MAIN_JOINTS]
    assert person.keypoints[MAIN_JOINTS.index("left_knee")].tolist() == [70.0, 300.0]
    assert annotations.images[0].file == tmp_path / "a.jpg"


@pytest.mark.parametrize(("images", "top", "message"), [
    ([{"file": "a.jpg", "people": [{"keypoints": {"nose": [1, 2, 2]}, "height_px": 9}]}], {}, "unknown joint"),
    ([{"file": "a.jpg", "people": [{"keypoints": {"head": [1, 2, 2]}}]}], {}, "height_px"),
    ([{"file": "a.jpg", "people": [{"keypoints": {"head": [1, 2]}, "height_px": 9}]}], {}, "[x, y, v]"),
    ([{"file": "b.jpg", "people": []}], {}, "not found"),
    ([], {}, "non-empty"),
    ([{"file": "a.jpg", "people": []}], {"version": 2}, "version 1"),
    ([{"frame": 3, "people": []}], {"video": "missing.mp4"}, "does not exist"),
])
def test_loader_names_what_is_wrong(tmp_path, images, top, message):
    path = _write(tmp_path, images, **top)
    with pytest.raises(AnnotationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_annotations(path)


def test_missing_file_is_an_error_with_a_hint(tmp_path):
    with pytest.raises(AnnotationError) as info:
        load_annotations(tmp_path)
    assert "keypoints.json" in info.value.hint


def test_pck_counts_errors_under_a_tenth_of_the_height():
    errors = np.array([5.0, 9.9, 10.0, 30.0, np.nan])
    assert pck(errors, 100.0) == pytest.approx(0.5)  # 2 of the 4 placed joints within 10 px
    assert pck(errors, 400.0) == pytest.approx(1.0)
    assert np.isnan(pck(np.array([np.nan]), 100.0))


def _person(offset: float, height: float = 200.0) -> AnnotatedPerson:
    keypoints = np.stack([np.full(len(MAIN_JOINTS), offset), np.linspace(0, height, len(MAIN_JOINTS))], axis=1)
    return AnnotatedPerson(keypoints, np.ones(len(MAIN_JOINTS), bool), height)


def test_score_matches_people_one_to_one_and_scores_a_missed_person_zero():
    left, right = _person(100.0), _person(400.0)
    image = AnnotatedImage("two.jpg", (left, right))
    estimate = right.keypoints.copy()
    estimate[:3] += [0.0, 25.0]  # 3 joints off by 25 px (> 0.1 x 200), 10 within
    score, relative = score_image(image, estimate[None])
    assert score.matched == 1 and score.joints == 26
    assert score.pck == pytest.approx(10 / 26)  # the left person, not estimated, scores 0 on all 13
    assert np.isinf(relative[0]).all() and relative[1, 0] == pytest.approx(0.125)


def test_match_people_leaves_far_estimates_unmatched():
    truth = _person(100.0).keypoints[None]
    far = truth + np.array([300.0, 0.0])
    assert match_people(far, truth, [200.0]) == []
    assert [m.person for m in match_people(np.concatenate([far, truth]), truth, [200.0])] == [0]


def test_shipped_annotations_load_and_name_source_and_licence():
    annotations = load_annotations(REAL)
    assert len(annotations.images) >= 3
    raw = json.loads((REAL / "keypoints.json").read_text())
    for entry, image in zip(raw["images"], annotations.images, strict=True):
        assert entry["source"] and entry["licence"]
        assert image.file.stat().st_size < 200_000  # small test data
        for person in image.people:
            assert person.visible.sum() >= 3
            height, width = 600, 512
            placed = person.keypoints[person.visible]
            assert ((placed >= 0) & (placed <= [width, height])).all()
    assert (REAL / "README.md").is_file()


def test_eval_real_command_writes_a_score_per_image(tmp_path, capsys):
    from mocap_app.cli.app import main

    out = tmp_path / "real.json"
    with pytest.raises(SystemExit) as info:
        main(["eval", "real", str(REAL), "--json", str(out)])
    assert info.value.code == 0
    figures = json.loads(out.read_text())
    assert [i["name"] for i in figures["images"]] == ["astronaut.jpg", "camera.jpg", "grace_hopper.jpg"]
    assert figures["joints"] == 18 and 0.0 <= figures["pck"] <= 1.0
    assert "PCK@0.1" in capsys.readouterr().out


def test_eval_real_on_a_broken_file_is_a_user_error(tmp_path, capsys):
    from mocap_app.cli.app import main

    (tmp_path / "keypoints.json").write_text("{")
    with pytest.raises(SystemExit) as info:
        main(["eval", "real", str(tmp_path)])
    assert info.value.code == 1
    assert "not readable JSON" in capsys.readouterr().err
