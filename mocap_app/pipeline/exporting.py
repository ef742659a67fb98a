"""Exporting recorded motion with a body: loading clips and journals, choosing the skeleton and mesh.

Shared by `python main.py export` and `process` (and later the GUI): the bones and the mesh of an
exported file always come from one body — the user's SMPL-X model (clip's gender and mean betas)
when installed, else the free default avatar — unless the user picks otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mocap_app.body.feet import check_feet_mode, clean_feet
from mocap_app.body.smplx_files import available_genders
from mocap_app.core.errors import ClipFormatError, ConfigError, ExportError
from mocap_app.core.mesh import SkinnedMesh
from mocap_app.core.params import MotionClip
from mocap_app.export import ExportFormat, ExportOptions, export_clip, format_for, load_exported_npz

from .journal import SUFFIX as JOURNAL_SUFFIX
from .journal import journal_to_clips

logger = logging.getLogger(__name__)


MESH_CHOICES = ("auto", "smplx", "avatar", "none")


def load_clips(path: Path, report: Callable[[str], None] = logger.warning) -> list[MotionClip]:
    """Every track in a recording journal (damage it had goes to `report`), or the one clip in a clip /
    exported .npz file."""
    if Path(path).suffix == JOURNAL_SUFFIX:
        return journal_to_clips(path, report=report)
    return [load_clip(path)]


def load_clip(path: Path) -> MotionClip:
    """A MotionClip from a clip file, or from an .npz this app exported (which stores betas per frame apart)."""
    try:
        return MotionClip.load(path)
    except ClipFormatError:
        try:
            with np.load(path, allow_pickle=False) as data:
                exported = "betas_per_frame" in data.files
        except (OSError, ValueError, EOFError):
            exported = False
        if not exported:
            raise
        return load_exported_npz(path)


def rest_joints_for(clip: MotionClip, path: Path | None, body_models: Path) -> np.ndarray | None:
    """The skeleton to export: a given .npy, else the clip's body from the SMPL-X files (mean betas), else
    None (the exporters' reference adult skeleton)."""
    if path is not None:
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ExportError(f"Cannot read rest joints from {path} ({exc}).",
                              "Pass a .npy file holding a (55, 3) float array in metres.") from exc
    if clip.gender in available_genders(body_models):
        from mocap_app.body.smplx_model import SmplxModel  # torch: seconds to import, only when it is used

        return SmplxModel(body_models, clip.gender).rest_joints(betas=clip.betas.mean(axis=0))
    logger.info("no SMPL-X %s model in %s: bones use the reference adult skeleton", clip.gender, body_models)
    return None


def body_for(clip: MotionClip, row: ExportFormat, mesh: str | None, rest_joints: Path | None,
             body_models: Path, progress: Callable[[str], None] = logger.info,
             ) -> tuple[np.ndarray | None, SkinnedMesh | None]:
    """Rest joints and skinned mesh to export, one body for both (see `--mesh`)."""
    choice = mesh or "auto"
    if choice not in MESH_CHOICES:
        raise ConfigError(f"'--mesh {choice}' is not a mesh choice.", f"Use one of {', '.join(MESH_CHOICES)}.")
    explicit = choice in ("smplx", "avatar")
    if "rest_joints" not in row.options:
        if explicit:
            raise ConfigError(f"The {row.name} format has no option mesh.", "Leave out --mesh for this format.")
        return None, None
    if rest_joints is not None:
        if explicit:
            raise ConfigError("--rest-joints and --mesh smplx|avatar both choose the body.",
                              "Give one of them (--rest-joints exports the skeleton without a mesh).")
        return rest_joints_for(clip, rest_joints, body_models), None
    # Skeleton-only formats (BVH) take the same body as FBX/glb would, so one take exported to both
    # has one skeleton.
    if choice == "none":
        return rest_joints_for(clip, None, body_models), None
    from mocap_app.body.skinned import skinned_body  # torch, smplx and anny load in seconds: only if needed

    body = skinned_body(clip, choice, body_models, progress=progress)
    logger.info("body: %s (%d vertices, %d blend shapes)", body.source, len(body.mesh.vertices),
                body.mesh.num_blend_shapes)
    return body.rest_joints, (body.mesh if "mesh" in row.options else None)


def export_with_body(clip: MotionClip, output: Path, options: ExportOptions, body_models: Path,
                     mesh: str | None = None, rest_joints: Path | None = None, format_name: str | None = None,
                     progress: Callable[[str], None] = logger.info, feet: str = "off",
                     ) -> tuple[Path, SkinnedMesh | None]:
    """Write `clip` with the skeleton (and, for FBX/glb, the mesh) of the body `mesh` chooses.

    feet: "lock" cleans the feet up first (`body.feet.clean_feet`) on that body's skeleton, so planted feet stay
    planted in the file's own bones; a clip cleaned already (its source says so) is written as it is.
    """
    row = format_for(output, format_name)
    skeleton, skinned = body_for(clip, row, mesh, rest_joints, body_models, progress)
    if check_feet_mode(feet) == "lock" and "feet" not in (clip.source or {}):
        clip = clean_feet(clip, skeleton).clip
    extra = {"rest_joints": skeleton, "mesh": skinned}
    options = ExportOptions(**{**{f: getattr(options, f) for f in options.__dataclass_fields__},
                               **{k: v for k, v in extra.items() if v is not None}})
    return export_clip(clip, output, options, format_name=row.name), skinned
