"""The exporter interface, its options, clip checks and atomic file writing shared by every format."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from mocap_app.core.errors import ConfigError, ExportError
from mocap_app.core.params import PARAM_FIELDS, MotionClip
from mocap_app.core.skeleton import NUM_JOINTS

from .bone_names import BONE_NAME_TABLES
from .mesh import SkinnedMesh
from .rotations import ROTATION_ORDERS

UNITS = {"cm": 100.0, "m": 1.0}  # unit name → scale from metres
UP_AXES = ("y", "z")
ROOT_PLACEMENTS = ("ground", "camera")


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how. Each format accepts only the options listed for it in `FORMATS`.

    rest_joints: (55, 3) rest-pose joint positions in metres, smplx model coordinates (y up, z forward),
        of the clip's body; None = `mocap_app.body.rest_skeleton.REST_JOINTS` (an average adult).
    mesh: a skinned mesh (with blend shapes) bound to that skeleton, written animated; None = skeleton only.
    hands: export the 30 finger joints. face: export jaw and eye joints.
    bone_names: naming convention of the bones (see `bone_names.BONE_NAME_TABLES`).
    rotation_order: Euler order of BVH rotation channels ("ZXY" = Zrotation Xrotation Yrotation).
    units: "cm" or "m" for lengths in the file. up_axis: "y" or "z", the file's up axis.
    fps: frame rate of the file; the motion is resampled to it (its timing kept); None = the clip's.
    root: where the body stands in the file: "ground" = on the floor (y = 0 under the feet) at the
        origin (first frame's position), moving from there; "camera" = where the camera saw it (the
        camera at the origin, looking down -z).
    """

    rest_joints: np.ndarray | None = None
    mesh: SkinnedMesh | None = None
    hands: bool = True
    face: bool = True
    bone_names: str = "smplx"
    rotation_order: str = "ZXY"
    units: str = "cm"
    up_axis: str = "y"
    root: str = "ground"
    fps: float | None = None

    def __post_init__(self) -> None:
        choices = {"bone_names": tuple(BONE_NAME_TABLES), "rotation_order": ROTATION_ORDERS, "root": ROOT_PLACEMENTS,
                   "units": tuple(UNITS), "up_axis": UP_AXES}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"'{key}={getattr(self, key)}' is an invalid export option.",
                                  f"Valid '{key}' values are {', '.join(allowed)}.")
        if self.fps is not None and not (np.isfinite(self.fps) and 0 < self.fps <= 1000):
            raise ConfigError(f"'fps={self.fps}' is an invalid export option.", "Use a frame rate in (0, 1000].")
        if self.rest_joints is not None:
            rest = np.array(self.rest_joints, dtype=np.float64)
            if rest.shape != (NUM_JOINTS, 3) or not np.isfinite(rest).all():
                raise ExportError(f"rest_joints must be a finite ({NUM_JOINTS}, 3) array, got shape {rest.shape}.",
                                  "Pass the rest-pose joints of the clip's body model in metres.")
            rest.flags.writeable = False
            object.__setattr__(self, "rest_joints", rest)
        if self.mesh is not None and not isinstance(self.mesh, SkinnedMesh):
            raise ExportError("mesh must be a SkinnedMesh.", "Build it with mocap_app.export.SkinnedMesh.")

    def non_defaults(self) -> list[str]:
        """Names of the options set to something other than their default."""
        names = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in ("rest_joints", "mesh", "fps"):
                if value is not None:
                    names.append(field.name)
            elif value != field.default:
                names.append(field.name)
        return names


class Exporter(Protocol):
    """One file format. `write` returns the path written; errors are `ExportError`s."""

    format: ClassVar[str]
    suffix: ClassVar[str]
    options: ClassVar[tuple[str, ...]]

    def write(self, clip: MotionClip, path: Path, options: ExportOptions) -> Path: ...


def check_clip(clip: MotionClip) -> None:
    """Reject clips no file should be written from: no frames, NaN or infinite values."""
    hint = "Re-record or re-process the video; an exported file needs at least one valid frame."
    if clip.num_frames == 0:
        raise ExportError("The clip has no frames.", hint)
    for name in PARAM_FIELDS:
        values = getattr(clip, name)
        if not np.isfinite(values).all():
            bad = np.flatnonzero(~np.isfinite(values.reshape(clip.num_frames, -1)).all(axis=1))
            raise ExportError(f"The clip's '{name}' has NaN or infinite values (first at frame {bad[0]}).", hint)


def check_mesh(clip: MotionClip, mesh: SkinnedMesh | None) -> None:
    """A mesh's blend-shape weights must cover the clip frame for frame."""
    if mesh is not None and mesh.num_blend_shapes and len(mesh.blend_shape_weights) != clip.num_frames:
        raise ExportError(
            f"The mesh has blend-shape weights for {len(mesh.blend_shape_weights)} frames, "
            f"the clip has {clip.num_frames}.", "Build the mesh's blend-shape weights from the same clip.")
