"""Takes: the recording journals in a folder, as the GUI's takes panel and `python main.py export` see them.

A take is a `*.mocapjournal` file (`pipeline.journal`). While a recording writes one, a marker file sits beside
it (`<journal>.recording`, holding the recorder's process id): a marker whose process no longer runs means the app
stopped mid-recording (a crash, a kill, a power cut), and the take is offered at the next start
(`interrupted_takes`). Listing, renaming and deleting never raise for a damaged journal: it is listed with what
is wrong with it. `export_take` is the one export path of the command line and the GUI.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import ConfigError, ExportError, MocapError, RunInterrupted
from mocap_app.core.files import atomic_write
from mocap_app.export import ExportOptions, check_destination, format_for, person_path
from mocap_app.export.base import check_clip
from mocap_app.export.timeline import on_timeline
from mocap_app.smoothing import smooth_clip

from .exporting import MESH_CHOICES, export_with_body, load_clips
from .journal import SUFFIX, JournalWriter, read_journal
from .process import smoothing_settings

logger = logging.getLogger(__name__)

MARKER_SUFFIX = ".recording"  # appended to the journal's whole name: take-….mocapjournal.recording


@dataclass(frozen=True)
class TakeInfo:
    """One take as listed.

    path: the journal file. name: its stem (the name shown and renamed).
    frames: frames with at least one person in them. records: person-frames (one per person per frame).
    tracks: track id → frames that person was seen in. duration_s: seconds from the first recorded frame to the
    last (timestamps; frame numbers / fps where the timestamps do not advance); 0.0 for one frame or none.
    fps: the recording's frame rate, None when the header cannot be read. modified: the file's last change, local
    time (timezone-aware). recording: a recording marker sits beside it — it is being recorded now, or the app
    stopped while recording it (`interrupted_takes` tells the two apart). damaged: what reading it found wrong
    (damaged records, a cut-off tail, an unreadable file), None when it is sound; a recording that is still
    running is not called damaged for the record it is writing.
    """

    path: Path
    name: str
    frames: int
    records: int
    tracks: dict[int, int]
    duration_s: float
    fps: float | None
    modified: datetime.datetime
    recording: bool
    damaged: str | None


@dataclass(frozen=True)
class ExportResult:
    """One file `export_take` wrote. format: the format's name (fbx, bvh, glb, npz). frames: frames of the person
    in the file (after putting them on the file's timeline). mesh: the mesh's name (e.g. "SMPLX", "Avatar"), None
    for a skeleton-only file; mesh_vertices: its vertex count (0 without one). size_bytes: the file's size.
    seconds: wall time of smoothing, body and writing for this file."""

    path: Path
    format: str
    track_id: int
    frames: int
    mesh: str | None
    mesh_vertices: int
    size_bytes: int
    seconds: float


def marker_path(journal: Path) -> Path:
    """The recording marker of `journal`."""
    journal = Path(journal)
    return journal.with_name(journal.name + MARKER_SUFFIX)


# -- listing ------------------------------------------------------------------------------------------------------

def list_takes(folder: Path) -> list[TakeInfo]:
    """Every take in `folder`, newest first; a missing folder has none. Reads each journal whole (about 2 kB per
    person-frame): call it off the GUI thread for folders of long takes."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    takes = []
    for path in folder.glob(f"*{SUFFIX}"):
        try:
            takes.append(take_info(path))
        except FileNotFoundError:  # deleted between the listing and the read
            continue
    return sorted(takes, key=lambda t: (t.modified, t.name), reverse=True)


def take_info(path: Path) -> TakeInfo:
    """What `list_takes` shows for one journal. Raises FileNotFoundError only when `path` does not exist; any
    other problem reading it goes into `damaged`."""
    path = Path(path)
    stat = path.stat()
    modified = datetime.datetime.fromtimestamp(stat.st_mtime).astimezone()
    marker = marker_path(path)
    recording = marker.exists()
    empty = TakeInfo(path, path.stem, 0, 0, {}, 0.0, None, modified, recording, None)
    try:
        scan = read_journal(path)
    except MocapError as exc:
        return dataclasses.replace(empty, damaged=exc.message)
    except OSError as exc:
        return dataclasses.replace(empty, damaged=f"{path.name} cannot be read: {exc.strerror or exc}.")
    if scan.torn_bytes and recording and _writer_running(marker):
        scan = dataclasses.replace(scan, torn_bytes=0)  # the record being written as we read, not damage
    records, fps = scan.records, float(scan.header["fps"])
    track_ids, counts = np.unique(records["track_id"], return_counts=True)
    return TakeInfo(path, path.stem, frames=len(np.unique(records["frame_index"])), records=len(records),
                    tracks={int(t): int(n) for t, n in zip(track_ids, counts, strict=True)},
                    duration_s=_duration_s(records, fps), fps=fps, modified=modified, recording=recording,
                    damaged=" ".join(scan.problems()) or None)


def _duration_s(records: np.ndarray, fps: float) -> float:
    """First to last recorded frame in seconds: by timestamp, or by frame number where timestamps stand still (a
    source without clock), as `export.timeline` reads a clip's time."""
    if len(records) < 2:
        return 0.0
    stamps = records["timestamp_ns"].astype(np.int64)
    if stamps.max() > stamps.min():
        return float(stamps.max() - stamps.min()) / 1e9
    index = records["frame_index"].astype(np.int64)
    return float(index.max() - index.min()) / fps


# -- renaming and deleting ----------------------------------------------------------------------------------------

_NAME_HINT = "Use a plain file name without / or \\, for example 'jump-2'."


def _check_take_path(path: Path) -> Path:
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ConfigError(f"{path} is not a take (a {SUFFIX} file).", "Pick a take from the takes list.")
    return path


def _refuse_while_recording(path: Path, action: str) -> None:
    if _writer_running(marker_path(path)):
        raise ConfigError(f"{path.name} is still being recorded; it cannot be {action}.", "Stop the recording first.")


def rename_take(path: Path, new_name: str) -> Path:
    """Rename a take within its folder (the suffix kept; a trailing .mocapjournal in `new_name` is allowed) and
    return its new path; its recording marker, if any, moves with it. Never replaces another file: an empty name,
    one with path separators, or one that another take has is refused (ConfigError), as is a take that is being
    recorded."""
    path = _check_take_path(path)
    name = new_name.strip()
    name = name.removesuffix(SUFFIX).rstrip()
    # Both separators on every OS: a take folder may be copied between systems.
    if not name or name in (".", "..") or any(c in name for c in ("/", "\\", "\0")):
        raise ConfigError(f"{new_name!r} cannot be a take's name.", _NAME_HINT)
    if not path.is_file():
        raise ConfigError(f"Take {path} does not exist.", "Refresh the takes list; it may have been moved or deleted.")
    _refuse_while_recording(path, "renamed")
    target = path.with_name(name + SUFFIX)
    if target == path:
        return path
    if target.exists() and not _same_file(path, target):  # same file: a change of case on a case-blind disk
        raise ConfigError(f"A file named {target.name} already exists in {path.parent}.",
                          "Choose another name, or rename or delete that take first.")
    try:
        os.rename(path, target)  # one step on one file system: the take is under one name or the other, whole
    except OSError as exc:
        raise ExportError(f"Cannot rename {path.name} to {target.name}: {exc.strerror or exc}.",
                          "Check that the takes folder is writable and the name is valid on this system.") from exc
    marker = marker_path(path)
    if marker.exists():
        try:
            os.rename(marker, marker_path(target))
        except OSError as exc:  # the take is renamed; only the crash notice stays behind under the old name
            logger.warning("could not move the recording marker %s: %s", marker, exc)
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def delete_take(path: Path) -> None:
    """Remove a take's journal and its recording marker; a take already gone is no error. A take being recorded is
    refused (ConfigError)."""
    path = _check_take_path(path)
    _refuse_while_recording(path, "deleted")
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot delete {path}: {exc.strerror or exc}.",
                          "Check that the takes folder is writable.") from exc
    marker_path(path).unlink(missing_ok=True)


