"""`python main.py export` and `python main.py bench export` end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from .conftest import REPO, make_clip


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_export_command_writes_each_format_and_reports_errors(clip, tmp_path):
    clip_path = clip.save(tmp_path / "take.npz")
    result = _main("export", str(clip_path), "-o", str(tmp_path / "take.fbx"), "--bone-names", "unity", "--up", "z")
    assert result.returncode == 0, result.stderr
    assert "24 frames" in result.stdout
    assert (tmp_path / "take.fbx").read_bytes().startswith(b"Kaydara FBX Binary")
    assert _main("export", str(clip_path), "-o", str(tmp_path / "smplx.npz")).returncode == 0
    # An exported npz is itself accepted as input.
    result = _main("export", str(tmp_path / "smplx.npz"), "-o", str(tmp_path / "take.bvh"), "--no-hands",
                   "--rotation-order", "XYZ")
    assert result.returncode == 0, result.stderr
    assert "CHANNELS 3 Xrotation Yrotation Zrotation" in (tmp_path / "take.bvh").read_text()

    result = _main("export", str(clip_path), "-o", str(tmp_path / "take.glb"), "--up", "z")
    assert result.returncode == 1 and "error: The glb format has no option up_axis" in result.stderr
    result = _main("export", str(clip_path), "-o", str(tmp_path / "nope" / "take.fbx"))
    assert result.returncode == 1 and "does not exist" in result.stderr and "hint:" in result.stderr
    result = _main("export", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "x.fbx"))
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "take.glb").exists() and not (tmp_path / "x.fbx").exists()


def test_bench_export_times_every_format(tmp_path):
    result = _main("bench", "export", "--frames", "300", "--json", str(tmp_path / "bench.json"))
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert [r["format"] for r in figures["results"]] == ["fbx", "bvh", "glb", "npz"]
    assert all(r["seconds"] > 0 and r["megabytes"] > 0 and r["within_target"] for r in figures["results"])


def test_export_takes_bones_from_the_clips_smplx_body(tmp_path, smplx_model, smplx_body_models):
    clip = make_clip(num_frames=5, gender="neutral")
    clip_path = clip.save(tmp_path / "take.npz")
    out = tmp_path / "take.bvh"
    result = _main("--set", f"paths.body_models={smplx_body_models}", "export", str(clip_path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rest = smplx_model.rest_joints(betas=clip.betas.mean(axis=0)).astype(np.float64)
    lines = out.read_text().splitlines()
    knee = lines.index(next(line for line in lines if line.strip() == "JOINT left_knee"))
    offset = [float(v) for v in lines[knee + 2].split()[1:]]
    np.testing.assert_allclose(offset, 100.0 * (rest[4] - rest[1]), atol=1e-4)  # cm, smplx axes (y up)
