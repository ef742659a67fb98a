"""Every setting does what it says: one test per `[capture]` and `[model]` key showing its effect, and keys that
did nothing are gone."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest

from mocap_app.backends.registry import BACKENDS, load_backend
from mocap_app.capture import open_camera, open_source, sources
from mocap_app.cli import doctor
from mocap_app.core.config import ModelConfig, load_config
from mocap_app.core.errors import CaptureError, ConfigError, ModelFileError, UnsupportedFormatError
from mocap_app.estimators import smplerx
from mocap_app.pipeline.process import ProcessOptions, build_estimators, check_request


class FakeCamera:
    """Stands in for cv2.VideoCapture on a machine without cameras: records what the app asks for and delivers
    frames of the size it was set to (as a camera with that mode would)."""

    opened: ClassVar[list[FakeCamera]] = []
    block = threading.Event()  # set → open returns at once; clear → open hangs (a stuck driver)

    def __init__(self, index: int, api: int) -> None:
        if not FakeCamera.block.is_set():
            FakeCamera.block.wait(10)
        self.index, self.api, self.props = index, api, {}
        FakeCamera.opened.append(self)

    def isOpened(self) -> bool:
        return True

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def read(self):
        width = int(self.props.get(cv2.CAP_PROP_FRAME_WIDTH, 640))
        height = int(self.props.get(cv2.CAP_PROP_FRAME_HEIGHT, 480))
        return True, np.zeros((height, width, 3), np.uint8)

    def release(self) -> None:
        pass


@pytest.fixture
def fake_camera(monkeypatch):
    FakeCamera.opened.clear()
    FakeCamera.block.set()
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCamera)
    monkeypatch.setattr(sources, "list_cameras", lambda max_index=10: [0, 2])
    monkeypatch.setattr(doctor, "list_cameras", lambda max_index=10: [0, 2])
    yield FakeCamera
    FakeCamera.block.set()


def test_camera_index_width_height_fps_reach_the_device(fake_camera) -> None:
    settings = load_config(None, ["capture.camera_index=2", "capture.width=1280", "capture.height=720",
                                  "capture.fps=60"]).capture
    camera = open_camera(settings)
    device = fake_camera.opened[-1]
    assert device.index == 2
    assert device.props[cv2.CAP_PROP_FRAME_WIDTH] == 1280 and device.props[cv2.CAP_PROP_FRAME_HEIGHT] == 720
    assert device.props[cv2.CAP_PROP_FPS] == 60
    assert (camera.info.width, camera.info.height, camera.info.fps) == (1280, 720, 60)
    camera.close()
    assert fake_camera.opened[-1].index == 2 and open_source("2", settings).info.width == 1280


def test_open_timeout_bounds_a_hanging_camera(fake_camera) -> None:
    fake_camera.block.clear()
    settings = load_config(None, ["capture.open_timeout_s=0.5"]).capture
    start = time.monotonic()
    with pytest.raises(CaptureError, match="did not respond within 0.5 s"):
        open_camera(settings)
    assert time.monotonic() - start < 1.5


def test_doctor_opens_the_configured_camera_with_the_configured_mode(fake_camera) -> None:
    settings = load_config(None, ["capture.camera_index=2", "capture.width=1280", "capture.height=720"]).capture
    checks = {c.item: c for c in doctor._camera_checks(settings)}
    check = checks["Camera 2 (capture.camera_index)"]
    assert check.status == "ok" and "delivers 1280x720 at 30 fps" in check.detail


def test_image_folder_fps_sets_the_timeline(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((32, 32, 3), np.uint8))
    settings = load_config(None, ["capture.image_folder_fps=24"]).capture
    assert open_source(tmp_path, settings).info.fps == 24


def test_model_estimator_is_the_default_of_process(tmp_path: Path) -> None:
    config = load_config(None, ["model.estimator=smplerx-s", f"paths.checkpoints={tmp_path}"])
    assert ProcessOptions.from_settings(config).model == "smplerx-s"
    assert ProcessOptions.from_settings(config, model="default").model == "default"  # --model wins
    with pytest.raises(ModelFileError, match="smplerx-s checkpoint is not installed"):
        check_request([], ProcessOptions.from_settings(config), config)


@pytest.mark.parametrize("key, value", [("backend", "torch"), ("precision", "bf16")])
def test_model_backend_and_precision_reach_the_smplerx_loader(monkeypatch, key: str, value: str) -> None:
    seen = {}

    class Loaded:
        size = "b"

    def from_checkpoint(path, backend="auto", device="cpu", precision="fp32", **options):
        seen.update(path=Path(path), backend=backend, precision=precision)
        return Loaded()

    monkeypatch.setattr(smplerx.SmplerxEstimator, "from_checkpoint", staticmethod(from_checkpoint))
    config = load_config(None, ["model.estimator=smplerx-b", f"model.{key}={value}"])
    build_estimators(ProcessOptions.from_settings(config), config)
    assert seen[key] == value and seen["path"].name == "smpler_x_b32.pth.tar"
    untouched = {"backend": "auto", "precision": "fp32"}  # auto precision is fp32 on the CPU
    other = next(k for k in untouched if k != key)
    assert seen[other] == untouched[other]


def test_backend_choices_are_the_backends_that_exist(tmp_path: Path) -> None:
    choices = ModelConfig.__dataclass_fields__["backend"].metadata["choices"]
    assert set(choices) == {"auto", *BACKENDS}
    with pytest.raises(UnsupportedFormatError, match="torch backend does not open model.onnx"):
        load_backend(tmp_path / "model.onnx", backend="torch")


def test_backend_or_precision_with_the_default_estimator_is_an_error() -> None:
    config = load_config()
    with pytest.raises(ConfigError, match="--precision bf16 applies to SMPLer-X models"):
        ProcessOptions.from_settings(config, precision="bf16")
    assert ProcessOptions.from_settings(load_config(None, ["model.precision=bf16"])).model == "default"


def test_settings_that_did_nothing_are_gone() -> None:
    with pytest.raises(ConfigError, match="unknown key 'paths.engines'"):
        load_config(None, ["paths.engines=/tmp"])


def test_cameras_are_listed_with_the_frame_size_they_report(monkeypatch) -> None:
    """The window's source picker: each camera that opens, with its size (a node that does not open is left out)."""

    class Reporting(FakeCamera):
        def __init__(self, index: int, api: int) -> None:
            super().__init__(index, api)
            self.props = {cv2.CAP_PROP_FRAME_WIDTH: 1280.0, cv2.CAP_PROP_FRAME_HEIGHT: 720.0} if index == 0 else {}

        def isOpened(self) -> bool:
            return self.index != 1

    FakeCamera.block.set()
    monkeypatch.setattr(sources.cv2, "VideoCapture", Reporting)
    monkeypatch.setattr(sources.os, "name", "nt")  # no /dev scan: indices 0..max_index-1
    cameras = sources.find_cameras(max_index=3)
    assert [(c.index, c.width, c.height) for c in cameras] == [(0, 1280, 720), (2, 0, 0)]
    assert [c.label for c in cameras] == ["Camera 0 (1280x720)", "Camera 2"]
    assert sources.list_cameras(max_index=3) == [0, 2]
