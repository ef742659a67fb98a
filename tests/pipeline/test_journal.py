from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core import CameraIntrinsics, ClipFormatError, ExportError, SmplxParams
from mocap_app.pipeline.journal import JournalWriter, journal_to_clips, read_journal

ROOT = Path(__file__).resolve().parents[2]


def person(frame_index: int, track_id: int) -> SmplxParams:
    rng = np.random.default_rng(1000 * track_id + frame_index)
    return SmplxParams.neutral(CameraIntrinsics.from_fov(640, 480), body_pose=rng.normal(size=(21, 3)),
                               transl=rng.normal(size=3), betas=rng.normal(size=10), track_id=track_id,
                               frame_index=frame_index, timestamp_ns=frame_index * 33_000_000, confidence=0.5)


def test_journal_round_trips_every_person_frame_into_one_clip_per_track(tmp_path: Path) -> None:
    path = tmp_path / "take.mocapjournal"
    with JournalWriter(path, fps=25.0, source={"input": "a.mp4"}) as journal:
        for f in range(30):
            journal.append([person(f, 1)] + ([person(f, 2)] if f % 3 else []))
    clips = journal_to_clips(path)
    assert [c.track_id for c in clips] == [1, 2]
    assert [c.num_frames for c in clips] == [30, 20]
    assert clips[0].fps == 25.0 and clips[0].source == {"input": "a.mp4"}
    expected = person(17, 2)
    got = clips[1].frame(list(clips[1].frame_index).index(17))
    np.testing.assert_array_equal(got.body_pose, expected.body_pose)
    np.testing.assert_array_equal(got.betas, expected.betas)
    assert got.camera == expected.camera and got.timestamp_ns == expected.timestamp_ns


def test_a_torn_or_corrupt_tail_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "take.mocapjournal"
    with JournalWriter(path, fps=30.0) as journal:
        for f in range(10):
            journal.append([person(f, 0)])
    data = path.read_bytes()
    path.write_bytes(data[:-100])  # the last record torn in half
    assert len(read_journal(path)[1]) == 9
    corrupt = bytearray(data)
    corrupt[-600] ^= 0xFF  # a flipped byte inside the 9th or 10th record
    path.write_bytes(bytes(corrupt))
    assert len(read_journal(path)[1]) in (8, 9)


def test_journal_errors(tmp_path: Path) -> None:
    path = tmp_path / "take.mocapjournal"
    JournalWriter(path, fps=30.0).close()
    with pytest.raises(ExportError, match="already exists"):
        JournalWriter(path, fps=30.0)
    with pytest.raises(ClipFormatError, match="holds no recorded frames"):
        journal_to_clips(path)
    other = tmp_path / "x.mocapjournal"
    other.write_text("hello")
    with pytest.raises(ClipFormatError, match="not a mocap journal"):
        read_journal(other)
    with pytest.raises(ExportError, match="Cannot create journal"):
        JournalWriter(tmp_path / "missing" / "t.mocapjournal", fps=30.0)


WRITER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.pipeline.test_journal import person
from mocap_app.pipeline.journal import JournalWriter
journal = JournalWriter({path!r}, fps=30.0, sync_every=0)
f = 0
while True:
    journal.append([person(f, 4)])
    print(f, flush=True)
    f += 1
    time.sleep(0.002)
"""


def test_every_frame_appended_before_sigkill_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "killed.mocapjournal"
    child = subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), path=str(path))],
                             stdout=subprocess.PIPE, text=True)
    reported = -1
    deadline = time.monotonic() + 60
    while reported < 50 and time.monotonic() < deadline:
        reported = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    rest = child.stdout.read().split()
    last_confirmed = int(rest[-1]) if rest else reported
    (clip,) = journal_to_clips(path)
    # Every frame whose append returned (it was printed after) is there, in order, intact.
    assert clip.num_frames >= last_confirmed + 1
    np.testing.assert_array_equal(clip.frame_index, np.arange(clip.num_frames))
    np.testing.assert_array_equal(clip.frame(last_confirmed).body_pose, person(last_confirmed, 4).body_pose)