# -- recording and crash detection --------------------------------------------------------------------------------

def begin_recording(folder: Path, stem: str, fps: float, source: dict) -> JournalWriter:
    """A new journal in `folder` (`JournalWriter.new`) and its recording marker, holding this process's id.
    Finish with `end_recording`; if the process dies first, the marker is what `interrupted_takes` finds."""
    writer = JournalWriter.new(Path(folder), stem, fps, source=source)
    identity = {"pid": os.getpid(), "process": _process_identity(os.getpid()),
                "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        atomic_write(marker_path(writer.path), lambda handle: handle.write(json.dumps(identity).encode()))
    except BaseException:
        writer.close()
        writer.path.unlink(missing_ok=True)  # nothing recorded yet: no take without its crash notice
        raise
    return writer


def end_recording(writer: JournalWriter) -> Path:
    """Close the journal (flushed to disk) and remove its marker; returns the take's path. The marker goes even
    when closing fails: the process lives to report that error, so the take is no crash to offer later."""
    try:
        writer.close()
    finally:
        marker_path(writer.path).unlink(missing_ok=True)
    return writer.path


def interrupted_takes(folder: Path) -> list[TakeInfo]:
    """Takes whose recording marker names a process that no longer runs (the app stopped while recording them),
    newest first: what the GUI offers to export at its next start. Markers whose journal is gone are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    takes = []
    for marker in folder.glob(f"*{SUFFIX}{MARKER_SUFFIX}"):
        journal = marker.with_name(marker.name.removesuffix(MARKER_SUFFIX))
        if _writer_running(marker):
            continue
        try:
            takes.append(take_info(journal))
        except FileNotFoundError:
            continue
    return sorted(takes, key=lambda t: (t.modified, t.name), reverse=True)


def dismiss_interrupted(path: Path) -> None:
    """Forget that `path` was cut short (remove its marker); the take itself stays. Refused (ConfigError) while a
    recording still writes it."""
    path = _check_take_path(path)
    _refuse_while_recording(path, "dismissed")
    marker_path(path).unlink(missing_ok=True)


def _writer_running(marker: Path) -> bool:
    """Whether the process a marker names still runs. A marker that cannot be read or parsed counts as a stopped
    recorder (better to offer a take than to hide it); so does a running process that started after the recorder
    did under the same id (ids are reused, e.g. after a reboot)."""
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    if isinstance(data, int) and not isinstance(data, bool):
        data = {"pid": data}  # a bare process id
    pid = data.get("pid") if isinstance(data, dict) else None
    if isinstance(pid, bool) or not isinstance(pid, int) or not _pid_running(pid):
        return False
    recorded, current = data.get("process"), _process_identity(pid)
    return recorded is None or current is None or recorded == current


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False  # 0 and negative ids address process groups, not a process
    if sys.platform == "win32":
        return _windows_pid_running(pid)
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return False
    return _linux_state(pid) != "Z"  # a zombie has stopped; only its exit status waits to be collected


def _windows_pid_running(pid: int) -> bool:
    # os.kill on Windows terminates the process for any signal but the console ones: ask the kernel instead.
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _linux_stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (field 3, the state, first), or None off Linux / for no process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # the name may hold spaces and ')': split after its last ')'


def _linux_state(pid: int) -> str | None:
    fields = _linux_stat_fields(pid)
    return fields[0] if fields else None


def _process_identity(pid: int) -> str | None:
    """Boot id and start time of a process (Linux): the same id in another boot or started later is another
    process. None where the system does not say."""
    fields = _linux_stat_fields(pid)
    if not fields or len(fields) < 20:
        return None
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="utf-8").strip()
    except OSError:
        boot = ""
    return f"{boot}:{fields[19]}"  # field 22, starttime: clock ticks after boot


# -- exporting ----------------------------------------------------------------------------------------------------

def export_take(path: Path, output: Path, options: ExportOptions, config: AppConfig, *, person: str = "all",
                mesh: str | None = None, rest_joints: Path | None = None, format_name: str | None = None,
                smoothing: str | None = None, progress: Callable[[str], None] = lambda line: None,
                cancelled: Callable[[], bool] = lambda: False,
                on_written: Callable[[ExportResult], None] = lambda result: None) -> list[ExportResult]:
    """Write a take (journal) or clip (.npz) as an animation file: every person to `<stem>_person<id><suffix>`, or
    the one `person` (a track id) to `output`.

    mesh: the body of the bones and of an FBX/glb mesh (`exporting.MESH_CHOICES`, None = auto); rest_joints: a
    (55, 3) .npy skeleton instead. smoothing: look-ahead preset (off | light | medium | strong); None = the settings'
    preset for journals (raw estimates), off for clips (smoothed already). Each clip is put on the file's timeline
    (the take's frame spacing, or `options.fps`) before its body is fitted, so a mesh's per-frame blend-shape
    weights match the file's frames. progress: lines to show (journal damage as "warning: …", the avatar's first
    build). cancelled: asked before each person's file; when it says yes, RunInterrupted (files already written
    stay, and are named). on_written: called with each file as soon as it is written.

    Raises ConfigError (bad mesh, no such person), UnsupportedFormatError, ClipFormatError, ExportError."""
    path, output = Path(path), Path(output)
    row = format_for(output, format_name)
    check_destination(output, format_name)
    if mesh is not None and mesh not in MESH_CHOICES:
        raise ConfigError(f"'--mesh {mesh}' is not a mesh choice.", f"Use one of {', '.join(MESH_CHOICES)}.")
    settings = smoothing_settings(config, smoothing or (None if path.suffix == SUFFIX else "off"))
    clips = load_clips(path, report=lambda line: progress(f"warning: {line}"))
    if person != "all":
        found = [c for c in clips if str(c.track_id) == person]
        if not found:
            raise ConfigError(f"{path} has no person with track id {person}.",
                              f"Track ids in it: {', '.join(str(c.track_id) for c in clips)}.")
        clips = found
    body_models = Path(config.paths.body_models)
    results: list[ExportResult] = []
    for clip in clips:
        if cancelled():
            done = ", ".join(str(r.path) for r in results)
            raise RunInterrupted("Export cancelled" + (f" after writing {done}." if done else "; nothing was written."),
                                 "Export again to write every person." if results else "")
        start = time.perf_counter()
        check_clip(clip)  # before smoothing and resampling: its messages name the recorded frames
        if settings.enabled:
            clip = smooth_clip(clip, settings)
        # Resampled before the body is built from it (as `process` does): the exporters resample a clip that is
        # not on the timeline yet, but a mesh's blend-shape weights are per frame of the clip they were built for.
        clip = on_timeline(clip, options.fps)
        target = person_path(output, clip.track_id, len(clips) > 1)
        written, skinned = export_with_body(clip, target, options, body_models, mesh, rest_joints, row.name,
                                            progress=progress, feet=config.feet.mode)
        result = ExportResult(written, row.name, clip.track_id, clip.num_frames,
                              skinned.name if skinned is not None else None,
                              len(skinned.vertices) if skinned is not None else 0, written.stat().st_size,
                              time.perf_counter() - start)
        results.append(result)
        on_written(result)
    return results
