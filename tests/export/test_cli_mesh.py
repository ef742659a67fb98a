"""`python main.py export --mesh auto|smplx|avatar|none`: the body mesh and the bones come from one body."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.core.params import MotionClip
from mocap_app.core.skeleton import JOINT_INDEX

from .conftest import make_clip, read_with
from .test_cli import _main


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory):
    return make_clip(num_frames=6, gender="neutral").save(tmp_path_factory.mktemp("clip") / "take.npz")


def _bvh_offset(text: str, joint: str) -> np.ndarray:
    lines = text.splitlines()
    at = lines.index(next(line for line in lines if line.strip() == f"JOINT {joint}"))
    return np.array([float(v) for v in lines[at + 2].split()[1:]])


def test_export_smplx_mesh_with_the_files_and_avatar_without(clip_path, tmp_path, smplx_body_models, smplx_model):
    pytest.importorskip("ufbx", reason="ufbx (test-only FBX reader) is not installed")
    out = tmp_path / "smplx.fbx"
    result = _main("--set", f"paths.body_models={smplx_body_models}", "export", str(clip_path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "mesh SMPLX (10475 vertices)" in result.stdout
    data = read_with("ufbx", out, [0, 5])
    assert data["mesh_vertices"] == [10475] and len(data["blend"]) == 20 and "expr09_neg" in data["blend"]
    rest = smplx_model.rest_joints(betas=MotionClip.load(clip_path).betas.mean(axis=0)).astype(np.float64)
    knee, hip = JOINT_INDEX["left_knee"], JOINT_INDEX["left_hip"]
    np.testing.assert_allclose(data["rest_translation"]["left_knee"], 100.0 * (rest[knee] - rest[hip]), atol=1e-3)

    # No SMPL-X file for the clip's gender: auto takes the default avatar (glb: morph targets).
    out = tmp_path / "avatar.glb"
    result = _main("--set", f"paths.body_models={tmp_path}", "export", str(clip_path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "mesh Avatar (13718 vertices)" in result.stdout
    data = read_with("gltf", out, [0, 5])
    assert data["vertices"] == 13718 and data["targets"] == 52 and "jawOpen" in data["target_names"]


def test_bvh_takes_the_chosen_bodys_skeleton_and_conflicting_choices_are_errors(clip_path, tmp_path):
    from mocap_app.body.avatar import AnnyAvatar

    out = tmp_path / "avatar.bvh"
    result = _main("export", str(clip_path), "-o", str(out), "--mesh", "avatar")
    assert result.returncode == 0, result.stderr
    rest = AnnyAvatar(progress=lambda line: None).rest_joints().astype(np.float64)
    knee, hip = JOINT_INDEX["left_knee"], JOINT_INDEX["left_hip"]
    np.testing.assert_allclose(_bvh_offset(out.read_text(), "left_knee"), 100.0 * (rest[knee] - rest[hip]),
                               atol=1e-3)

    result = _main("--set", f"paths.body_models={tmp_path}", "export", str(clip_path), "-o",
                   str(tmp_path / "x.fbx"), "--mesh", "smplx")
    assert result.returncode == 1 and "SMPLX_NEUTRAL.npz does not exist" in result.stderr and "hint:" in result.stderr
    np.save(tmp_path / "rest.npy", rest)
    result = _main("export", str(clip_path), "-o", str(tmp_path / "x.fbx"), "--mesh", "avatar",
                   "--rest-joints", str(tmp_path / "rest.npy"))
    assert result.returncode == 1 and "both choose the body" in result.stderr
    result = _main("export", str(clip_path), "-o", str(tmp_path / "x.npz"), "--mesh", "avatar")
    assert result.returncode == 1 and "npz format has no option mesh" in result.stderr
    result = _main("export", str(clip_path), "-o", str(tmp_path / "x.fbx"), "--mesh", "cube")
    assert result.returncode == 1 and "not a mesh choice" in result.stderr
    assert not list(tmp_path.glob("x.*"))
