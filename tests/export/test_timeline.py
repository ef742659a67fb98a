"""Exports play a clip on its recorded timeline: variable frame rates and missed frames keep their times."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mocap_app.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mocap_app.export.timeline import clip_times_s, on_timeline

from .conftest import make_clip


def with_times(clip, seconds):
    return dataclasses.replace(clip, timestamp_ns=np.round(np.asarray(seconds) * 1e9).astype(np.int64))


def test_a_constant_rate_clip_is_written_as_recorded() -> None:
    clip = with_times(make_clip(24), np.arange(24) / 30.0 + 7.0)  # a take starting 7 s into the video
    assert on_timeline(clip) is clip


def test_variable_frame_rate_frames_land_at_their_recorded_times() -> None:
    # A phone video: 30 fps with two frames dropped by the encoder and one late frame.
    seconds = np.array([0, 1, 2, 5, 6, 7.4, 8, 9, 12, 13]) / 30.0
    clip = with_times(make_clip(10), seconds)
    out = on_timeline(clip)
    assert out.num_frames == 14 and out.fps == 30.0  # 13/30 s long, as the video
    np.testing.assert_allclose(clip_times_s(out), np.arange(14) / 30.0, atol=1e-9)
    for recorded, t in enumerate(seconds):
        k = round(t * 30)
        if abs(k - t * 30) < 1e-6:  # on the grid: exactly the recorded frame
            np.testing.assert_allclose(out.full_pose()[k], clip.full_pose()[recorded], atol=1e-5)
            np.testing.assert_allclose(out.transl[k], clip.transl[recorded], atol=1e-6)
    # Frame 3 (t = 3/30) lies a third of the way from recorded frame 2 (2/30) to 3 (5/30).
    np.testing.assert_allclose(out.transl[3], clip.transl[2] + (clip.transl[3] - clip.transl[2]) / 3, atol=1e-6)
    assert out.frame_index[3] == clip.frame_index[2] and out.frame_index[4] == clip.frame_index[3]


def test_rotations_are_slerped_along_the_shorter_arc() -> None:
    clip = make_clip(2)
    pose = np.zeros((2, 55, 3))
    pose[0, 1] = [0.0, 0.0, 3.0]  # 172° about z
    pose[1, 1] = [0.0, 0.0, -3.0]  # -172°: 16° away the short way, through 180°
    clip = dataclasses.replace(clip, **{"body_pose": pose[:, 1:22]})
    clip = with_times(clip, [0.0, 2 / 30])
    middle = on_timeline(clip).full_pose()[1, 1]
    angle_to_180 = matrix_to_axis_angle(axis_angle_to_matrix(middle) @ axis_angle_to_matrix([0.0, 0.0, np.pi]).T)
    assert np.linalg.norm(angle_to_180) < 1e-5  # half-way is 180°, not 0°


@pytest.mark.parametrize("stamps, index, expected", [
    ([0, 0, 0, 0], [10, 11, 14, 15], [0, 1 / 30, 4 / 30, 5 / 30]),  # no timestamps: the source frame indices
    ([0, 0, 0, 0], [3, 3, 3, 3], [0, 1 / 30, 2 / 30, 3 / 30]),  # neither: one frame per row
])
def test_clip_time_falls_back_to_frame_indices_then_rows(stamps, index, expected) -> None:
    clip = dataclasses.replace(make_clip(4), timestamp_ns=np.array(stamps), frame_index=np.array(index))
    np.testing.assert_allclose(clip_times_s(clip), expected)


def test_a_missed_stretch_keeps_its_duration_instead_of_playing_back_to_back() -> None:
    clip = dataclasses.replace(make_clip(6), frame_index=np.array([0, 1, 2, 40, 41, 42]),
                               timestamp_ns=np.zeros(6, np.int64))
    out = on_timeline(clip)
    assert out.num_frames == 43  # 1.4 s, as the video, not 0.2 s
    np.testing.assert_array_equal(out.frame_index[:3], [0, 1, 2])
    np.testing.assert_allclose(out.transl[40:], clip.transl[3:], atol=1e-6)


def test_a_long_gap_holds_the_last_pose_and_a_short_one_is_interpolated_both_marked_unseen() -> None:
    """30 fps: 3 frames missed (0.13 s, under MAX_BRIDGE_S = 0.25 s) are interpolated; 20 missed (0.7 s) hold the
    pose before them. Neither is a measurement: confidence 0 in every frame that was not recorded."""
    index = np.array([0, 1, 2, 6, 7, 28, 29])
    stamps = np.round(index / 30 * 1e9).astype(np.int64)
    clip = dataclasses.replace(make_clip(7), frame_index=index, timestamp_ns=stamps)
    out = on_timeline(clip)
    assert out.num_frames == 30
    recorded = np.isin(np.arange(30), index)
    assert (out.confidence[recorded] > 0).all() and not out.confidence[~recorded].any()
    assert not out.joint_confidence[~recorded].any()
    np.testing.assert_allclose(out.transl[4], (clip.transl[2] + clip.transl[3]) / 2, atol=1e-6)  # bridged
    for k in range(8, 28):  # held: the last pose before the gap, exactly
        np.testing.assert_array_equal(out.full_pose()[k], clip.full_pose()[4])
        np.testing.assert_array_equal(out.transl[k], clip.transl[4])
    np.testing.assert_array_equal(out.frame_index, np.arange(30))


def test_the_file_spans_the_take_when_the_person_came_late_and_left_early() -> None:
    """Seen in frames 5-14 of a 30-frame take (source['take']): 30 frames, the first pose held before them and
    the last after, all marked unseen."""
    seen = np.arange(5, 15)
    stamps = np.round(seen / 30 * 1e9).astype(np.int64)
    clip = dataclasses.replace(make_clip(10), frame_index=seen, timestamp_ns=stamps,
                               source={"take": {"start_ns": 0, "end_ns": round(29 / 30 * 1e9),
                                                "start_index": 0, "end_index": 29}})
    out = on_timeline(clip)
    assert out.num_frames == 30
    np.testing.assert_allclose(clip_times_s(out), np.arange(30) / 30, atol=1e-9)
    assert out.timestamp_ns[0] == 0
    np.testing.assert_array_equal(out.full_pose()[:5], np.repeat(clip.full_pose()[:1], 5, axis=0))
    np.testing.assert_array_equal(out.full_pose()[15:], np.repeat(clip.full_pose()[-1:], 15, axis=0))
    assert not out.confidence[:5].any() and not out.confidence[15:].any() and out.confidence[5:15].all()
    np.testing.assert_array_equal(out.frame_index, np.arange(30))
