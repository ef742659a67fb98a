"""BVH: files re-read by bvhio, assimp and Blender's importer match the clip."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.export import ExportOptions, export_clip
from mocap_app.export.motion import skeleton_motion
from mocap_app.export.rotations import ROTATION_ORDERS
from mocap_app.export.timeline import on_timeline

from .conftest import (
    Y_UP_TO_BLENDER,
    angle_deg,
    assimp_info,
    blender_errors,
    quaternion_to_matrix,
    read_with,
    read_with_blender,
)

pytest.importorskip("bvhio", reason="bvhio (test-only BVH reader) is not installed")
FRAMES = [0, 1, 9, 17, 23]


@pytest.mark.parametrize("order", ROTATION_ORDERS)
def test_bvh_rotation_orders_read_back_in_bvhio(clip, tmp_path, order):
    options = ExportOptions(rotation_order=order)
    path = export_clip(clip, tmp_path / "walk.bvh", options)
    motion = skeleton_motion(clip, options)
    data = read_with("bvhio", path, FRAMES)
    assert data["frame_count"] == clip.num_frames
    assert data["frame_time"] == pytest.approx(1 / 30, abs=1e-7)
    assert data["joints"][0] == "pelvis" and sorted(data["joints"]) == sorted(motion.names)
    rotation_channels = [f"{axis}rotation" for axis in order]
    assert data["channels"]["pelvis"] == ["Xposition", "Yposition", "Zposition", *rotation_channels]
    assert data["channels"]["left_knee"] == rotation_channels
    for j, name in enumerate(motion.names):
        parent = motion.parents[j]
        assert data["parents"][name] == (None if parent < 0 else motion.names[parent])
        if parent >= 0:
            np.testing.assert_allclose(data["offsets"][name], motion.offsets[j], atol=1e-5)
    for f in FRAMES:
        sample = data["samples"][str(f)]
        np.testing.assert_allclose(sample["pelvis"]["position"], motion.root_positions[f], atol=1e-5)
        for j, name in enumerate(motion.names):
            assert angle_deg(quaternion_to_matrix(sample[name]["rotation"]), motion.local_rotations[f, j]) < 0.1


def test_bvh_units_and_joint_subsets(clip, tmp_path):
    options = ExportOptions(units="m", hands=False, face=False, bone_names="unity", fps=60.0)
    path = export_clip(clip, tmp_path / "body.bvh", options)
    resampled = on_timeline(clip, 60.0)  # a 30-fps clip at 60 fps: twice the frames, the same duration
    assert resampled.num_frames == 2 * clip.num_frames - 1
    motion = skeleton_motion(resampled, options)
    data = read_with("bvhio", path, [0, 5])
    assert len(data["joints"]) == 22 and data["joints"][0] == "Hips"
    assert data["frame_time"] == pytest.approx(1 / 60, abs=1e-7)
    np.testing.assert_allclose(data["offsets"]["LeftLowerLeg"], motion.offsets[motion.names.index("LeftLowerLeg")],
                               atol=1e-6)
    assert 0.3 < np.linalg.norm(data["offsets"]["LeftLowerLeg"]) < 0.5  # a shin, in metres
    np.testing.assert_allclose(data["samples"]["5"]["Hips"]["position"], motion.root_positions[5], atol=1e-6)


def test_bvh_reads_in_assimp(clip, tmp_path, assimp):
    path = export_clip(clip, tmp_path / "walk.bvh")
    info = assimp_info(path)
    assert info["Animations"] == 1
    assert info["Animation Channels"] == 55


def test_bvh_in_blender_matches_clip(clip, tmp_path, blender):
    path = export_clip(clip, tmp_path / "walk.bvh")
    motion = skeleton_motion(clip, ExportOptions())
    data = read_with_blender("bvh", path, clip.fps, FRAMES)
    assert len(data["bones"]) == 55
    assert data["frame_range"] == [[1.0, float(clip.num_frames)]]
    # Blender's BVH importer keeps the file's units (cm here) as its own.
    rotation_error, position_error = blender_errors(data, motion, Y_UP_TO_BLENDER, FRAMES, root_scale=1.0)
    assert rotation_error < 0.1
    assert position_error < 1e-3
