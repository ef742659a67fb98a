"""Takes (pipeline.takes): listing journals with their figures, renaming and deleting them, the recording marker
that tells a crash from a running recording, and the one export path of the CLI and the GUI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.config import AppConfig, PathsConfig
from mocap_app.core.errors import ConfigError, RunInterrupted
from mocap_app.export import ExportOptions, load_exported_npz
from mocap_app.pipeline.journal import RECORD_DTYPE, JournalWriter
from mocap_app.pipeline.takes import (
    begin_recording,
    delete_take,
    dismiss_interrupted,
    end_recording,
    export_take,
    interrupted_takes,
    list_takes,
    marker_path,
    rename_take,
)
from tests.export.conftest import read_with
from tests.pipeline.takes_data import FPS, dead_pid, person

RECORD = RECORD_DTYPE.itemsize + 4  # a record and its CRC32


def two_people(path: Path, frames: int = 30) -> Path:
    """Person 1 in every frame, person 2 in frames not divisible by 3 (20 of 30, from frame 1 to 29)."""
    with JournalWriter(path, fps=FPS, source={"input": "test"}) as journal:
        for f in range(frames):
            journal.append([person(f, 1)] + ([person(f, 2)] if f % 3 else []))
    return path


def set_ages_against_folder_order(folder: Path) -> None:
    """Modification times that make newest-first the reverse of the order the folder lists its journals in, so a
    listing that forgot to sort cannot pass by luck."""
    for age, path in enumerate(folder.glob("*.mocapjournal")):
        os.utime(path, (1_700_000_000 + age, 1_700_000_000 + age))


def newest_first(folder: Path) -> list[str]:
    return [p.stem for p in folder.glob("*.mocapjournal")][::-1]


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    """No SMPL-X files: the bones are the reference adult's (nothing slow to load)."""
    empty = tmp_path / "no_models"
    empty.mkdir()
    return AppConfig(paths=PathsConfig(checkpoints=str(empty), body_models=str(empty)))


def test_list_takes_gives_frames_tracks_and_duration_newest_first(tmp_path: Path) -> None:
    older = two_people(tmp_path / "older.mocapjournal")
    newer = tmp_path / "newer.mocapjournal"
    with JournalWriter(newer, fps=30.0) as journal:  # a source without clock: timestamps all 0
        for f in range(10, 20):
            journal.append([person(f, 0, timestamp_ns=0)])
    two_people(tmp_path / "third.mocapjournal", frames=2)
    (tmp_path / "notes.txt").write_text("not a take")
    set_ages_against_folder_order(tmp_path)

    takes = list_takes(tmp_path)
    assert [t.name for t in takes] == newest_first(tmp_path)
    new, old = (next(t for t in takes if t.name == name) for name in ("newer", "older"))
    assert (old.frames, old.records, old.tracks, old.fps) == (30, 50, {1: 30, 2: 20}, FPS)
    assert old.duration_s == pytest.approx(29 / FPS)
    assert (new.frames, new.records, new.tracks) == (10, 10, {0: 10})
    assert new.duration_s == pytest.approx(9 / 30.0)  # from the frame numbers
    assert old.modified.timestamp() == pytest.approx(os.stat(older).st_mtime) and old.modified.tzinfo is not None
    assert not old.recording and old.damaged is None and old.path == older
    assert list_takes(tmp_path / "missing") == []


def test_a_cut_off_or_unreadable_journal_is_listed_with_what_is_wrong(tmp_path: Path) -> None:
    path = two_people(tmp_path / "take.mocapjournal")
    data = path.read_bytes()
    path.write_bytes(data[:-100])  # the last record cut off, as by a crash mid-write
    (tmp_path / "junk.mocapjournal").write_bytes(b"hello")

    takes = {t.name: t for t in list_takes(tmp_path)}
    cut, junk = takes["take"], takes["junk"]
    assert cut.records == 49 and cut.tracks == {1: 30, 2: 19} and cut.frames == 30
    assert cut.damaged is not None and "cut-off record" in cut.damaged
    assert junk.damaged is not None and "is not a mocap journal" in junk.damaged
    assert (junk.frames, junk.records, junk.tracks, junk.fps) == (0, 0, {}, None)


