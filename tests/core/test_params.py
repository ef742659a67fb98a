from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core import CameraIntrinsics, ClipFormatError, MotionClip, SmplxParams
from mocap_app.core.params import PARAM_FIELDS, POSE_FIELDS, SHAPE_FIELDS, join_full_pose, split_full_pose


def random_params(rng: np.random.Generator, frame_index: int, track_id: int = 7) -> SmplxParams:
    values = {name: rng.normal(scale=0.3, size=shape) for name, shape in PARAM_FIELDS.items()}
    return SmplxParams(**values, camera=CameraIntrinsics(1000.5, 1001.25, 321.5, 239.75, 640, 480),
                       track_id=track_id, confidence=float(rng.uniform()), joint_confidence=rng.uniform(size=55),
                       box=rng.uniform(0, 600, size=4), frame_index=frame_index,
                       timestamp_ns=1_000_000_000 + 33_333_333 * frame_index)


@pytest.fixture
def clip() -> MotionClip:
    rng = np.random.default_rng(0)
    frames = [random_params(rng, i) for i in (0, 1, 2, 5, 6)]  # gap: person unseen in frames 3-4
    return MotionClip.from_params(frames, fps=29.97, gender="female", source={"input": "a.mp4", "model": "default"})


def assert_params_equal(a: SmplxParams, b: SmplxParams) -> None:
    for name in (*PARAM_FIELDS, "joint_confidence", "box"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("camera", "track_id", "frame_index", "timestamp_ns"):
        assert getattr(a, name) == getattr(b, name), name
    assert np.float32(a.confidence) == np.float32(b.confidence)


def test_params_and_clip_round_trip_through_npz_exactly(clip: MotionClip, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    originals = [random_params(rng, i) for i in (0, 1, 2, 5, 6)]
    written = clip.save(tmp_path / "clip.npz")
    loaded = MotionClip.load(written)
    for name in MotionClip.ARRAY_SPECS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(clip, name), err_msg=name)
        assert getattr(loaded, name).dtype == getattr(clip, name).dtype
    assert (loaded.fps, loaded.track_id, loaded.gender, loaded.source) == (29.97, 7, "female", clip.source)
    for i, original in enumerate(originals):
        assert_params_equal(loaded.frame(i), original)
    assert not list(tmp_path.glob("*.tmp"))


def test_full_pose_is_in_smplx_joint_order(clip: MotionClip) -> None:
    pose = clip.full_pose()
    assert pose.shape == (5, 55, 3)
    np.testing.assert_array_equal(pose[:, 0], clip.global_orient)
    np.testing.assert_array_equal(pose[:, 1:22], clip.body_pose)
    np.testing.assert_array_equal(pose[:, 22], clip.jaw_pose)
    np.testing.assert_array_equal(pose[:, 25:40], clip.left_hand_pose)
    np.testing.assert_array_equal(pose[:, 40:55], clip.right_hand_pose)
    np.testing.assert_array_equal(clip.frame(3).full_pose(), pose[3])


def test_split_full_pose_inverts_full_pose_for_one_frame_and_for_a_clip(clip: MotionClip) -> None:
    for fields, pose in ((clip, clip.full_pose()), (clip.frame(2), clip.frame(2).full_pose())):
        split = split_full_pose(pose)
        assert list(split) == list(POSE_FIELDS)
        for name, values in split.items():
            np.testing.assert_array_equal(values, getattr(fields, name), err_msg=name)
        np.testing.assert_array_equal(join_full_pose(split), pose)
    with pytest.raises(ValueError, match="55, 3"):
        split_full_pose(np.zeros((5, 54, 3)))


def test_the_field_tables_name_the_array_fields_of_records_and_clips() -> None:
    for cls in (SmplxParams, MotionClip):
        names = [f.name for f in dataclasses.fields(cls)]
        assert set(names[: len(PARAM_FIELDS)]) == set(PARAM_FIELDS) == {*POSE_FIELDS, *SHAPE_FIELDS}
    assert set(MotionClip.ARRAY_SPECS) <= {f.name for f in dataclasses.fields(MotionClip)}


def test_a_clip_from_full_poses_gets_neutral_values_and_timestamps_at_its_fps() -> None:
    pose = np.random.default_rng(1).normal(scale=0.3, size=(4, 55, 3))
    camera = CameraIntrinsics.from_fov(640, 480)
    clip = MotionClip.from_full_pose(pose, np.zeros((4, 3)), 30.0, camera, frame_index=np.array([0, 1, 2, 5]))
    np.testing.assert_allclose(clip.full_pose(), pose, atol=1e-6)
    assert clip.timestamp_ns.tolist() == [0, 33_333_333, 66_666_667, 166_666_667]
    assert clip.frame(3).camera == camera and (clip.betas == 0).all() and (clip.confidence == 1).all()


def test_params_validate_shapes_and_values() -> None:
    camera = CameraIntrinsics.from_fov(640, 480)
    with pytest.raises(ValueError, match=r"body_pose must have shape \(21, 3\)"):
        SmplxParams.neutral(camera, body_pose=np.zeros((22, 3)))
    with pytest.raises(ValueError, match="NaN"):
        SmplxParams.neutral(camera, transl=np.array([0.0, np.nan, 1.0]))
    params = SmplxParams.neutral(camera)
    with pytest.raises(ValueError, match="read-only"):
        params.betas[0] = 1.0


def resave(path: Path, **changes: object) -> None:
    with np.load(path) as data:
        contents = {k: data[k] for k in data.files}
    for key, value in changes.items():
        if value is None:
            del contents[key]
        else:
            contents[key] = value
    np.savez(path, **contents)


@pytest.mark.parametrize("changes, message", [
    ({"schema_version": np.array(2)}, "schema version 2; this version of the app reads 1"),
    ({"schema_version": None}, "no schema_version"),
    ({"transl": None, "fps": None}, "lacks the keys transl, fps"),
    ({"body_pose": np.zeros((5, 21, 4), np.float32)}, r"'body_pose' has shape \(5, 21, 4\), expected \(5, 21, 3\)"),
    ({"frame_index": np.zeros(4, np.int64)}, r"'frame_index' has shape \(4,\), expected \(5,\)"),
])
def test_clip_load_rejects_other_versions_missing_keys_and_wrong_shapes(
        clip: MotionClip, tmp_path: Path, changes: dict, message: str) -> None:
    path = clip.save(tmp_path / "clip.npz")
    resave(path, **changes)
    with pytest.raises(ClipFormatError, match=message):
        MotionClip.load(path)


def test_clip_load_rejects_non_clip_files(tmp_path: Path) -> None:
    with pytest.raises(ClipFormatError, match="does not exist"):
        MotionClip.load(tmp_path / "missing.npz")
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ClipFormatError, match="not a readable .npz"):
        MotionClip.load(text)


def test_clip_needs_one_track_and_frames() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="at least one frame"):
        MotionClip.from_params([], fps=30)
    with pytest.raises(ValueError, match="one track"):
        MotionClip.from_params([random_params(rng, 0, 1), random_params(rng, 1, 2)], fps=30)
