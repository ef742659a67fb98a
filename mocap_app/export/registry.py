"""The one table of export formats (name, suffix, options) and the entry point that uses it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mocap_app.core.errors import ConfigError, UnsupportedFormatError
from mocap_app.core.files import check_output_folder
from mocap_app.core.params import MotionClip

from .base import Exporter, ExportOptions, check_clip
from .bvh import BvhExporter
from .fbx import FbxExporter
from .gltf import GlbExporter
from .npz import NpzExporter
from .timeline import on_timeline


@dataclass(frozen=True)
class ExportFormat:
    """One row of the formats table."""

    name: str
    suffix: str
    options: tuple[str, ...]
    description: str
    exporter: type[Exporter]


FORMATS: dict[str, ExportFormat] = {
    cls.format: ExportFormat(cls.format, cls.suffix, cls.options, description, cls)
    for cls, description in (
        (FbxExporter, "Autodesk FBX 7.4 binary: skeleton, rest + bind pose, optional skinned mesh with blend shapes"),
        (BvhExporter, "Biovision hierarchy: skeleton with Euler rotation channels"),
        (GlbExporter, "glTF 2.0 binary: skinned mesh + skeleton animation"),
        (NpzExporter, "SMPL-X parameters (MotionClip + AMASS-style keys)"),
    )
}


def formats_table() -> str:
    """The table as text, for error messages and --help."""
    return "\n".join(f"  {f.name:<4} {f.suffix:<5} {f.description}; options: {', '.join(f.options) or '-'}"
                     for f in FORMATS.values())


def format_for(path: Path, format_name: str | None = None) -> ExportFormat:
    """The table row for an explicit format name, or else for `path`'s suffix."""
    if format_name is not None:
        if format_name.lower() in FORMATS:
            return FORMATS[format_name.lower()]
        raise UnsupportedFormatError(f"Unknown export format '{format_name}'.",
                                     f"Supported formats:\n{formats_table()}")
    suffix = Path(path).suffix.lower()
    for row in FORMATS.values():
        if row.suffix == suffix:
            return row
    raise UnsupportedFormatError(f"No exporter writes '{suffix or Path(path).name}' files.",
                                 f"Use one of these suffixes:\n{formats_table()}")


def check_options(row: ExportFormat, options: ExportOptions) -> None:
    """Reject options set to non-default values that the format does not have."""
    unsupported = [name for name in options.non_defaults() if name not in row.options]
    if unsupported:
        raise ConfigError(f"The {row.name} format has no option {', '.join(unsupported)}.",
                          f"{row.name} options: {', '.join(row.options) or 'none'}.")


def check_destination(path: Path, format_name: str | None = None) -> None:
    """Fail early, before any work, when `path` cannot be written: unknown format, missing or read-only folder."""
    format_for(path, format_name)
    check_output_folder(Path(path).parent)


def person_path(path: Path, track_id: int, several: bool) -> Path:
    """`path` itself for one person; `<stem>_person<id><suffix>` for each of several."""
    path = Path(path)
    return path.with_name(f"{path.stem}_person{track_id}{path.suffix}") if several else path


def export_clip(clip: MotionClip, path: Path, options: ExportOptions | None = None,
                format_name: str | None = None) -> Path:
    """Write `clip` to `path` in the format named or implied by the suffix; returns the path written. The file
    plays the clip on its own timeline (`timeline.on_timeline`): frames at their recorded times, resampled to
    `options.fps` when given."""
    row = format_for(path, format_name)
    options = options or ExportOptions()
    check_options(row, options)
    check_clip(clip)  # before resampling: its messages name the recorded frames
    return row.exporter().write(on_timeline(clip, options.fps), Path(path), options)
