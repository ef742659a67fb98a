"""The TensorRT engine builder's own logic — flags, optimisation profile, progress, refusals, the file it writes —
run against a recording stand-in for the `tensorrt` module (no TensorRT here). The real API is exercised by the
gpu-marked tests in test_gpu.py."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

from mocap_app.backends.artifacts import EngineMismatchError
from mocap_app.core.errors import ConfigError


class _Recorder:
    """A tensorrt stand-in: records builder calls; `parse_ok`/`engine` choose what parse/build return."""

    def __init__(self, parse_ok: bool = True, engine: bytes | None = b"serialized engine") -> None:
        self.calls: list[tuple] = []
        self.parse_ok, self.engine = parse_ok, engine
        recorder = self

        class Logger:
            WARNING = "warning"

            def __init__(self, level):
                recorder.calls.append(("logger", level))

        class Profile:
            def set_shape(self, name, low, opt, high):
                recorder.calls.append(("profile", name, low, opt, high))

        class Config:
            progress_monitor = None

            def set_memory_pool_limit(self, pool, size):
                recorder.calls.append(("workspace", size))

            def set_flag(self, flag):
                recorder.calls.append(("flag", flag))

            def add_optimization_profile(self, profile):
                recorder.calls.append(("add_profile",))

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, flags):
                recorder.calls.append(("network", flags))
                return "network"

            def create_builder_config(self):
                recorder.config = Config()
                return recorder.config

            def create_optimization_profile(self):
                return Profile()

            def build_serialized_network(self, network, config):
                config.progress_monitor.phase_start("Building", None, 3)
                config.progress_monitor.phase_start("Tactics", "Building", 9)  # nested: not reported
                return recorder.engine

        class Parser:
            num_errors = 1

            def __init__(self, network, logger):
                pass

            def parse_from_file(self, path):
                recorder.calls.append(("parse", path))
                return recorder.parse_ok

            def get_error(self, i):
                return "In node 7 (Unsupported op Foo)"

        class IProgressMonitor:
            def __init__(self):
                pass

        self.module = types.SimpleNamespace(
            __version__="10.99.0", Logger=Logger, Builder=Builder, OnnxParser=Parser, IProgressMonitor=IProgressMonitor,
            MemoryPoolType=types.SimpleNamespace(WORKSPACE="workspace"),
            BuilderFlag=types.SimpleNamespace(FP16="FP16", BF16="BF16"),
            float32="f32", float16="f16", int32="i32", int64="i64", bfloat16="bf16",
        )


@pytest.fixture
def fake_trt(monkeypatch):
    def install(**options):
        recorder = _Recorder(**options)
        monkeypatch.setitem(sys.modules, "tensorrt", recorder.module)
        monkeypatch.delitem(sys.modules, "mocap_app.backends.tensorrt_backend", raising=False)
        return recorder, importlib.import_module("mocap_app.backends.tensorrt_backend")
    yield install
    sys.modules.pop("mocap_app.backends.tensorrt_backend", None)  # never leave the stand-in's module loaded


def test_engine_build_sets_precision_profile_and_reports_progress(fake_trt, tmp_path) -> None:
    recorder, trt_backend = fake_trt()
    messages: list[str] = []
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"graph")
    path = trt_backend.build_engine(onnx, tmp_path / "e" / "model.engine", "fp16", 1, 2, 8, messages.append)
    assert path.read_bytes() == b"serialized engine" and not list((tmp_path / "e").glob(".*.tmp"))
    assert ("flag", "FP16") in recorder.calls and ("network", 0) in recorder.calls
    assert ("profile", "img", (1, 3, 512, 384), (2, 3, 512, 384), (8, 3, 512, 384)) in recorder.calls
    assert ("parse", str(onnx)) in recorder.calls  # from the file, so external weights are found
    assert messages[0] == "TensorRT 10.99.0: parsing model.onnx …"
    assert "TensorRT: Building (3 steps) …" in messages and not any("Tactics" in m for m in messages)
    assert messages[-1].startswith("TensorRT engine built in")
    recorder, trt_backend = fake_trt()
    trt_backend.build_engine(onnx, tmp_path / "fp32.engine", "fp32", 1, 1, 4, messages.append)
    assert not any(call[0] == "flag" for call in recorder.calls)  # fp32: no reduced-precision flag


def test_parser_and_builder_refusals_are_errors_with_their_messages(fake_trt, tmp_path) -> None:
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"graph")
    _, trt_backend = fake_trt(parse_ok=False)
    with pytest.raises(EngineMismatchError, match="cannot parse model.onnx: In node 7 \\(Unsupported op Foo\\)"):
        trt_backend.build_engine(onnx, tmp_path / "a.engine", "fp16", 1, 1, 8)
    _, trt_backend = fake_trt(engine=None)
    with pytest.raises(EngineMismatchError, match="could not build an engine"):
        trt_backend.build_engine(onnx, tmp_path / "b.engine", "fp16", 1, 1, 8)
    assert not (tmp_path / "b.engine").exists()
    with pytest.raises(ConfigError, match="not int8") as info:
        trt_backend.build_engine(onnx, tmp_path / "c.engine", "int8", 1, 1, 8)
    assert "--backend onnxruntime --precision int8" in info.value.hint
