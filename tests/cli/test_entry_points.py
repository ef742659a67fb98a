"""The ways in (`python main.py`, `python -m mocap_app`), what a crash leaves for a bug report, and the one
OpenGL platform rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mocap_app.cli import doctor
from mocap_app.cli.app import EXIT_CRASH, EXIT_USER_ERROR, app, bench_app, eval_app, main
from mocap_app.core.crash import write_crash_report
from mocap_app.render.platform import ENV_VAR, resolve_platform

ROOT = Path(__file__).resolve().parents[2]


def test_python_dash_m_runs_the_same_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "mocap_app", "--help"], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env=dict(os.environ, COLUMNS="200"))
    assert result.returncode == 0, result.stderr
    for command in ("live", "process", "export", "doctor", "bench", "eval"):
        assert command in result.stdout


def test_every_command_is_registered_by_the_app_itself() -> None:
    names = {c.name for c in app.registered_commands}
    assert names == {"live", "process", "export", "doctor", "stream-listen", "build-engine"}
    assert {c.name for c in bench_app.registered_commands} == {
        "batch", "capture", "detect", "export", "landmarks", "live", "longtake", "model", "pipeline", "render",
        "smoothing", "soak", "stream"}
    assert {c.name for c in eval_app.registered_commands} == {"smoothing", "synthetic", "real", "conditions", "feet",
                                                               "face"}


def test_an_internal_error_ends_in_one_line_naming_the_crash_report(monkeypatch, tmp_path, capsys) -> None:
    def broken(config):
        raise KeyError("no such joint")

    monkeypatch.setattr(doctor, "run_checks", broken)
    monkeypatch.setenv("MOCAP_LOG_DIR", str(tmp_path / "logs"))
    with pytest.raises(SystemExit) as exit_info:
        main(["doctor"])
    assert exit_info.value.code == EXIT_CRASH
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "KeyError" in lines[0], lines
    reports = list((tmp_path / "logs").glob("crash-*.log"))
    assert len(reports) == 1 and str(reports[0]) in lines[0]
    report = reports[0].read_text()
    assert "command: mocap doctor" in report
    assert "Traceback (most recent call last)" in report and "KeyError: 'no such joint'" in report
    assert "in broken" in report  # the frame that raised
    for fact in ("python: 3.", "platform: ", "cpu: ", "numpy: ", "torch: "):
        assert fact in report, fact


def test_a_user_error_is_not_a_crash(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("MOCAP_LOG_DIR", str(tmp_path / "logs"))
    with pytest.raises(SystemExit) as exit_info:
        main(["--set", "render.platform=vulkan", "doctor"])
    assert exit_info.value.code == EXIT_USER_ERROR
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: ") and err[1].startswith("hint: ")
    assert not (tmp_path / "logs").exists()


def test_crash_report_falls_back_to_the_temp_folder(tmp_path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the log folder should be")
    try:
        raise ValueError("boom")
    except ValueError as exc:
        path = write_crash_report(exc, ["mocap", "process"], folder=blocked / "logs")
    assert path.parent != blocked / "logs" and "ValueError: boom" in path.read_text()
    path.unlink()


@pytest.mark.parametrize(("setting", "environment", "expected"), [
    ("auto", None, "egl"),
    ("auto", "osmesa", "osmesa"),
    ("auto", "glx", "egl"),  # a platform the offscreen renderer cannot use
    ("egl", "osmesa", "egl"),  # an explicit setting wins over the environment
    ("osmesa", None, "osmesa"),
])
def test_one_rule_picks_the_opengl_platform(monkeypatch, setting, environment, expected) -> None:
    if environment is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, environment)
    assert resolve_platform(setting) == expected
