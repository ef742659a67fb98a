"""The formats table, option checks, clip checks and atomic writes shared by every exporter."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.errors import ConfigError, ExportError, UnsupportedFormatError
from mocap_app.core.files import atomic_write
from mocap_app.core.params import MotionClip
from mocap_app.export import FORMATS, ExportOptions, SkinnedMesh, export_clip, format_for
from mocap_app.export.bone_names import BONE_NAME_TABLES, bone_names
from mocap_app.export.motion import rest_joints_of

from .conftest import make_clip, make_mesh


def _with(clip: MotionClip, **changes: np.ndarray) -> MotionClip:
    fields = {name: getattr(clip, name) for name in MotionClip.ARRAY_SPECS}
    return MotionClip(**(fields | changes), fps=clip.fps)


def test_formats_table_maps_suffixes_and_names():
    assert {row.suffix for row in FORMATS.values()} == {".fbx", ".bvh", ".glb", ".npz"}
    assert format_for(Path("a/take.FBX")).name == "fbx"
    assert format_for(Path("take.bin"), "bvh").name == "bvh"
    with pytest.raises(UnsupportedFormatError, match=r"\.obj") as error:
        format_for(Path("take.obj"))
    assert ".glb" in error.value.hint
    with pytest.raises(UnsupportedFormatError):
        format_for(Path("take.fbx"), "usd")


def test_options_are_validated_and_checked_per_format(clip, tmp_path):
    with pytest.raises(ConfigError, match="rotation_order"):
        ExportOptions(rotation_order="XXY")
    with pytest.raises(ConfigError, match="units"):
        ExportOptions(units="inch")
    with pytest.raises(ExportError, match="rest_joints"):
        ExportOptions(rest_joints=np.zeros((22, 3)))
    with pytest.raises(ConfigError, match="up_axis"):
        export_clip(clip, tmp_path / "a.bvh", ExportOptions(up_axis="z"))
    with pytest.raises(ConfigError, match="rotation_order"):
        export_clip(clip, tmp_path / "a.fbx", ExportOptions(rotation_order="XYZ"))
    assert list(tmp_path.iterdir()) == []


def test_bone_name_tables_cover_every_joint_uniquely():
    for convention in BONE_NAME_TABLES:
        names = bone_names(convention)
        assert len(set(names)) == 55, convention
        assert all(name and " " not in name for name in names)
    assert bone_names("mixamo")[0] == "mixamorig:Hips"
    assert bone_names("unreal")[bone_names("smplx").index("left_elbow")] == "lowerarm_l"
    assert bone_names("unity")[bone_names("smplx").index("right_pinky3")] == "RightLittleDistal"


@pytest.mark.parametrize("suffix", [".fbx", ".bvh", ".glb", ".npz"])
def test_empty_or_nan_clip_gives_export_error_and_no_file(clip, tmp_path, suffix):
    empty = make_clip(num_frames=0)
    with pytest.raises(ExportError, match="no frames"):
        export_clip(empty, tmp_path / f"a{suffix}")
    body = np.array(clip.body_pose)
    body[5, 3, 1] = np.nan
    with pytest.raises(ExportError, match=r"body_pose.*frame 5"):
        export_clip(_with(clip, body_pose=body), tmp_path / f"a{suffix}")
    transl = np.array(clip.transl)
    transl[0, 0] = np.inf
    with pytest.raises(ExportError, match="transl"):
        export_clip(_with(clip, transl=transl), tmp_path / f"a{suffix}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".fbx", ".bvh", ".glb", ".npz"])
def test_unwritable_destination_gives_export_error(clip, tmp_path, suffix):
    with pytest.raises(ExportError, match="does not exist"):
        export_clip(clip, tmp_path / "missing" / f"a{suffix}")
    (tmp_path / f"folder{suffix}").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        export_clip(clip, tmp_path / f"folder{suffix}")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        export_clip(clip, blocker / f"a{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", f"folder{suffix}"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_gives_export_error(clip, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="Cannot write"):
            export_clip(clip, folder / "a.fbx")
    finally:
        folder.chmod(0o700)


def test_failed_write_keeps_existing_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "take.fbx"
    target.write_bytes(b"previous export")

    def half_then_fail(handle):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="No space left"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["take.fbx"]

    def interrupted(handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["take.fbx"]


def test_successful_export_replaces_file_with_normal_permissions(clip, tmp_path):
    target = tmp_path / "take.bvh"
    target.write_text("old")
    export_clip(clip, target)
    assert target.read_text().startswith("HIERARCHY")
    assert target.stat().st_mode & 0o644 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["take.bvh"]


def test_mesh_is_validated(clip, tmp_path):
    mesh = make_mesh(rest_joints_of(ExportOptions()), clip.num_frames)
    with pytest.raises(ExportError, match="sum to 1"):
        SkinnedMesh(mesh.vertices, mesh.faces, mesh.skin_weights * 0.5)
    with pytest.raises(ExportError, match="face indices"):
        SkinnedMesh(mesh.vertices, mesh.faces + len(mesh.vertices), mesh.skin_weights)
    with pytest.raises(ExportError, match="repeated"):
        SkinnedMesh(mesh.vertices, mesh.faces, mesh.skin_weights, ("a", "a"), mesh.blend_shape_deltas,
                    mesh.blend_shape_weights)
    short = SkinnedMesh(mesh.vertices, mesh.faces, mesh.skin_weights, mesh.blend_shape_names,
                        mesh.blend_shape_deltas, mesh.blend_shape_weights[:5])
    for suffix in (".fbx", ".glb"):
        with pytest.raises(ExportError, match="5 frames"):
            export_clip(clip, tmp_path / f"a{suffix}", ExportOptions(mesh=short))
    assert list(tmp_path.iterdir()) == []


def test_ground_root_stands_the_body_on_the_floor_at_the_origin(clip) -> None:
    from mocap_app.core.skeleton import JOINT_INDEX
    from mocap_app.export.motion import skeleton_motion

    feet = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    for up_axis, up in (("y", np.array([0.0, 1.0, 0.0])), ("z", np.array([0.0, 0.0, 1.0]))):
        ground = skeleton_motion(clip, ExportOptions(up_axis=up_axis, units="m"))
        camera = skeleton_motion(clip, ExportOptions(up_axis=up_axis, units="m", root="camera"))
        _, positions = ground.global_transforms()
        bones = [int(np.flatnonzero(ground.joints == j)[0]) for j in feet]
        lowest = (positions[:, bones] @ up).min(axis=1)
        assert np.median(lowest) == pytest.approx(0.0, abs=1e-9)  # feet on the floor
        start = ground.root_positions[0]
        np.testing.assert_allclose(start - (start @ up) * up, 0.0, atol=1e-9)  # starts at the origin
        # Same motion, only moved: frame-to-frame root steps are those of the camera placement.
        np.testing.assert_allclose(np.diff(ground.root_positions, axis=0), np.diff(camera.root_positions, axis=0),
                                   atol=1e-9)
        np.testing.assert_allclose(ground.local_rotations, camera.local_rotations)
    with pytest.raises(ConfigError, match="'root=floor' is an invalid export option"):
        ExportOptions(root="floor")


@pytest.mark.parametrize("suffix", [".fbx", ".bvh", ".glb", ".npz"])
def test_a_file_size_limit_during_export_fails_fast_keeping_the_previous_file(tmp_path, suffix):
    """RLIMIT_FSIZE in a child process: the write fails with EFBIG (Python ignores SIGXFSZ), like a full disk."""
    import subprocess
    import sys
    import textwrap

    target = tmp_path / f"take{suffix}"
    target.write_bytes(b"the previous export")
    code = textwrap.dedent(f"""
        import resource, sys, time
        from mocap_app.body.motions import swinging_clip
        from mocap_app.core.errors import ExportError
        from mocap_app.export import export_clip
        clip = swinging_clip(3000)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        start = time.monotonic()
        try:
            export_clip(clip, {str(target)!r})
        except ExportError as exc:
            print(round(time.monotonic() - start, 2), exc.message)
            sys.exit(3)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    seconds, message = result.stdout.split(" ", 1)
    assert float(seconds) < 2.0 and "Could not write" in message
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left
