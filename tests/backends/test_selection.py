"""Which backend runs: the auto order, explicit choices that cannot run here (error + hint), fallback past a
backend that fails, and TensorRT engines kept for another GPU or runtime (all without TensorRT or a GPU)."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from mocap_app.backends import registry
from mocap_app.backends.artifacts import ArtifactKey, EngineMismatchError, check_artifact, write_sidecar
from mocap_app.backends.registry import Choice, candidates, load_backend
from mocap_app.core.errors import DependencyError, UnsupportedFormatError


def pretend(monkeypatch, gpu: bool, installed: tuple[str, ...]) -> None:
    monkeypatch.setattr(registry, "cuda_available", lambda: gpu)
    monkeypatch.setattr(registry, "_installed", lambda name: name in installed)


def test_auto_prefers_tensorrt_then_gpu_runtimes_then_the_cpu(monkeypatch) -> None:
    pretend(monkeypatch, gpu=True, installed=("torch", "onnxruntime", "tensorrt"))
    names = [(c.backend, c.device, c.precision) for c in candidates("auto", "auto", "auto", has_cpu_graph=False)]
    assert names == [("tensorrt", "cuda", "fp16"), ("torch", "cuda", "fp16"), ("torch", "cpu", "fp32"),
                     ("onnxruntime", "cpu", "fp32")]
    # fp32 asked for: ONNX Runtime's CUDA provider joins; no GPU: CPU only
    assert [c.backend for c in candidates("auto", "auto", "fp32", False)][:3] == ["tensorrt", "onnxruntime", "torch"]
    pretend(monkeypatch, gpu=False, installed=("torch", "onnxruntime", "tensorrt"))
    assert candidates("auto", "auto", "auto", has_cpu_graph=True)[0] == Choice(
        "onnxruntime", "cpu", "fp32", "CPU, ONNX graph built: ONNX Runtime is at least as fast")
    assert candidates("auto", "auto", "auto", has_cpu_graph=False)[0].backend == "torch"
    assert [c.backend for c in candidates("auto", "auto", "int8", False)] == ["onnxruntime"]
    assert [c.backend for c in candidates("auto", "auto", "bf16", False)] == ["torch"]
    assert candidates("torch", "auto", "auto", False) == [Choice("torch", "auto", "fp32", "asked for")]
    with pytest.raises(UnsupportedFormatError, match="no inference backend named 'openvino'"):
        candidates("openvino", "auto", "auto", False)
    with pytest.raises(UnsupportedFormatError, match="no precision named 'int4'"):
        candidates("auto", "auto", "int4", False)


def test_tensorrt_asked_for_without_it_is_an_error_with_what_to_install(monkeypatch, tiny_checkpoint, tmp_path):
    with pytest.raises(DependencyError) as info:  # this machine: no tensorrt package
        load_backend(tiny_checkpoint, backend="tensorrt", engines_dir=tmp_path)
    assert "tensorrt" in info.value.message and "pypi.nvidia.com" in info.value.hint
    with pytest.raises(UnsupportedFormatError, match="TensorRT runs on an NVIDIA GPU"):
        load_backend(tiny_checkpoint, backend="tensorrt", device="cpu", engines_dir=tmp_path)
    pretend(monkeypatch, gpu=False, installed=("torch", "onnxruntime", "tensorrt"))
    monkeypatch.setattr(registry.importlib, "import_module", lambda name: object())  # "tensorrt loads"
    with pytest.raises(DependencyError, match="needs an NVIDIA GPU"):
        registry.require(registry.BACKENDS["tensorrt"])


def test_auto_falls_back_past_a_backend_that_cannot_run_and_says_why(monkeypatch, tiny_checkpoint, tmp_path,
                                                                     caplog) -> None:
    pretend(monkeypatch, gpu=True, installed=("torch", "onnxruntime", "tensorrt"))

    def no_gpu_here(choice, *args):
        if choice.device == "cuda":
            raise DependencyError(f"{choice.backend} found no usable GPU", "-")
        return real_open(choice, *args)

    real_open = registry._open
    monkeypatch.setattr(registry, "_open", no_gpu_here)
    with caplog.at_level(logging.INFO, logger="mocap_app.backends.registry"):
        backend = load_backend(tiny_checkpoint, engines_dir=tmp_path)
    assert backend.describe().name == "torch" and backend.describe().device.startswith("cpu")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "tensorrt cannot run here (tensorrt found no usable GPU)" in warnings[0]
    assert any("SMPLer-X runs on torch fp32 on cpu" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(registry, "_open", lambda *a: (_ for _ in ()).throw(DependencyError("nothing", "-")))
    with pytest.raises(DependencyError, match="No inference backend can run SMPLer-X here"):
        load_backend(tiny_checkpoint, engines_dir=tmp_path)


def test_an_engine_for_another_gpu_or_tensorrt_is_not_used(tmp_path) -> None:
    key = ArtifactKey("tensorrt", "s", "ab" * 32, "fp16", 1, 1, 8, runtime="tensorrt 10.13.0",
                      gpu="NVIDIA H100 80GB HBM3 sm_90")
    engine = tmp_path / key.file_name()
    assert engine.name == "smplerx-s-abababababab-fp16-sm_90.engine"
    engine.write_bytes(b"engine bytes")
    write_sidecar(engine, key, build_seconds=1.0)
    check_artifact(engine, key)  # the same key: used
    other_gpu = dataclasses.replace(key, gpu="NVIDIA GeForce RTX 4090 sm_89")
    with pytest.raises(EngineMismatchError, match="gpu: built 'NVIDIA H100 80GB HBM3 sm_90', now 'NVIDIA GeForce"):
        check_artifact(engine, other_gpu)
    with pytest.raises(EngineMismatchError, match="runtime: built 'tensorrt 10.13.0', now 'tensorrt 11.0.0'"):
        check_artifact(engine, dataclasses.replace(key, runtime="tensorrt 11.0.0"))
    stored = json.loads((tmp_path / f"{engine.name}.json").read_text())
    assert stored["key"]["gpu"] == key.gpu and stored["facts"] == {"build_seconds": 1.0}


def test_process_options_reach_the_backend_choice(monkeypatch, tiny_checkpoint, engines_copy, tmp_path) -> None:
    """`process --backend onnxruntime --precision int8 --checkpoint F` runs that backend (engines in a test folder)."""
    from mocap_app.core.config import load_config
    from mocap_app.pipeline.process import ProcessOptions, build_estimators, close_all

    monkeypatch.setattr(registry, "engines_home", lambda: engines_copy)
    config = load_config(None, [f"paths.body_models={tmp_path}"])
    for backend, precision in (("onnxruntime", "int8"), ("torch", "auto")):
        options = ProcessOptions.from_settings(config, backend=backend, precision=precision,
                                               checkpoint=tiny_checkpoint)
        estimators = build_estimators(options, config)
        try:
            info = estimators[0].describe()
            assert (info.name, info.precision, info.size) == (backend, "fp32" if precision == "auto" else precision,
                                                              "tiny")
        finally:
            close_all(estimators)
