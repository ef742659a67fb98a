from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core import CameraIntrinsics, ClipFormatError, ExportError, SmplxParams
from mocap_app.pipeline.journal import RECORD_DTYPE, JournalWriter, journal_to_clips, read_journal

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


def write_take(path: Path, frames: int = 40) -> bytes:
    with JournalWriter(path, fps=30.0) as journal:
        for f in range(frames):
            journal.append([person(f, 0)])
    return path.read_bytes()


RECORD = RECORD_DTYPE.itemsize + 4  # a record and its CRC32


def test_the_walk_keeps_every_intact_record_wherever_the_file_is_cut_or_damaged(tmp_path: Path) -> None:
    path = tmp_path / "take.mocapjournal"
    data = write_take(path)
    body = len(data) - 40 * RECORD
    for cut in range(body, len(data) + 1, 97):  # cuts anywhere in the records, not only on boundaries
        path.write_bytes(data[:cut])
        scan = read_journal(path)
        whole = (cut - body) // RECORD
        assert len(scan.records) == whole and scan.torn_bytes == (cut - body) % RECORD
        assert bool(scan.torn_bytes) == any("cut-off record" in line for line in scan.problems())
    damaged = bytearray(data)
    for slot in (3, 17, 18, 19, 39):  # one record, a run of three, the last one
        for k in range(16):  # 16 flipped bytes inside each
            damaged[body + slot * RECORD + 40 + k] ^= 0xA5
    path.write_bytes(bytes(damaged))
    reports: list[str] = []
    (clip,) = journal_to_clips(path, report=reports.append)
    kept = [f for f in range(40) if f not in (3, 17, 18, 19, 39)]
    np.testing.assert_array_equal(clip.frame_index, kept)  # every intact record, also after the damage
    np.testing.assert_array_equal(clip.frame(kept.index(20)).body_pose, person(20, 0).body_pose)
    assert reports == ["take.mocapjournal: 5 of 40 records are damaged and were skipped (between frames 2 and 4 "
                       "(0.07-0.13 s); between frames 16 and 20 (0.53-0.67 s); after frame 38 (1.27 s)); every "
                       "intact record was kept."]


def test_a_checksummed_record_holding_nan_is_skipped_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "take.mocapjournal"
    data = bytearray(write_take(path, 5))
    body = len(data) - 5 * RECORD
    record = np.frombuffer(bytes(data[body + 2 * RECORD: body + 2 * RECORD + RECORD_DTYPE.itemsize]),
                           RECORD_DTYPE).copy()
    record["transl"] = np.nan
    payload = record.tobytes()
    data[body + 2 * RECORD: body + 3 * RECORD] = payload + zlib.crc32(payload).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    reports: list[str] = []
    (clip,) = journal_to_clips(path, report=reports.append)
    assert list(clip.frame_index) == [0, 1, 3, 4] and "1 of 5 records are damaged" in reports[0]


@pytest.mark.parametrize("header, message", [
    (b"[1, 2]", "not a JSON object"),
    (b'{"gender": "neutral"}', "frame rate is None"),
    (b'{"fps": "thirty"}', "frame rate is 'thirty'"),
    (b'{"fps": 0}', "frame rate is 0"),
    (b'{"fps": -30}', "frame rate is -30"),
    (b'{"fps": 30, "gender": "robot"}', "gender 'robot'"),
    (b'{"fps": 30, "source": [1]}', "'source' is not an object"),
    (b"{not json", "damaged header"),
])
def test_a_damaged_header_is_a_clear_error(tmp_path: Path, header: bytes, message: str) -> None:
    path = tmp_path / "take.mocapjournal"
    path.write_bytes(b"MOCAPJNL" + struct.pack("<II", 1, len(header)) + header)
    with pytest.raises(ClipFormatError, match=message):
        journal_to_clips(path)


def test_two_recordings_of_one_input_into_one_folder_get_their_own_names(tmp_path: Path) -> None:
    writers = [JournalWriter.new(tmp_path, "take", fps=30.0) for _ in range(5)]  # within the same millisecond
    assert len({w.path for w in writers}) == 5
    for writer in writers:
        writer.close()
    assert all(p.name.startswith("take-") and p.suffix == ".mocapjournal" for p in tmp_path.iterdir())


def test_journal_errors(tmp_path: Path) -> None:
    path = tmp_path / "take.mocapjournal"
    JournalWriter(path, fps=30.0).close()
    with pytest.raises(ExportError, match="already exists"):
        JournalWriter(path, fps=30.0)
    with pytest.raises(ClipFormatError, match="holds no intact recorded frames"):
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
