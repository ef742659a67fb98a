"""glTF binary: files re-read by pygltflib (decoded here), assimp and Blender's importer match the clip."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.export import ExportOptions, export_clip
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
)

pytest.importorskip("pygltflib", reason="pygltflib (test-only glTF reader) is not installed")
FRAMES = [0, 3, 11, 23]


def _xyzw_to_matrix(q: list[float]) -> np.ndarray:
    return quaternion_to_matrix([q[3], q[0], q[1], q[2]])


def test_glb_skin_and_animation_read_back_in_pygltflib(clip, tmp_path, assimp):
    path = export_clip(clip, tmp_path / "walk.glb")
    motion = skeleton_motion(clip, ExportOptions(), units="m")
    data = read_with("gltf", path, FRAMES)
    assert data["joints"] == list(motion.names)
    assert data["num_keys"] == clip.num_frames
    assert data["time_end"] == pytest.approx((clip.num_frames - 1) / clip.fps, abs=1e-6)
    assert data["vertices"] > 0 and data["materials"] == 1  # the stick figure that carries the skin
    for j, name in enumerate(motion.names):
        parent = motion.parents[j]
        if parent >= 0:
            assert data["parents"][name] == motion.names[parent]
        np.testing.assert_allclose(data["rest_translation"][name], motion.offsets[j], atol=1e-6)
        inverse_bind = np.array(data["inverse_bind"][j]).reshape(4, 4).T
        np.testing.assert_allclose(inverse_bind[:3, 3], -motion.rest_positions[j], atol=1e-6)
    for i, f in enumerate(FRAMES):
        np.testing.assert_allclose(data["tracks"]["pelvis/translation"][i], motion.root_positions[f], atol=1e-5)
        for j, name in enumerate(motion.names):
            rotation = _xyzw_to_matrix(data["tracks"][f"{name}/rotation"][i])
            assert angle_deg(rotation, motion.local_rotations[f, j]) < 0.1
    info = assimp_info(path)
    assert info["Meshes"] == 1 and info["Animations"] == 1 and info["Animation Channels"] == 55


def test_glb_morph_targets_carry_blend_shape_weights(clip, tmp_path):
    mesh = make_mesh(rest_joints_of(ExportOptions()), clip.num_frames)
    path = export_clip(clip, tmp_path / "face.glb", ExportOptions(mesh=mesh, hands=False))
    data = read_with("gltf", path, FRAMES)
    assert len(data["joints"]) == 25
    assert data["targets"] == 2 and data["target_names"] == ["jawOpen", "eyeBlinkLeft"]
    np.testing.assert_allclose(data["tracks"]["Body/weights"], mesh.blend_shape_weights[FRAMES], atol=1e-6)


def test_glb_in_blender_matches_clip(clip, tmp_path, blender):
    mesh = make_mesh(rest_joints_of(ExportOptions()), clip.num_frames)
    path = export_clip(clip, tmp_path / "walk.glb", ExportOptions(mesh=mesh))
    motion = skeleton_motion(clip, ExportOptions(), units="m")
    data = read_with_blender("gltf", path, clip.fps, FRAMES)
    assert len(data["bones"]) == 55 and data["meshes"] == 1
    assert data["shape_keys"][1:] == ["jawOpen", "eyeBlinkLeft"]
    for f in FRAMES:
        shapes = data["samples"][str(f)]["shapes"]
        np.testing.assert_allclose([shapes["jawOpen"], shapes["eyeBlinkLeft"]], mesh.blend_shape_weights[f],
                                   atol=1e-4)
    rotation_error, position_error = blender_errors(data, motion, Y_UP_TO_BLENDER, FRAMES, root_scale=1.0)
    assert rotation_error < 0.1
    assert position_error < 1e-4
