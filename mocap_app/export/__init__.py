"""Animation export: one `Exporter` per format (FBX, BVH, glTF binary, SMPL-X npz) behind one table."""

from .base import Exporter, ExportOptions
from .mesh import SkinnedMesh, stick_figure_mesh
from .npz import load_exported_npz
from .registry import (
    FORMATS,
    ExportFormat,
    check_destination,
    export_clip,
    format_for,
    formats_table,
    person_path,
)

__all__ = [
    "FORMATS",
    "ExportFormat",
    "ExportOptions",
    "Exporter",
    "SkinnedMesh",
    "check_destination",
    "export_clip",
    "format_for",
    "formats_table",
    "load_exported_npz",
    "person_path",
    "stick_figure_mesh",
]
