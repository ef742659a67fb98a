"""Playing a take back (pipeline.playback): people on one timeline as long as the take, nobody in a gap the export
holds, the recorded pose elsewhere, and frame for frame what `export_take` writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.config import AppConfig, PathsConfig
from mocap_app.core.errors import ClipFormatError
from mocap_app.export import ExportOptions
from mocap_app.pipeline.journal import JournalWriter
from mocap_app.pipeline.playback import TakePlayback
from mocap_app.pipeline.takes import export_take, take_info
from tests.pipeline.takes_data import FPS, STEP_NS, person

# Person 1: frames 0-29 but for a long gap (10-19: 0.44 s between recorded frames 9 and 20, held by the export)
# and one missed frame (25: bridged). Person 2: frames 5-34. The take: frames 0-34.
PERSON_1 = [f for f in range(30) if not 10 <= f <= 19 and f != 25]
PERSON_2 = list(range(5, 35))


def record(path: Path, stamp=lambda frame: frame * STEP_NS, source: dict | None = None) -> Path:
    """PERSON_1 and PERSON_2 at their frames, frame f captured at `stamp(f)` ns."""
    with JournalWriter(path, fps=FPS, source=source or {"input": "test"}) as journal:
        for f in range(35):
            journal.append([person(f, t, stamp(f)) for t, frames in ((1, PERSON_1), (2, PERSON_2)) if f in frames])
    return path


def tracks_at(playback: TakePlayback, frame: int) -> list[int]:
    return [p.track_id for p in playback.people_at(frame)]


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    """No SMPL-X files: nothing slow to load for an export."""
    empty = tmp_path / "no_models"
    empty.mkdir()
    return AppConfig(paths=PathsConfig(checkpoints=str(empty), body_models=str(empty)))


def test_the_timeline_spans_the_take_and_people_are_where_they_were_seen(tmp_path: Path, config: AppConfig) -> None:
    take = record(tmp_path / "take.mocapjournal")
    as_recorded = dataclasses.replace(config, feet=dataclasses.replace(config.feet, mode="off"))  # nothing moved
    playback = TakePlayback.load(take, as_recorded, smoothing="off")
    assert (playback.num_frames, playback.fps, playback.track_ids) == (35, FPS, (1, 2))
    info = take_info(take)
    assert playback.duration_s == pytest.approx(info.duration_s) == pytest.approx(34 / FPS)
    assert playback.time_at(7) == pytest.approx(7 / FPS) and playback.problems == ()
    for frame in range(35):
        expected = [t for t, frames in ((1, PERSON_1), (2, PERSON_2)) if frame in frames or (t, frame) == (1, 25)]
        assert tracks_at(playback, frame) == expected, frame
    for frame in (0, 9, 20, 29):  # recorded frames: the recorded record, unsmoothed
        (one,) = (p for p in playback.people_at(frame) if p.track_id == 1)
        recorded = person(frame, 1)
        np.testing.assert_array_equal(one.body_pose, recorded.body_pose)
        np.testing.assert_array_equal(one.transl, recorded.transl)
        assert (one.frame_index, one.timestamp_ns, one.confidence) == (frame, frame * STEP_NS, pytest.approx(0.9))
    (bridged,) = (p for p in playback.people_at(25) if p.track_id == 1)
    halfway = (person(24, 1).transl + person(26, 1).transl) / 2
    np.testing.assert_allclose(bridged.transl, halfway, atol=1e-6)  # interpolated, as the file holds it
    assert bridged.confidence == 0.0  # and marked unseen
    (second,) = playback.people_at(34)
    np.testing.assert_array_equal(second.body_pose, person(34, 2).body_pose)
    for frame in (-1, 35):
        with pytest.raises(IndexError, match="outside the take's frames 0..34"):
            playback.people_at(frame)
        with pytest.raises(IndexError):
            playback.time_at(frame)


def test_playback_holds_frame_for_frame_what_export_take_writes(tmp_path: Path, config: AppConfig) -> None:
    take = record(tmp_path / "take.mocapjournal")
    playback = TakePlayback.load(take, config)  # the settings' preset (medium), as export_take uses
    results = export_take(take, tmp_path / "out.npz", ExportOptions(), config, mesh="none")
    assert [r.track_id for r in results] == [1, 2]
    for result in results:
        with np.load(result.path, allow_pickle=False) as data:
            poses, trans, stamps = data["poses"], data["trans"], data["timestamp_ns"]
        first = int(stamps[0]) // STEP_NS  # the take's frame the file starts on (the take starts at 0 ns)
        recorded = PERSON_1 if result.track_id == 1 else PERSON_2
        assert first == recorded[0] and first + len(poses) - 1 == recorded[-1]
        shown = 0
        for row in range(len(poses)):
            people = {p.track_id: p for p in playback.people_at(first + row)}
            if result.track_id not in people:
                continue
            shown += 1
            np.testing.assert_array_equal(people[result.track_id].full_pose().reshape(-1), poses[row])
            np.testing.assert_array_equal(people[result.track_id].transl, trans[row])
        held = 10 if result.track_id == 1 else 0  # the long gap: in the file (held pose), not shown
        assert shown == len(poses) - held
        raw = np.stack([person(f, result.track_id).body_pose.reshape(-1) for f in recorded[:3]])
        assert np.abs(poses[:3, 3:66] - raw).max() > 1e-3  # smoothed: not the recorded poses passed through


def test_jittery_camera_timestamps_hide_nobody(tmp_path: Path, config: AppConfig) -> None:
    """A camera's frames are a few ms off the grid: on the timeline every frame is interpolated (confidence 0),
    yet everyone seen is shown."""
    jitter = np.random.default_rng(0).integers(-6_000_000, 6_000_000, size=35)
    jitter[0] = 0  # the take starts at 0 ns: frame f's grid time is f / FPS
    take = record(tmp_path / "take.mocapjournal", stamp=lambda f: f * STEP_NS + int(jitter[f]))
    playback = TakePlayback.load(take, config, smoothing="off")
    assert playback.num_frames == 35
    assert all(p.confidence == 0.0 for f in (3, 30) for p in playback.people_at(f))  # off the grid
    assert tracks_at(playback, 3) == [1] and tracks_at(playback, 15) == [2] and tracks_at(playback, 28) == [1, 2]


def test_a_take_without_clock_is_timed_by_frame_numbers(tmp_path: Path, config: AppConfig) -> None:
    take = record(tmp_path / "take.mocapjournal", stamp=lambda f: 0)
    playback = TakePlayback.load(take, config, smoothing="off")
    assert playback.num_frames == 35
    assert tracks_at(playback, 4) == [1] and tracks_at(playback, 5) == [1, 2] and tracks_at(playback, 34) == [2]
    np.testing.assert_array_equal(playback.people_at(5)[1].body_pose, person(5, 2).body_pose)


def test_a_take_span_in_the_source_lengthens_the_files_but_shows_nobody_unseen(tmp_path: Path,
                                                                              config: AppConfig) -> None:
    """`source["take"]` (what `process` gives its clips) runs every file from the take's first frame to its last,
    the pose held where the person was not seen yet or any more: held, so not shown."""
    span = {"start_ns": 0, "end_ns": 39 * STEP_NS}  # the video ran 5 frames past the last person-frame
    take = record(tmp_path / "take.mocapjournal", source={"input": "test", "take": span})
    playback = TakePlayback.load(take, config, smoothing="off")
    assert playback.num_frames == 40 and all(c.num_frames == 40 for c in playback.clips)
    assert tracks_at(playback, 4) == [1] and tracks_at(playback, 5) == [1, 2]
    assert tracks_at(playback, 34) == [2] and tracks_at(playback, 35) == [] and tracks_at(playback, 39) == []


def test_damage_is_reported_and_a_journal_with_nothing_intact_refused(tmp_path: Path, config: AppConfig) -> None:
    take = record(tmp_path / "take.mocapjournal")
    take.write_bytes(take.read_bytes()[:-100])  # the last record (person 2, frame 34) cut off
    playback = TakePlayback.load(take, config, smoothing="off")
    assert len(playback.problems) == 1 and "cut-off record" in playback.problems[0]
    assert playback.num_frames == 34 and tracks_at(playback, 33) == [2]
    with JournalWriter(tmp_path / "empty.mocapjournal", fps=FPS):
        pass
    with pytest.raises(ClipFormatError, match="no intact recorded frames"):
        TakePlayback.load(tmp_path / "empty.mocapjournal", config)
