"""`python main.py export CLIP -o OUT.fbx|.bvh|.glb|.npz`: write a recorded clip or journal as an animation file."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from mocap_app.core.errors import ConfigError
from mocap_app.export import ExportOptions, check_destination, format_for, formats_table, person_path
from mocap_app.pipeline.exporting import MESH_CHOICES, export_with_body, load_clips
from mocap_app.pipeline.journal import SUFFIX as JOURNAL_SUFFIX
from mocap_app.pipeline.process import smoothing_settings
from mocap_app.smoothing import smooth_clip

from .context import current_config

EPILOG = "Formats:\n\n" + formats_table().replace("\n", "\n\n")


def export_command(
    ctx: typer.Context,
    clip_path: Path = typer.Argument(..., metavar="CLIP", help="A clip (.npz) or a recording journal "
                                     "(.mocapjournal, also one cut short by a crash) written by `process`."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write; the suffix picks the format."),
    format_name: str = typer.Option(None, "--format", "-f", help="fbx, bvh, glb or npz (default: from suffix)."),
    bone_names: str = typer.Option(None, "--bone-names", help="smplx, mixamo, unreal or unity."),
    up_axis: str = typer.Option(None, "--up", help="FBX up axis: y (default) or z."),
    root: str = typer.Option(None, "--root", help="ground (default: standing on the floor at the origin) or "
                             "camera (where the camera saw the body, camera at the origin)."),
    units: str = typer.Option(None, "--units", help="FBX/BVH lengths: cm (default) or m."),
    rotation_order: str = typer.Option(None, "--rotation-order", help="BVH Euler order, e.g. ZXY (default)."),
    hands: bool = typer.Option(None, "--hands/--no-hands", help="Export the finger joints (default: yes)."),
    face: bool = typer.Option(None, "--face/--no-face", help="Export jaw and eye joints (default: yes)."),
    fps: float = typer.Option(None, "--fps", help="Frame rate of the file; the motion is resampled to it, "
                              "keeping its timing (default: the clip's)."),
    mesh: str = typer.Option(None, "--mesh", help="The body whose skeleton the bones take, and whose mesh FBX/glb "
                             "carry: auto (default: SMPL-X when the model file of the clip's gender exists, else "
                             "the default avatar, built on first use in about a minute), smplx, avatar, or none "
                             "(skeleton only: the clip's SMPL-X body or a reference adult)."),
    rest_joints: Path = typer.Option(None, "--rest-joints", help="(55, 3) .npy rest joints in metres, skeleton "
                                     "only (default: the --mesh body)."),
    smoothing: str = typer.Option(None, "--smoothing", help="off, light, medium or strong: look-ahead smoothing "
                                  "before writing (default: the settings' preset for journals, which hold raw "
                                  "estimates; off for clips, which are smoothed already)."),
    person: str = typer.Option("all", "--person", help="Journals with several people: 'all' (one file each, "
                               "named <name>_person<id>) or one track id."),
) -> None:
    """Export a clip as FBX, BVH, glTF binary or SMPL-X npz.

    Examples:
      python main.py export take1.npz -o take1.fbx
      python main.py export take1.npz -o take1.fbx --bone-names mixamo --up z --mesh avatar
      python main.py export take1.npz -o take1.bvh --units m --rotation-order XYZ --no-hands
    """
    row = format_for(output, format_name)
    check_destination(output, format_name)
    if mesh is not None and mesh not in MESH_CHOICES:
        raise ConfigError(f"'--mesh {mesh}' is not a mesh choice.", f"Use one of {', '.join(MESH_CHOICES)}.")
    config = current_config(ctx)
    is_journal = clip_path.suffix == JOURNAL_SUFFIX
    settings = smoothing_settings(config, smoothing or (None if is_journal else "off"))
    clips = load_clips(clip_path, report=lambda line: typer.echo(f"warning: {line}", err=True))
    if person != "all":
        found = [c for c in clips if str(c.track_id) == person]
        if not found:
            raise ConfigError(f"{clip_path} has no person with track id {person}.",
                              f"Track ids in it: {', '.join(str(c.track_id) for c in clips)}.")
        clips = found
    given = {"bone_names": bone_names, "up_axis": up_axis, "root": root, "units": units,
             "rotation_order": rotation_order,
             "hands": hands, "face": face, "fps": fps}
    options = ExportOptions(**{key: value for key, value in given.items() if value is not None})
    body_models = Path(config.paths.body_models)
    for clip in clips:
        if settings.enabled:
            clip = smooth_clip(clip, settings)
        start = time.perf_counter()
        target = person_path(output, clip.track_id, len(clips) > 1)
        written, skinned = export_with_body(clip, target, options, body_models, mesh, rest_joints, row.name,
                                            progress=lambda line: typer.echo(line, err=True))
        size_mb = written.stat().st_size / 1e6
        with_mesh = f", mesh {skinned.name} ({len(skinned.vertices)} vertices)" if skinned is not None else ""
        typer.echo(f"wrote {written} ({row.name}, {clip.num_frames} frames{with_mesh}, {size_mb:.1f} MB) "
                   f"in {time.perf_counter() - start:.2f} s")
