"""FBX: files re-read by ufbx, assimp and Blender's two importers match the clip."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.core.skeleton import JOINT_NAMES
from mocap_app.export import ExportOptions, export_clip
from mocap_app.export.bone_names import BONE_NAME_TABLES
from mocap_app.export.motion import rest_joints_of, skeleton_motion

from .conftest import (
    Y_UP_TO_BLENDER,
    angle_deg,
    assimp_info,
    blender_errors,
    make_mesh,
    quaternion_to_matrix,
    read_with,
    read_with_blender,
    skinned_vertices,
)

pytest.importorskip("ufbx", reason="ufbx (test-only FBX reader) is not installed")
FRAMES = [0, 1, 7, 12, 23]


def _check_ufbx(data: dict, motion, unit_meters: float) -> None:
    assert data["version"] == 7400
    assert data["fps"] == pytest.approx(motion.fps)
    assert data["unit_meters"] == pytest.approx(unit_meters)
    assert data["stacks"] == 1
    assert data["time_end"] == pytest.approx((motion.num_frames - 1) / motion.fps, abs=1e-6)
    names = [name for name, _parent in data["bones"]]
    assert sorted(names) == sorted(motion.names)
    parent_of = dict(data["bones"])
    for j, name in enumerate(motion.names):
        p = motion.parents[j]
        assert parent_of[name] == ("Armature" if p < 0 else motion.names[p])
        np.testing.assert_allclose(data["rest_translation"][name], motion.offsets[j], atol=1e-6)
    for f in FRAMES:
        sample = data["samples"][str(f)]
        for j, name in enumerate(motion.names):
            local = quaternion_to_matrix(sample[name]["rotation"])
            assert angle_deg(local, motion.local_rotations[f, j]) < 0.1, (f, name)
            expected = motion.root_positions[f] if motion.parents[j] < 0 else motion.offsets[j]
            np.testing.assert_allclose(sample[name]["translation"], expected, atol=1e-3 * motion.scale / 100)


def test_fbx_skeleton_reads_back_in_ufbx_and_assimp(clip, tmp_path, assimp):
    path = export_clip(clip, tmp_path / "walk.fbx")
    motion = skeleton_motion(clip, ExportOptions())
    data = read_with("ufbx", path, FRAMES)
    _check_ufbx(data, motion, unit_meters=0.01)
    assert data["axes"] == ["POSITIVE_X", "POSITIVE_Y", "POSITIVE_Z"]
    assert data["poses"] == 1  # the bind pose pins the rest pose even without a mesh
    info = assimp_info(path)
    assert info["Animations"] == 1
    assert info["Animation Channels"] == 55
    assert info["Nodes"] == 55 + 2  # root + Armature + bones


def test_fbx_z_up_metres_mixamo_names_without_hands(clip, tmp_path):
    options = ExportOptions(up_axis="z", units="m", bone_names="mixamo", hands=False)
    path = export_clip(clip, tmp_path / "walk.fbx", options)
    motion = skeleton_motion(clip, options)
    assert motion.num_bones == 25
    assert motion.names[0] == "mixamorig:Hips"
    data = read_with("ufbx", path, FRAMES)
    _check_ufbx(data, motion, unit_meters=1.0)
    assert data["axes"] == ["POSITIVE_X", "POSITIVE_Z", "NEGATIVE_Y"]
    # z up: the pelvis rest height is its y in smplx coordinates.
    np.testing.assert_allclose(motion.rest_positions[:, 2], rest_joints_of(options)[motion.joints, 1])


def test_fbx_skinned_mesh_with_blend_shapes_reads_back(clip, tmp_path, assimp):
    mesh = make_mesh(rest_joints_of(ExportOptions()), clip.num_frames)
    options = ExportOptions(mesh=mesh)
    path = export_clip(clip, tmp_path / "face.fbx", options)
    motion = skeleton_motion(clip, options)
    data = read_with("ufbx", path, FRAMES)
    _check_ufbx(data, motion, unit_meters=0.01)
    assert data["meshes"] == 1 and data["skin_deformers"] == 1
    assert data["skin_clusters"] == int((mesh.skin_weights.max(axis=0) > 0).sum())
    assert set(data["blend"]) == {"jawOpen", "eyeBlinkLeft"}
    for k, name in enumerate(mesh.blend_shape_names):
        channel = data["blend"][name]
        assert channel["shape"] == name and channel["offsets"] > 0
        np.testing.assert_allclose(channel["weights"], mesh.blend_shape_weights[FRAMES, k], atol=1e-5)
    info = assimp_info(path)
    assert info["Meshes"] == 1 and info["Animations"] == 1
    assert info["Bones"] == data["skin_clusters"]


@pytest.mark.parametrize("importer", ["fbx", "fbx_ufbx"])
def test_fbx_in_blender_matches_clip(clip, tmp_path, blender, importer):
    path = export_clip(clip, tmp_path / "walk.fbx")
    motion = skeleton_motion(clip, ExportOptions())
    data = read_with_blender(importer, path, clip.fps, FRAMES)
    assert len(data["bones"]) == 55 and data["fps"] == pytest.approx(30.0)
    assert [r[1] - r[0] for r in data["frame_range"]] == [pytest.approx(clip.num_frames - 1, abs=1e-3)]
    rotation_error, position_error = blender_errors(data, motion, Y_UP_TO_BLENDER, FRAMES, root_scale=0.01)
    assert rotation_error < 0.1
    assert position_error < 1e-3


@pytest.mark.parametrize("importer", ["fbx", "fbx_ufbx"])
def test_fbx_mesh_and_blend_shapes_in_blender(clip, tmp_path, blender, importer):
    options = ExportOptions(mesh=make_mesh(rest_joints_of(ExportOptions()), clip.num_frames), up_axis="z",
                            bone_names="unreal")
    path = export_clip(clip, tmp_path / "face.fbx", options)
    motion = skeleton_motion(clip, options)
    data = read_with_blender(importer, path, clip.fps, FRAMES)
    assert data["meshes"] == 1
    assert data["shape_keys"][1:] == ["jawOpen", "eyeBlinkLeft"]
    assert set(data["vertex_groups"]) <= set(BONE_NAME_TABLES["unreal"].values())
    for f in FRAMES:
        shapes = data["samples"][str(f)]["shapes"]
        np.testing.assert_allclose([shapes["jawOpen"], shapes["eyeBlinkLeft"]],
                                   options.mesh.blend_shape_weights[f], atol=1e-4)
    rotation_error, position_error = blender_errors(data, motion, np.eye(3), FRAMES, root_scale=0.01)
    assert rotation_error < 0.1
    assert position_error < 1e-3
    assert len(JOINT_NAMES) == len(data["bones"])
    # Blender's skinned, shape-keyed vertices = our linear blend skinning of the same mesh (z up: no axis change).
    for f in FRAMES:
        expected = skinned_vertices(options.mesh, motion, f)
        np.testing.assert_allclose(np.array(data["samples"][str(f)]["vertices"]) / 0.01, expected, atol=0.05)
