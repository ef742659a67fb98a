"""`python main.py build-engine`: builds with progress and a sidecar, keeps a matching artifact, and every user
mistake ends in error + hint (exit 1)."""

from __future__ import annotations

import pytest

from mocap_app.cli.app import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["build-engine", *args])
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_builds_then_keeps_a_matching_artifact(capsys, tiny_checkpoint, engines_copy) -> None:
    code, out, _ = run(capsys, "--checkpoint", str(tiny_checkpoint), "--precision", "int8", "--engines",
                       str(engines_copy))
    assert code == 0, out
    assert "quantising" in out and "quantised in" in out and "ready" in out
    assert "onnx int8 (SMPLer-X tiny, batch 1-8)" in out and "-int8.onnx.json" in out
    code, out, _ = run(capsys, "--checkpoint", str(tiny_checkpoint), "--precision", "int8", "--engines",
                       str(engines_copy))
    assert code == 0 and "quantis" not in out  # found, not rebuilt
    code, out, _ = run(capsys, "--checkpoint", str(tiny_checkpoint), "--precision", "int8", "--engines",
                       str(engines_copy), "--rebuild")
    assert code == 0 and "quantised in" in out


@pytest.mark.parametrize(("args", "message", "hint"), [
    (("--format", "onnx", "--precision", "fp16", "--size", "s"), "not built in fp16", "onnx precisions: fp32, int8"),
    (("--format", "coreml", "--size", "s"), "Unknown format 'coreml'", "onnx, tensorrt"),
    (("--size", "xl"), "Unknown size 'xl'", "s, b, l, h"),
    ((), "needs --size or --checkpoint", "--size s"),
    (("--checkpoint", "/nonexistent/smpler_x_s32.pth.tar"), "does not exist", "--checkpoint"),
])
def test_user_mistakes_are_error_and_hint(capsys, args, message, hint) -> None:
    code, _, err = run(capsys, *args)
    assert code == 1, err
    assert err.startswith("error: ") and message in err and "hint: " in err and hint in err


def test_a_size_whose_checkpoint_is_not_installed(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--set", f"paths.checkpoints={tmp_path}", "build-engine", "--size", "s"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "SMPLer-X-S checkpoint is not installed" in err and "hint: Download" in err


def test_tensorrt_without_tensorrt_says_what_to_install(capsys, tiny_checkpoint, tmp_path) -> None:
    code, _, err = run(capsys, "--checkpoint", str(tiny_checkpoint), "--format", "tensorrt", "--engines",
                       str(tmp_path))
    assert code == 1 and "tensorrt backend needs tensorrt" in err and "pypi.nvidia.com" in err
