"""`python main.py export CLIP -o OUT.fbx|.bvh|.glb|.npz`: write a recorded clip or journal as an animation file."""

from __future__ import annotations

from pathlib import Path

import typer

from mocap_app.export import ExportOptions, formats_table
from mocap_app.pipeline.takes import ExportResult, export_take

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
    given = {"bone_names": bone_names, "up_axis": up_axis, "root": root, "units": units,
             "rotation_order": rotation_order,
             "hands": hands, "face": face, "fps": fps}
    options = ExportOptions(**{key: value for key, value in given.items() if value is not None})

    def wrote(result: ExportResult) -> None:
        with_mesh = f", mesh {result.mesh} ({result.mesh_vertices} vertices)" if result.mesh is not None else ""
        typer.echo(f"wrote {result.path} ({result.format}, {result.frames} frames{with_mesh}, "
                   f"{result.size_bytes / 1e6:.1f} MB) in {result.seconds:.2f} s")

    export_take(clip_path, output, options, current_config(ctx), person=person, mesh=mesh, rest_joints=rest_joints,
                format_name=format_name, smoothing=smoothing, progress=lambda line: typer.echo(line, err=True),
                on_written=wrote)
