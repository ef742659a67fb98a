"""Crash-safe recording: every estimated person-frame is appended to a journal file as it is produced.

Layout: a header (magic, version, header length, JSON with fps and source metadata) followed by
fixed-size records — one `SmplxParams` each, followed by the CRC32 of its bytes. Records are
written with one `os.write` per frame, so they are in the kernel's page cache (and survive the
process being killed) the moment `append` returns; `fsync` is left to `close` and periodic
`sync_every` frames, which is what survives a power cut. A reader takes every record whose
checksum and values are sound, skips damaged ones and a torn tail, and says what it skipped.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap_app.core.errors import ClipFormatError, ExportError
from mocap_app.core.params import CLIP_ARRAYS, OPTIONAL_ARRAYS, MotionClip, SmplxParams

logger = logging.getLogger(__name__)

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


class JournalExistsError(ExportError):
    """The journal's name is taken: recordings never overwrite each other."""

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
    """Appends `SmplxParams` records to a new journal file (never an existing one). Use as a context manager."""

    def __init__(self, path: Path, fps: float, source: dict | None = None, gender: str = "neutral",
                 sync_every: int = 300) -> None:
        self.path = Path(path)
        header = json.dumps({"fps": fps, "gender": gender, "source": source or {},
                             "record_dtype": RECORD_DTYPE.descr}).encode()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise JournalExistsError(f"Journal {self.path} already exists.",
                                     "Move or export it first (`mocap export JOURNAL -o take.fbx`); a recording never "
                                     "overwrites one.") from None
        except OSError as exc:
            raise ExportError(f"Cannot create journal {self.path}: {exc.strerror}.",
                              "Check that the folder exists and is writable.") from exc
        self._write(_PREFIX.pack(MAGIC, VERSION, len(header)) + header)
        self.sync_every = sync_every
        self.records = 0

    @classmethod
    def new(cls, folder: Path, stem: str, fps: float, **options: object) -> JournalWriter:
        """A journal under a name no other recording has: `<stem>-<date>-<time>.<ms>[-N].mocapjournal` in
        `folder`; runs started in the same millisecond (or a name left by an earlier run) get -2, -3, …"""
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S.%f")[:-3]
        for attempt in range(1, 1000):
            suffix = "" if attempt == 1 else f"-{attempt}"
            try:
                return cls(Path(folder) / f"{stem}-{stamp}{suffix}{SUFFIX}", fps, **options)  # type: ignore[arg-type]
            except JournalExistsError:
                continue
        raise ExportError(f"No free journal name for {stem} in {folder}.", "Remove old journals from that folder.")

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


@dataclass(frozen=True)
class JournalScan:
    """What a journal holds. header: its JSON header (fps checked). records: every intact record, in write
    order. damaged: slot numbers of records skipped (checksum wrong, or values that are not finite numbers).
    torn_bytes: bytes of a cut-off last record (0 when the file ends on a record boundary). slots: record slots
    in the file."""

    path: Path
    header: dict
    records: np.ndarray
    damaged: tuple[int, ...]
    torn_bytes: int
    slots: int

    def problems(self) -> list[str]:
        """One sentence per kind of damage, saying what was skipped and where in the take."""
        lines = []
        if self.damaged:
            lines.append(f"{self.path.name}: {len(self.damaged)} of {self.slots} records are damaged and were "
                         f"skipped ({self._where(self.damaged)}); every intact record was kept.")
        if self.torn_bytes:
            lines.append(f"{self.path.name} ends in a cut-off record ({self.torn_bytes} bytes, the last frame "
                         "being written when the recording stopped); it was skipped.")
        return lines

    def _where(self, slots: tuple[int, ...]) -> str:
        """The frames around the skipped records, from the intact neighbours (the damaged ones are untrusted)."""
        fps = float(self.header["fps"])
        intact_slots = np.setdiff1d(np.arange(self.slots), slots)
        frames = self.records["frame_index"]
        spans = []
        for run in np.split(np.asarray(slots), np.flatnonzero(np.diff(slots) != 1) + 1):
            before = np.searchsorted(intact_slots, run[0]) - 1
            after = before + 1
            low = int(frames[before]) if before >= 0 else None
            high = int(frames[after]) if after < len(frames) else None
            if low is None and high is None:
                spans.append("the whole take")
            elif low is None:
                spans.append(f"before frame {high} ({high / fps:.2f} s)")
            elif high is None:
                spans.append(f"after frame {low} ({low / fps:.2f} s)")
            else:
                spans.append(f"between frames {low} and {high} ({low / fps:.2f}-{high / fps:.2f} s)")
        return "; ".join(spans[:5]) + (f"; and {len(spans) - 5} more places" if len(spans) > 5 else "")


_HINT = "Pass a .mocapjournal file written by `mocap process` or the live recorder."
_FINITE_FIELDS = [name for name in RECORD_DTYPE.names if RECORD_DTYPE[name].base.kind == "f"]


