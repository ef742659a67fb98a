"""Writing files so that a failure never leaves half a file or clobbers the previous one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import ExportError

# mkstemp creates 0600 files; written files get the usual permissions. Read once: os.umask is process-wide.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def check_output_folder(folder: Path, what: str = "Output") -> None:
    """Fail before any work when files cannot be created in `folder` (missing, not a folder, read-only)."""
    folder = Path(folder)
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise ExportError(f"{what} folder {folder} {problem}.", "Create it first, or choose another path.")
    if not os.access(folder, os.W_OK):
        raise ExportError(f"{what} folder {folder} is not writable.", "Choose a folder you can write to.")


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Run `write(handle)` on a temp file in the target folder, then rename it to `path` in one step.

    A failure (exception, full disk, killed process) leaves no partial file and never touches an
    existing `path`; on success `path` is replaced atomically.
    """
    path = Path(path)
    hint = "Choose a folder that exists and that you can write to, with free disk space."
    if not path.parent.is_dir():
        problem = "is not a folder" if path.parent.exists() else "does not exist"
        raise ExportError(f"Folder {path.parent} {problem}.", hint)
    if path.is_dir():
        raise ExportError(f"{path} is a folder, not a file name.", hint)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ExportError(f"Cannot write into {path.parent}: {exc.strerror or exc}.", hint) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_UMASK)
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise ExportError(f"Could not write {path}: {exc.strerror or exc}.", hint) from exc
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path

