"""The app's one error tree.

Every error a user can cause (no camera, corrupt video, wrong checkpoint, missing body model, bad
config, unwritable destination) is a `MocapError` subclass with a message saying what went wrong and
a hint saying what to do. The CLI prints both and exits non-zero; the GUI shows them in a dialog.
"""

from __future__ import annotations


class MocapError(Exception):
    """Base of every error the user can cause and fix.

    Args:
        message: what went wrong, in one sentence, naming the file/device/key involved.
        hint: what the user should do about it.
    """

    exit_code = 1  # what the command line exits with

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nhint: {self.hint}" if self.hint else self.message


class ConfigError(MocapError):
    """A config file or override names an unknown key or an invalid value."""


class CaptureError(MocapError):
    """A camera, video file or image folder cannot be opened or read."""


class ModelFileError(MocapError):
    """A network checkpoint is missing, truncated, corrupt or of another model."""


class BodyModelError(MocapError):
    """SMPL-X body-model files are missing or malformed."""


class ClipFormatError(MocapError):
    """A saved motion clip has another schema version, missing keys or wrong shapes."""


class ExportError(MocapError):
    """An animation file cannot be written (bad clip, unwritable destination, disk full)."""


class UnsupportedFormatError(MocapError):
    """A file suffix or format name that no table entry handles."""


class DependencyError(MocapError):
    """An optional package needed for the requested feature is not installed or does not load."""


class NothingFoundError(MocapError):
    """The input was processed but no person was found in it: there is nothing to export."""


class RunInterrupted(MocapError):
    """The user stopped a run (Ctrl-C, SIGTERM); what was recorded is kept."""

    exit_code = 130  # 128 + SIGINT, as shells report an interrupted command


class BatchError(MocapError):
    """A batch of inputs could not run (workers cannot start, a cluster cannot be joined) or some inputs failed."""
