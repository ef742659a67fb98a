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
