"""Foot contacts in exported files: FBX user properties with curves (re-read by ufbx), glTF extras (pygltflib),
the exported npz; a clip without contacts writes none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mocap_app.body import motions
from mocap_app.export import ExportOptions, export_clip, load_exported_npz
from mocap_app.pipeline.evaluation.feet import CAMERA

READER = Path(__file__).with_name("read_fbx_contacts.py")


@pytest.fixture(scope="module")
def clip():
    return motions.place_grounded(motions.walk(40), CAMERA)


def test_fbx_contacts_are_animated_user_properties_of_the_armature(clip, tmp_path):
    pytest.importorskip("ufbx", reason="ufbx (test-only FBX reader) is not installed")
    path = export_clip(clip, tmp_path / "walk.fbx", ExportOptions())
    frames = [0, 9, 17, 30, 39]
    result = subprocess.run([sys.executable, str(READER), str(path), *map(str, frames)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(read["flags"].values())
    for f, name in enumerate(("LeftFootContact", "RightFootContact")):
        assert np.allclose(read["values"][name], clip.foot_contact[frames, f], atol=1e-6)


def test_glb_contacts_are_animation_extras(clip, tmp_path):
    pygltflib = pytest.importorskip("pygltflib", reason="pygltflib (test-only glTF reader) is not installed")
    path = export_clip(clip, tmp_path / "walk.glb", ExportOptions())
    extras = pygltflib.GLTF2().load(str(path)).animations[0].extras
    assert np.array_equal(extras["left_foot_contact"], clip.foot_contact[:, 0])
    assert np.array_equal(extras["right_foot_contact"], clip.foot_contact[:, 1])


def test_exported_npz_keeps_the_contacts_and_a_clip_without_them_writes_none(clip, tmp_path):
    path = export_clip(clip, tmp_path / "walk.npz", ExportOptions())
    assert np.array_equal(load_exported_npz(path).foot_contact, clip.foot_contact)
    plain = motions.swinging_clip(10)
    with np.load(export_clip(plain, tmp_path / "plain.npz", ExportOptions())) as data:
        assert "foot_contact" not in data.files
    assert load_exported_npz(tmp_path / "plain.npz").foot_contact is None
