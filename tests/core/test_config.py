from __future__ import annotations

from pathlib import Path

import pytest

from mocap_app.core.config import AppConfig, load_config
from mocap_app.core.errors import ConfigError


def test_defaults_without_a_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOCAP_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # the default location may be absent
    assert load_config() == AppConfig()


def test_a_settings_file_named_by_the_environment_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCAP_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="absent.toml does not exist") as info:
        load_config()
    assert "$MOCAP_CONFIG" in info.value.hint
    monkeypatch.setenv("MOCAP_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match="is a folder"):
        load_config()
    with pytest.raises(ConfigError, match="is a folder") as info:
        load_config(tmp_path)
    assert "--config" in info.value.hint


@pytest.mark.parametrize("text, message", [
    ('[smoothing.params]\nrotation_accel_deg = "fast"\n', "rotation_accel_deg='fast' is not a number"),
    ("[smoothing.params]\nmax_gated_frames = 2.5\n", "max_gated_frames=2.5 is not a whole number"),
])
def test_raw_smoothing_parameters_of_the_wrong_type_are_named(tmp_path: Path, text: str, message: str) -> None:
    from mocap_app.pipeline.process import smoothing_settings

    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        smoothing_settings(load_config(path))
    path.write_text("[smoothing.params]\ngate_sigma = 6\n")  # an integer where a number is asked is fine
    assert smoothing_settings(load_config(path)).gate_sigma == 6.0


def test_user_file_and_overrides_apply_in_order(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[capture]\nqueue_size = 16\nfps = 60\n[render]\nplatform = "osmesa"\n')
    config = load_config(path, ["capture.queue_size=4", "model.backend=torch"])
    assert config.capture.queue_size == 4 and config.capture.fps == 60.0
    assert config.render.platform == "osmesa" and config.model.backend == "torch"


@pytest.mark.parametrize("text, message", [
    ("[captur]\nfps = 30\n", "unknown config section 'captur'. Did you mean 'capture'"),
    ("[capture]\nqueue_sise = 3\n", "unknown key 'capture.queue_sise'. Did you mean 'queue_size'"),
    ('[render]\nplatform = "vulkan"\n', "'render.platform=vulkan' is not allowed"),
    ("[capture]\nqueue_size = 0\n", "'capture.queue_size=0' is out of range"),
    ('[capture]\nfps = "fast"\n', "'capture.fps=fast' is not a number"),
    ("[capture]\nwidth = 1.5\n", "'capture.width' must be an integer"),
    ("[capture\n", "not valid TOML"),
])
def test_bad_files_name_the_key_and_the_allowed_values(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert info.value.hint


def test_hints_list_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, ["model.backend=cuda"])
    assert info.value.hint == "Valid 'model.backend' values are: auto, torch, onnxruntime, tensorrt."
    with pytest.raises(ConfigError, match="not of the form"):
        load_config(None, ["backend"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Path("/nonexistent/config.toml"))


def test_smoothing_preset_and_raw_parameters(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[smoothing]\npreset = "strong"\n[smoothing.params]\nrotation_accel_deg = 0.8\n')
    config = load_config(path)
    assert config.smoothing.preset == "strong" and config.smoothing.params == {"rotation_accel_deg": 0.8}
    with pytest.raises(ConfigError, match="'smoothing.preset=silky' is not allowed"):
        load_config(None, ["smoothing.preset=silky"])
    with pytest.raises(ConfigError, match="cannot be set from the command line"):
        load_config(None, ["smoothing.params=x"])
