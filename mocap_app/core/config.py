"""The app's configuration: one tree of frozen dataclasses with defaults in code.

A user override file (TOML, one table per section) and `section.key=value` overrides from the
command line are validated against the tree: an unknown key is named with the closest valid one,
a bad value with the allowed values or range.

    [capture]
    queue_size = 16
    [render]
    platform = "osmesa"
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_CONFIG_ENV = "MOCAP_CONFIG"
HOME_ENV = "MOCAP_HOME"


def running_from_checkout() -> bool:
    """True when the package runs from a source checkout (main.py beside it), not from an installed copy."""
    return (REPO_ROOT / "main.py").is_file() and (REPO_ROOT / "assets").is_dir()


def data_home() -> Path:
    """Where the user's licensed files go (checkpoints/, body_models/): $MOCAP_HOME; a source checkout's
    assets/; else $XDG_DATA_HOME/mocap (~/.local/share/mocap) for an installed package."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    if running_from_checkout():
        return REPO_ROOT / "assets"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "mocap"


def cache_home() -> Path:
    """Where rebuildable data goes (the avatar's build): $MOCAP_HOME/cache; a checkout's .cache/; else
    $XDG_CACHE_HOME/mocap (~/.cache/mocap)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]) / "cache"
    if running_from_checkout():
        return REPO_ROOT / ".cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mocap"


def _choices(*allowed: str) -> dict[str, Any]:
    return {"choices": allowed}


def _range(low: float, high: float) -> dict[str, Any]:
    return {"range": (low, high)}


@dataclass(frozen=True)
class CaptureConfig:
    camera_index: int = field(default=0, metadata=_range(0, 63))
    width: int = field(default=640, metadata=_range(16, 8192))
    height: int = field(default=480, metadata=_range(16, 8192))
    fps: float = field(default=30.0, metadata=_range(1, 240))
    # Frames buffered between pipeline stages when processing files (evens out uneven stage times); live
    # sources keep only the newest frame at each stage, for latency.
    queue_size: int = field(default=8, metadata=_range(1, 1024))
    open_timeout_s: float = field(default=3.0, metadata=_range(0.1, 60))
    image_folder_fps: float = field(default=30.0, metadata=_range(1, 240))


@dataclass(frozen=True)
class PathsConfig:
    checkpoints: str = field(default_factory=lambda: str(data_home() / "checkpoints"))
    body_models: str = field(default_factory=lambda: str(data_home() / "body_models"))


@dataclass(frozen=True)
class ModelConfig:
    # The estimator `process` uses unless --model says otherwise.
    estimator: str = field(default="default", metadata=_choices(
        "default", "smplerx-s", "smplerx-b", "smplerx-l", "smplerx-h"))
    # How SMPLer-X runs (the default estimator has no backend): auto = the fastest one present
    # (backends.registry.candidates); the choices are backends.registry.BACKENDS (checked by a test).
    # auto precision = fp16 on an NVIDIA GPU, fp32 on the CPU; int8 = ONNX Runtime's quantised graph (CPU).
    backend: str = field(default="auto", metadata=_choices("auto", "torch", "onnxruntime", "tensorrt"))
    precision: str = field(default="auto", metadata=_choices("auto", "fp32", "bf16", "fp16", "int8"))
    # Instances of the default (MediaPipe) estimator working in parallel: on alternate frames of a file, on the
    # newest frame when free live; MediaPipe runs outside Python's GIL, so two keep both cores of a 2-core machine
    # busy (three, live: 24 -> 28 estimates a second alone on the sample clip, but ~40 ms more latency).
    landmark_workers: int = field(default=2, metadata=_range(1, 8))
    # What the default estimator reads of the face besides jaw and head: "off"; "expressions", ARKit blend-shape
    # weights from the face mesh (no extra model); "gaze", those and the eyes' direction from MediaPipe's
    # refined face model (iris points).
    face: str = field(default="gaze", metadata=_choices("off", "expressions", "gaze"))


@dataclass(frozen=True)
class RenderConfig:
    # auto: PYOPENGL_PLATFORM if the environment names egl or osmesa, else egl (render/platform.py).
    platform: str = field(default="auto", metadata=_choices("auto", "egl", "osmesa"))
    # Multisample antialiasing of rendered bodies: 0 = off (fastest on a CPU), 4 = smooth edges.
    msaa_samples: int = field(default=0, metadata=_range(0, 8))


@dataclass(frozen=True)
class SmoothingSection:
    """preset: off | light | medium | strong. params: raw parameters that override the preset's (a
    `[smoothing.params]` table; names and ranges are those of `smoothing.SmoothingConfig`, checked when
    the settings are loaded)."""

    preset: str = field(default="medium", metadata=_choices("off", "light", "medium", "strong"))
    params: dict = field(default_factory=dict, metadata={"type": dict})


@dataclass(frozen=True)
class FeetSection:
    """mode: lock = `process`'s exports detect foot contacts, stand the body on the floor fitted under them and pin
    planted feet (`body.feet.clean_feet`, after the offline smoothing), and its overlay and stream get the causal
    version (`body.feet.LockedFeet`, no lag); off = the estimated motion as it is."""

    mode: str = field(default="lock", metadata=_choices("off", "lock"))


@dataclass(frozen=True)
class AppConfig:
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    smoothing: SmoothingSection = field(default_factory=SmoothingSection)
    feet: FeetSection = field(default_factory=FeetSection)


def _closest(name: str, options: list[str]) -> str:
    match = difflib.get_close_matches(name, options, n=1)
    return f" Did you mean '{match[0]}'?" if match else ""


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               dict: "a table of key = value lines"}


def _coerce(section: str, f: dataclasses.Field, value: Any, origin: str) -> Any:
    """Check `value` against the field's type and metadata; return it in the field's type."""
    key = f"{section}.{f.name}"
    default = f.default_factory() if f.default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING \
        else f.default
    kind = f.metadata.get("type") or type(default)
    if isinstance(value, str) and kind is dict:
        raise ConfigError(f"{origin}: '{key}' is a table; it cannot be set from the command line.",
                          f"Write it in the settings file as [{key}] followed by key = value lines.")
    if isinstance(value, str) and kind is not str:  # from the command line
        try:
            value = kind(value)
        except ValueError:
            raise ConfigError(f"{origin}: '{key}={value}' is not {_TYPE_WORDS[kind]}.",
                              f"Give '{key}' {_TYPE_WORDS[kind]}.") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not kind:
        raise ConfigError(f"{origin}: '{key}' must be {_TYPE_WORDS[kind]}, got {value!r}.",
                          f"Give '{key}' {_TYPE_WORDS[kind]} (default {default!r}).")
    if "choices" in f.metadata and value not in f.metadata["choices"]:
        allowed = ", ".join(f.metadata["choices"])
        raise ConfigError(f"{origin}: '{key}={value}' is not allowed.", f"Valid '{key}' values are: {allowed}.")
    if "range" in f.metadata:
        low, high = f.metadata["range"]
        if not low <= value <= high:
            raise ConfigError(f"{origin}: '{key}={value}' is out of range.",
                              f"Valid '{key}' values are between {low} and {high}.")
    return value


def merge(config: AppConfig, overrides: dict[str, dict[str, Any]], origin: str) -> AppConfig:
    """A copy of `config` with `{section: {key: value}}` applied and validated."""
    sections = {f.name: f for f in dataclasses.fields(config)}
    updated = {}
    for section, values in overrides.items():
        if section not in sections:
            raise ConfigError(f"{origin}: unknown config section '{section}'.{_closest(section, list(sections))}",
                              f"Valid sections are: {', '.join(sections)}.")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: '{section}' must be a table of keys.",
                              f"Write it as [{section}] followed by key = value lines.")
        current = getattr(config, section)
        keys = {f.name: f for f in dataclasses.fields(current)}
        changes = {}
        for key, value in values.items():
            if key not in keys:
                raise ConfigError(
                    f"{origin}: unknown key '{section}.{key}'.{_closest(key, list(keys))}",
                    f"Valid keys of [{section}] are: {', '.join(keys)}.")
            changes[key] = _coerce(section, keys[key], value, origin)
        updated[section] = dataclasses.replace(current, **changes)
    return dataclasses.replace(config, **updated)


def parse_overrides(items: list[str]) -> dict[str, dict[str, str]]:
    """['capture.fps=60', ...] → {'capture': {'fps': '60'}}."""
    result: dict[str, dict[str, str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not sep or not dot or not key:
            raise ConfigError(f"Override '{item}' is not of the form section.key=value.",
                              "Example: --set capture.queue_size=16")
        result.setdefault(section, {})[key] = value.strip()
    return result


def default_user_config_path() -> Path:
    """~/.config/mocap/config.toml (or under $XDG_CONFIG_HOME): read when present, never required."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mocap" / "config.toml"


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> AppConfig:
    """Defaults ← user file (`path`, else $MOCAP_CONFIG, else ~/.config/mocap/config.toml if present) ← overrides.

    A file named explicitly (`path` or $MOCAP_CONFIG) must exist; only the default location may be absent.
    """
    config = AppConfig()
    if path is not None:
        path, named_by = Path(path), "--config"
    elif os.environ.get(USER_CONFIG_ENV):
        path, named_by = Path(os.environ[USER_CONFIG_ENV]), f"${USER_CONFIG_ENV}"
    else:
        path, named_by = default_user_config_path(), None
    if path.is_dir():
        raise ConfigError(f"Config file {path} is a folder.",
                          f"Name a .toml file with {named_by or 'a settings file'}, or remove the folder.")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Config file {path} is not valid TOML: {exc}.",
                              "Fix the syntax or delete the file to use the defaults.") from exc
        config = merge(config, data, str(path))
    elif named_by is not None:
        raise ConfigError(f"Config file {path} does not exist.", f"Check the path given with {named_by}.")
    if overrides:
        config = merge(config, parse_overrides(overrides), "--set")
    return config