def _check_header(path: Path, header: object) -> dict:
    if not isinstance(header, dict):
        raise ClipFormatError(f"{path} has a damaged header (not a JSON object).", _HINT)
    fps = header.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not np.isfinite(fps) or fps <= 0:
        raise ClipFormatError(f"{path} has a damaged header: its frame rate is {fps!r}, not a positive number.",
                              _HINT)
    if header.get("gender", "neutral") not in ("neutral", "male", "female"):
        raise ClipFormatError(f"{path} has a damaged header: gender {header.get('gender')!r}.", _HINT)
    if not isinstance(header.get("source", {}), dict):
        raise ClipFormatError(f"{path} has a damaged header: 'source' is not an object.", _HINT)
    return header


def read_journal(path: Path) -> JournalScan:
    """Every intact record of a journal, in write order. Records have a fixed size and their own checksum, so
    a damaged record costs only itself: the walk goes on past it, and a cut-off end costs only the last one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ClipFormatError(f"Journal {path} does not exist.", _HINT) from None
    except IsADirectoryError:
        raise ClipFormatError(f"{path} is a folder, not a journal.", _HINT) from None
    if len(data) < _PREFIX.size or data[:8] != MAGIC:
        raise ClipFormatError(f"{path} is not a mocap journal.", _HINT)
    _, version, header_length = _PREFIX.unpack_from(data)
    if version != VERSION:
        raise ClipFormatError(f"{path} is journal version {version}; this app reads {VERSION}.",
                              "Open it with the version of the app that recorded it.")
    if _PREFIX.size + header_length > len(data):
        raise ClipFormatError(f"{path} has a damaged header (it claims {header_length} bytes).", _HINT)
    try:
        header = json.loads(data[_PREFIX.size : _PREFIX.size + header_length])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClipFormatError(f"{path} has a damaged header.", _HINT) from exc
    header = _check_header(path, header)
    stored = _stored_dtype(path, header)
    body = memoryview(data)[_PREFIX.size + header_length :]
    size = stored.itemsize + _CRC.size
    slots, torn = divmod(len(body), size)
    framed = np.frombuffer(body[: slots * size], dtype=np.dtype([("record", stored), ("crc", "<u4")]))
    raw = framed.view(np.dtype([("payload", f"V{stored.itemsize}"), ("crc", "<u4")]))
    sound = np.array([zlib.crc32(payload) == crc for payload, crc in zip(raw["payload"].tolist(), raw["crc"],
                                                                        strict=True)], dtype=bool).reshape(-1)
    for name in _FINITE_FIELDS:  # checksummed garbage (a hostile or buggy writer) is never exported
        if name in stored.names:
            values = framed["record"][name].reshape(slots, int(np.prod(stored[name].shape, dtype=int)))
            sound &= np.isfinite(values).all(axis=1)
    damaged = np.flatnonzero(~sound)
    records = np.zeros(int(sound.sum()), RECORD_DTYPE)  # columns a journal predates stay zero (OPTIONAL_ARRAYS)
    for name in stored.names:
        records[name] = framed["record"][name][sound]
    return JournalScan(path, header, records, tuple(int(i) for i in damaged), torn, slots)


def _stored_dtype(path: Path, header: dict) -> np.dtype:
    """The record layout a journal was written with (its header says; this app's when it does not): journals from
    before an optional column (`OPTIONAL_ARRAYS`) was added lack it."""
    if "record_dtype" not in header:
        return RECORD_DTYPE
    try:
        stored = np.dtype([(name, kind, tuple(shape[0]) if shape else ()) for name, kind, *shape in
                           header["record_dtype"]])
    except (TypeError, ValueError) as exc:
        raise ClipFormatError(f"{path} has a damaged header: its record layout does not parse ({exc}).",
                              _HINT) from exc
    wanted = set(RECORD_DTYPE.names) - set(OPTIONAL_ARRAYS)
    if not wanted <= set(stored.names) <= set(RECORD_DTYPE.names) \
            or any(stored[n] != RECORD_DTYPE[n] for n in stored.names):
        raise ClipFormatError(f"{path} was recorded with another record layout.",
                              "Open it with the version of the app that recorded it.")
    return stored


def journal_to_clips(path: Path, report: Callable[[str], None] = logger.warning) -> list[MotionClip]:
    """One `MotionClip` per track in the journal, frames in order; damage is passed to `report` (one line per
    kind); raises if it holds no intact frames."""
    scan = read_journal(path)
    for line in scan.problems():
        report(line)
    records, header = scan.records, scan.header
    if len(records) == 0:
        raise ClipFormatError(f"Journal {path} holds no intact recorded frames.",
                              "Nothing was recorded before it ended; record again.")
    clips = []
    for track_id in np.unique(records["track_id"]):
        rows = np.flatnonzero(records["track_id"] == track_id)
        rows = rows[np.argsort(records["frame_index"][rows], kind="stable")]
        # Columns straight from the records (no per-frame objects: an 18,000-frame take stays small).
        clips.append(MotionClip(**{name: records[name][rows] for name in CLIP_ARRAYS}, fps=float(header["fps"]),
                                track_id=int(track_id), gender=header.get("gender", "neutral"),
                                source=header.get("source")))
    return clips
