"""`python main.py export CLIP.npz -o OUT.fbx|.bvh|.glb|.npz`: write a recorded clip as an animation file."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import typer

from mocap_app.core.errors import ClipFormatError, ConfigError, ExportError
from mocap_app.core.mesh import SkinnedMesh
from mocap_app.core.params import MotionClip
from mocap_app.export import ExportFormat, ExportOptions, export_clip, format_for, formats_table, load_exported_npz

from .app import app, current_config

logger = logging.getLogger(__name__)

MESH_CHOICES = ("auto", "smplx", "avatar", "none")


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
    # Importing the body model costs seconds (torch): look for model files first.
    if any((body_models / "smplx").glob("SMPLX_*.npz")):
        from mocap_app.body.smplx_model import SmplxModel

        if clip.gender in SmplxModel.available_genders(body_models):
            return SmplxModel(body_models, clip.gender).rest_joints(betas=clip.betas.mean(axis=0))
    logger.info("no SMPL-X %s model in %s: bones use the reference adult skeleton", clip.gender, body_models)
    return None


def body_for(clip: MotionClip, row: ExportFormat, mesh: str | None, rest_joints: Path | None,
             body_models: Path) -> tuple[np.ndarray | None, SkinnedMesh | None]:
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
    # BVH and other skeleton-only formats take a body only when asked to (building one costs seconds).
    if choice == "none" or ("mesh" not in row.options and not explicit):
        return rest_joints_for(clip, None, body_models), None
    from mocap_app.body.skinned import skinned_body  # torch, smplx and anny load in seconds: only if needed

    body = skinned_body(clip, choice, body_models, progress=lambda line: typer.echo(line, err=True))
    logger.info("body: %s (%d vertices, %d blend shapes)", body.source, len(body.mesh.vertices),
                body.mesh.num_blend_shapes)
    return body.rest_joints, (body.mesh if "mesh" in row.options else None)


@app.command("export", epilog="Formats:\n\n" + formats_table().replace("\n", "\n\n"))
def export_command(
    ctx: typer.Context,
    clip_path: Path = typer.Argument(..., metavar="CLIP.npz", help="Clip written by `process` or `live`."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write; the suffix picks the format."),
    format_name: str = typer.Option(None, "--format", "-f", help="fbx, bvh, glb or npz (default: from suffix)."),
    bone_names: str = typer.Option(None, "--bone-names", help="smplx, mixamo, unreal or unity."),
    up_axis: str = typer.Option(None, "--up", help="FBX up axis: y (default) or z."),
    units: str = typer.Option(None, "--units", help="FBX/BVH lengths: cm (default) or m."),
    rotation_order: str = typer.Option(None, "--rotation-order", help="BVH Euler order, e.g. ZXY (default)."),
    hands: bool = typer.Option(None, "--hands/--no-hands", help="Export the finger joints (default: yes)."),
    face: bool = typer.Option(None, "--face/--no-face", help="Export jaw and eye joints (default: yes)."),
    fps: float = typer.Option(None, "--fps", help="Frame rate written to the file (default: the clip's)."),
    mesh: str = typer.Option(None, "--mesh", help="FBX/glb body mesh, whose skeleton the bones also take: auto "
                             "(default: SMPL-X when the model file of the clip's gender exists, else the default "
                             "avatar, built on first use in about a minute), smplx, avatar or none. BVH stays "
                             "skeleton-only; smplx or avatar give it that body's rest skeleton."),
    rest_joints: Path = typer.Option(None, "--rest-joints", help="(55, 3) .npy rest joints in metres, skeleton "
                                     "only (default: the mesh's body; with --mesh none or for BVH the clip's "
                                     "SMPL-X body, else a reference adult)."),
) -> None:
    """Export a clip as FBX, BVH, glTF binary or SMPL-X npz.

    Examples:
      python main.py export take1.npz -o take1.fbx
      python main.py export take1.npz -o take1.fbx --bone-names mixamo --up z --mesh avatar
      python main.py export take1.npz -o take1.bvh --units m --rotation-order XYZ --no-hands
    """
    row = format_for(output, format_name)
    clip = load_clip(clip_path)
    skeleton, skinned = body_for(clip, row, mesh, rest_joints, Path(current_config(ctx).paths.body_models))
    given = {"bone_names": bone_names, "up_axis": up_axis, "units": units, "rotation_order": rotation_order,
             "hands": hands, "face": face, "fps": fps, "rest_joints": skeleton, "mesh": skinned}
    options = ExportOptions(**{key: value for key, value in given.items() if value is not None})
    start = time.perf_counter()
    written = export_clip(clip, output, options, format_name=row.name)
    size_mb = written.stat().st_size / 1e6
    with_mesh = f", mesh {skinned.name} ({len(skinned.vertices)} vertices)" if skinned is not None else ""
    typer.echo(f"wrote {written} ({row.name}, {clip.num_frames} frames{with_mesh}, {size_mb:.1f} MB) "
               f"in {time.perf_counter() - start:.2f} s")
