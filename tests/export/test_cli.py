"""`python main.py export` and `python main.py bench export` end to end."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import REPO


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