def test_a_half_written_record_of_a_running_recording_is_not_damage_but_after_a_crash_it_is(tmp_path: Path) -> None:
    writer = begin_recording(tmp_path, "take", FPS, {"input": "camera 0"})
    writer.append([person(0, 0)])
    with open(writer.path, "ab") as handle:
        handle.write(b"\0" * (RECORD // 2))  # what a reader sees while the next record is being written
    (info,) = list_takes(tmp_path)
    assert info.recording and info.damaged is None and info.records == 1
    writer.close()
    marker_path(writer.path).write_text(str(dead_pid()))
    (info,) = list_takes(tmp_path)
    assert info.recording and info.damaged is not None and "cut-off record" in info.damaged


def test_rename_keeps_the_suffix_and_the_data_and_refuses_what_would_lose_a_take(tmp_path: Path) -> None:
    path = two_people(tmp_path / "take-1.mocapjournal")
    other = two_people(tmp_path / "other.mocapjournal", frames=5)
    data, other_data = path.read_bytes(), other.read_bytes()

    renamed = rename_take(path, "  jump ")
    assert renamed == tmp_path / "jump.mocapjournal" and renamed.read_bytes() == data and not path.exists()
    assert rename_take(renamed, "jump.mocapjournal") == renamed  # its own name: nothing to do
    for bad in ("", "   ", "a/b", "a\\b", "..", "other", "other.mocapjournal"):
        with pytest.raises(ConfigError) as error:
            rename_take(renamed, bad)
        assert error.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jump.mocapjournal", "other.mocapjournal"]
    assert renamed.read_bytes() == data and other.read_bytes() == other_data  # nothing overwritten
    with pytest.raises(ConfigError, match="not a take"):
        rename_take(tmp_path / "clip.npz", "x")
    with pytest.raises(ConfigError, match="does not exist"):
        rename_take(tmp_path / "gone.mocapjournal", "x")


def test_renaming_an_interrupted_take_moves_its_marker_and_a_running_one_is_refused(tmp_path: Path) -> None:
    writer = begin_recording(tmp_path, "take", FPS, {})
    with pytest.raises(ConfigError, match="still being recorded"):
        rename_take(writer.path, "x")
    with pytest.raises(ConfigError, match="still being recorded"):
        delete_take(writer.path)
    writer.close()
    marker_path(writer.path).write_text(str(dead_pid()))  # as if the app had crashed
    renamed = rename_take(writer.path, "crashed")
    assert marker_path(renamed).exists() and not marker_path(writer.path).exists()
    assert [t.path for t in interrupted_takes(tmp_path)] == [renamed]


def test_delete_removes_the_journal_and_its_marker(tmp_path: Path) -> None:
    path = two_people(tmp_path / "take.mocapjournal")
    marker_path(path).write_text(str(dead_pid()))
    keep = two_people(tmp_path / "keep.mocapjournal", frames=3)
    delete_take(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [keep.name]
    delete_take(path)  # already gone: no error
    with pytest.raises(ConfigError, match="not a take"):
        delete_take(tmp_path / "take.bvh")


def test_a_recording_has_a_marker_with_its_pid_until_it_ends(tmp_path: Path) -> None:
    writer = begin_recording(tmp_path, "take", FPS, {"input": "camera 0"})
    marker = marker_path(writer.path)
    assert writer.path.name.startswith("take-") and marker.name == writer.path.name + ".recording"
    assert json.loads(marker.read_text())["pid"] == os.getpid()
    for f in range(5):
        writer.append([person(f, 0)])
    (info,) = list_takes(tmp_path)
    assert info.recording and info.records == 5
    assert interrupted_takes(tmp_path) == []  # this process is still recording it
    with pytest.raises(ConfigError, match="still being recorded"):
        dismiss_interrupted(writer.path)

    assert end_recording(writer) == writer.path
    assert not marker.exists()
    (info,) = list_takes(tmp_path)
    assert not info.recording and info.frames == 5 and info.duration_s == pytest.approx(4 / FPS)


def test_interrupted_takes_are_those_whose_recorder_no_longer_runs(tmp_path: Path) -> None:
    crashed = two_people(tmp_path / "crashed.mocapjournal")
    marker_path(crashed).write_text(str(dead_pid()))  # a bare pid
    crashed_json = two_people(tmp_path / "crashed-json.mocapjournal", frames=4)
    marker_path(crashed_json).write_text(json.dumps({"pid": dead_pid()}))
    live = two_people(tmp_path / "live.mocapjournal", frames=4)
    marker_path(live).write_text(str(os.getpid()))
    garbled = two_people(tmp_path / "garbled.mocapjournal", frames=4)
    marker_path(garbled).write_text("{not json")
    two_people(tmp_path / "finished.mocapjournal", frames=4)  # no marker
    (tmp_path / "orphan.mocapjournal.recording").write_text(str(dead_pid()))  # its take was removed

    set_ages_against_folder_order(tmp_path)
    found = {t.name: t for t in interrupted_takes(tmp_path)}
    assert list(found) == [name for name in newest_first(tmp_path) if name in ("crashed", "crashed-json", "garbled")]
    assert found["crashed"].recording and found["crashed"].frames == 30 and found["crashed"].tracks == {1: 30, 2: 20}

    dismiss_interrupted(crashed)
    assert crashed.exists() and not marker_path(crashed).exists()
    assert sorted(t.name for t in interrupted_takes(tmp_path)) == ["crashed-json", "garbled"]
    assert not next(t for t in list_takes(tmp_path) if t.name == "crashed").recording
    assert interrupted_takes(tmp_path / "missing") == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times are read from /proc")
def test_a_reused_pid_is_not_taken_for_the_recorder(tmp_path: Path) -> None:
    """After a reboot the recorder's id may belong to another running process: its start time tells them apart."""
    take = two_people(tmp_path / "take.mocapjournal", frames=4)
    marker_path(take).write_text(json.dumps({"pid": os.getpid(), "process": "another-boot:12345"}))
    assert [t.path for t in interrupted_takes(tmp_path)] == [take]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process states are read from /proc")
def test_a_recorder_that_exited_but_was_not_yet_reaped_has_stopped(tmp_path: Path) -> None:
    take = two_people(tmp_path / "take.mocapjournal", frames=4)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 10
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":  # exited, its status not collected: a zombie
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        marker_path(take).write_text(str(child.pid))
        assert [t.path for t in interrupted_takes(tmp_path)] == [take]
    finally:
        child.wait()


def test_export_take_writes_one_bvh_per_person_on_the_takes_timeline(tmp_path: Path, config: AppConfig) -> None:
    pytest.importorskip("bvhio", reason="bvhio (test-only BVH reader) is not installed")
    take = two_people(tmp_path / "take.mocapjournal")
    written = []
    results = export_take(take, tmp_path / "out.bvh", ExportOptions(), config, mesh="none",
                          on_written=written.append)
    assert written == results
    assert [(r.path.name, r.format, r.track_id, r.frames, r.mesh) for r in results] == [
        ("out_person1.bvh", "bvh", 1, 30, None), ("out_person2.bvh", "bvh", 2, 29, None)]  # person 2: frames 1-29
    for result in results:
        data = read_with("bvhio", result.path, [0])
        assert data["frame_count"] == result.frames and data["frame_time"] == pytest.approx(1 / FPS)
        assert result.size_bytes == result.path.stat().st_size and result.seconds > 0

    (one,) = export_take(take, tmp_path / "two.bvh", ExportOptions(fps=50.0), config, person="2", mesh="none")
    assert one.path == tmp_path / "two.bvh" and one.frames == 57  # 28 frame steps at 50 fps
    assert read_with("bvhio", one.path, [0])["frame_count"] == 57
    with pytest.raises(ConfigError, match="no person with track id 7") as error:
        export_take(take, tmp_path / "x.bvh", ExportOptions(), config, person="7", mesh="none")
    assert "Track ids in it: 1, 2" in error.value.hint
    with pytest.raises(ConfigError, match="not a mesh choice"):
        export_take(take, tmp_path / "x.bvh", ExportOptions(), config, mesh="robot")


def test_journals_are_smoothed_by_default_and_clips_are_not(tmp_path: Path, config: AppConfig) -> None:
    take = two_people(tmp_path / "take.mocapjournal", frames=12)
    options = ExportOptions()
    export_take(take, tmp_path / "raw.npz", options, config, person="1", smoothing="off")
    export_take(take, tmp_path / "smooth.npz", options, config, person="1")
    raw, smooth = load_exported_npz(tmp_path / "raw.npz"), load_exported_npz(tmp_path / "smooth.npz")
    recorded = np.stack([person(f, 1).body_pose for f in range(12)])
    np.testing.assert_allclose(raw.body_pose, recorded, atol=1e-6)
    assert np.abs(smooth.body_pose - recorded).max() > 1e-3  # the settings' preset (medium)
    export_take(tmp_path / "raw.npz", tmp_path / "again.npz", options, config)
    np.testing.assert_allclose(load_exported_npz(tmp_path / "again.npz").body_pose, raw.body_pose, atol=1e-6)


def test_damage_goes_to_progress_and_cancelling_stops_between_people(tmp_path: Path, config: AppConfig) -> None:
    take = two_people(tmp_path / "take.mocapjournal")
    take.write_bytes(take.read_bytes()[:-100])
    lines: list[str] = []
    with pytest.raises(RunInterrupted, match="nothing was written"):
        export_take(take, tmp_path / "out.npz", ExportOptions(), config, progress=lines.append,
                    cancelled=lambda: True)
    assert any(line.startswith("warning: ") and "cut-off record" in line for line in lines)
    assert not list(tmp_path.glob("out*"))

    asked = iter([False, True])
    written = []
    with pytest.raises(RunInterrupted, match="out_person1.npz") as error:
        export_take(take, tmp_path / "out.npz", ExportOptions(), config, cancelled=lambda: next(asked),
                    on_written=written.append)
    assert error.value.exit_code == 130
    assert [r.path.name for r in written] == ["out_person1.npz"]
    assert sorted(p.name for p in tmp_path.glob("out*")) == ["out_person1.npz"]


@pytest.mark.slow
def test_a_mesh_is_built_for_the_files_frames_when_they_are_not_the_recorded_ones(
        tmp_path: Path, smplx_body_models: Path) -> None:
    """~6 s (the synthetic SMPL-X model): person 2 has gaps and the file is resampled, yet the mesh's per-frame
    blend-shape weights match the file (built from the clip on its timeline, not from the recorded frames)."""
    take = two_people(tmp_path / "take.mocapjournal")
    config = AppConfig(paths=PathsConfig(checkpoints=str(tmp_path), body_models=str(smplx_body_models)))
    (result,) = export_take(take, tmp_path / "take.fbx", ExportOptions(fps=50.0), config, person="2", mesh="smplx")
    assert (result.mesh, result.mesh_vertices, result.frames) == ("SMPLX", 10475, 57)
