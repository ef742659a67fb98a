"""Crash-safe recording: every estimated person-frame is appended to a journal file as it is produced.

Layout: a header (magic, version, header length, JSON with fps and source metadata) followed by
fixed-size records — one `SmplxParams` each, followed by the CRC32 of its bytes. Records are
written with one `os.write` per frame, so they are in the kernel's page cache (and survive the
process being killed) the moment `append` returns; `fsync` is left to `close` and periodic
`sync_every` frames, which is what survives a power cut. A reader takes every complete record
whose checksum matches and ignores a torn tail.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from mocap_app.core.errors import ClipFormatError, ExportError
from mocap_app.core.params import CLIP_ARRAYS, MotionClip, SmplxParams

MAGIC = b"MOCAPJNL"
VERSION = 1
SUFFIX = ".mocapjournal"



def _record_dtype() -> np.dtype:
    """A clip's per-frame arrays (`CLIP_ARRAYS`, little-endian) plus the track id, which version 1 files
    hold just before `frame_index`."""
    columns = [(name, np.dtype(dtype).newbyteorder("<"), shape) for name, (dtype, shape) in CLIP_ARRAYS.items()]
    at = [name for name, _, _ in columns].index("frame_index")
    columns.insert(at, ("track_id", np.dtype("<i8"), ()))
    return np.dtype(columns)


RECORD_DTYPE = _record_dtype()
_CRC = struct.Struct("<I")
_PREFIX = struct.Struct("<8sII")  # magic, version, JSON header length


def _record_bytes(params: SmplxParams) -> bytes:
    record = np.zeros((), RECORD_DTYPE)
    for name, value in params.arrays().items():
        record[name] = value
    record["track_id"] = params.track_id
    payload = record.tobytes()
    return payload + _CRC.pack(zlib.crc32(payload))


class JournalWriter:
    """Appends `SmplxParams` records to a new journal file. Use as a context manager."""

    def __init__(self, path: Path, fps: float, source: dict | None = None, gender: str = "neutral",
                 sync_every: int = 300) -> None:
        self.path = Path(path)
        header = json.dumps({"fps": fps, "gender": gender, "source": source or {},
                             "record_dtype": RECORD_DTYPE.descr}).encode()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise ExportError(f"Journal {self.path} already exists.", "Choose another recording name.") from None
        except OSError as exc:
            raise ExportError(f"Cannot create journal {self.path}: {exc.strerror}.",
                              "Check that the folder exists and is writable.") from exc
        self._write(_PREFIX.pack(MAGIC, VERSION, len(header)) + header)
        self.sync_every = sync_every
        self.records = 0

    def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            raise ExportError(f"Writing {self.path} failed: {exc.strerror}.",
                              "Free disk space; frames recorded so far are kept in the journal.") from exc

    def append(self, people: list[SmplxParams]) -> None:
        """Record the people estimated in one frame (one write call for all of them)."""
        if not people:
            return
        self._write(b"".join(_record_bytes(p) for p in people))
        self.records += len(people)
        if self.sync_every and self.records % self.sync_every < len(people):
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_journal(path: Path) -> tuple[dict, np.ndarray]:
    """(header, records): every intact record of a journal, in write order; a torn tail is ignored."""
    path = Path(path)
    hint = "Pass a .mocapjournal file written by `python main.py process` or the GUI's recorder."
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ClipFormatError(f"Journal {path} does not exist.", hint) from None
    if len(data) < _PREFIX.size or data[:8] != MAGIC:
        raise ClipFormatError(f"{path} is not a mocap journal.", hint)
    _, version, header_length = _PREFIX.unpack_from(data)
    if version != VERSION:
        raise ClipFormatError(f"{path} is journal version {version}; this app reads {VERSION}.",
                              "Open it with the version of the app that recorded it.")
    try:
        header = json.loads(data[_PREFIX.size : _PREFIX.size + header_length])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClipFormatError(f"{path} has a damaged header.", hint) from exc
    body = memoryview(data)[_PREFIX.size + header_length :]
    size = RECORD_DTYPE.itemsize + _CRC.size
    intact = []
    for offset in range(0, len(body) - size + 1, size):
        payload = body[offset : offset + RECORD_DTYPE.itemsize]
        (crc,) = _CRC.unpack_from(body, offset + RECORD_DTYPE.itemsize)
        if zlib.crc32(payload) != crc:
            break  # a torn write: nothing after it is trusted
        intact.append(bytes(payload))
    records = np.frombuffer(b"".join(intact), dtype=RECORD_DTYPE)
    return header, records


def journal_to_clips(path: Path) -> list[MotionClip]:
    """One `MotionClip` per track in the journal, frames in order; raises if it holds no frames."""
    header, records = read_journal(path)
    if len(records) == 0:
        raise ClipFormatError(f"Journal {path} holds no recorded frames.", "Record some frames first.")
    by_track: dict[int, list[int]] = defaultdict(list)
    for i, track_id in enumerate(records["track_id"]):
        by_track[int(track_id)].append(i)
    clips = []
    for track_id, rows in sorted(by_track.items()):
        rows_sorted = sorted(rows, key=lambda i: int(records["frame_index"][i]))
        frames = [SmplxParams.from_arrays(records[i], track_id) for i in rows_sorted]
        clips.append(MotionClip.from_params(frames, fps=float(header["fps"]), gender=header.get("gender", "neutral"),
                                            source=header.get("source")))
    return clips
