"""Smoothing settings: one frozen dataclass of raw parameters and the presets the GUI offers.

Noise figures are per frame of the source (Kalman time step = one frame), so a preset smooths the
same number of frames at any frame rate; the one-euro cut-offs are in Hz (it needs the fps).
Field metadata uses the same `choices` / `range` keys as `core.config`, so the dataclass can be
nested into `AppConfig` as it is.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field

from mocap_app.core.errors import ConfigError

METHODS = ("off", "kalman", "one_euro")
MOTION_MODELS = ("constant_velocity", "constant_acceleration")


@dataclass(frozen=True)
class SmoothingConfig:
    """Raw smoothing parameters (defaults = the `medium` preset).

    method: off | kalman | one_euro.
    motion_model: Kalman state per measured value — constant_velocity (value, velocity) or
        constant_acceleration (value, velocity, acceleration).
    rotation_noise_deg: measurement jitter of a joint rotation at confidence 1, degrees per axis;
        a joint with confidence c counts as noise / c.
    rotation_accel_deg: process noise, standard deviation of the unmodelled change of angular
        velocity (constant_velocity) or of angular acceleration (constant_acceleration) per frame,
        degrees/frame² (/frame³). Larger follows fast motion closer, smooths less.
    translation_noise_m, translation_accel_m: the same for `transl`, metres (noise / `confidence`).
    expression_noise, expression_accel: the same for expression coefficients (noise / jaw confidence).
    gate_sigma: outlier gate — a joint (or the translation, or the expression) whose innovation is
        further than this Mahalanobis distance from the prediction is rejected; 0 = no gating.
    max_gated_frames: at most this many measurements in a row are rejected; the next one is taken as
        the new truth (the value restarts there), so a real sudden change is followed.
    max_missing_frames: a track that is not seen is predicted for up to this many frames, then reset.
    min_confidence: joints (and translation/expression) below this confidence count as not measured.
    one_euro_min_cutoff_hz, one_euro_beta, one_euro_d_cutoff_hz: one-euro filter (Casiez et al. 2012)
        cut-off at rest, speed coefficient (per unit/s) and derivative cut-off.
    """

    method: str = field(default="kalman", metadata={"choices": METHODS})
    motion_model: str = field(default="constant_velocity", metadata={"choices": MOTION_MODELS})
    rotation_noise_deg: float = field(default=3.0, metadata={"range": (0.01, 90.0)})
    rotation_accel_deg: float = field(default=1.2, metadata={"range": (0.001, 90.0)})
    translation_noise_m: float = field(default=0.02, metadata={"range": (1e-5, 10.0)})
    translation_accel_m: float = field(default=0.004, metadata={"range": (1e-6, 10.0)})
    expression_noise: float = field(default=0.2, metadata={"range": (1e-5, 100.0)})
    expression_accel: float = field(default=0.05, metadata={"range": (1e-6, 100.0)})
    gate_sigma: float = field(default=6.0, metadata={"range": (0.0, 1000.0)})
    max_gated_frames: int = field(default=4, metadata={"range": (1, 1000)})
    max_missing_frames: int = field(default=10, metadata={"range": (0, 1000)})
    min_confidence: float = field(default=0.05, metadata={"range": (0.0, 1.0)})
    one_euro_min_cutoff_hz: float = field(default=2.0, metadata={"range": (0.001, 1000.0)})
    one_euro_beta: float = field(default=4.0, metadata={"range": (0.0, 1000.0)})
    one_euro_d_cutoff_hz: float = field(default=1.0, metadata={"range": (0.001, 1000.0)})

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = type(f.default)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                object.__setattr__(self, f.name, value)
            if type(value) is not kind:
                words = {int: "a whole number", float: "a number", str: "a string"}[kind]
                raise ConfigError(f"smoothing.{f.name}={value!r} is not {words}.",
                                  f"Give smoothing.{f.name} {words} (default {f.default!r}).")
            if "choices" in f.metadata and value not in f.metadata["choices"]:
                raise ConfigError(f"smoothing.{f.name}={value!r} is not allowed.",
                                  f"Valid values are: {', '.join(f.metadata['choices'])}.")
            if "range" in f.metadata:
                low, high = f.metadata["range"]
                if not low <= value <= high:
                    raise ConfigError(f"smoothing.{f.name}={value!r} is out of range.",
                                      f"Valid values are between {low} and {high}.")

    @property
    def enabled(self) -> bool:
        return self.method != "off"


PRESETS: dict[str, SmoothingConfig] = {
    "off": SmoothingConfig(method="off"),
    # Online lag on `eval smoothing`: light ~0.1 frame, medium (the defaults) ~0.4, strong ~1.0.
    "light": SmoothingConfig(rotation_accel_deg=2.5, translation_accel_m=0.008, expression_accel=0.1,
                             one_euro_min_cutoff_hz=4.0, one_euro_beta=8.0),
    "medium": SmoothingConfig(),
    "strong": SmoothingConfig(rotation_accel_deg=0.5, translation_accel_m=0.0015, expression_accel=0.02,
                              one_euro_min_cutoff_hz=1.0, one_euro_beta=2.0),
}


def smoothing_config(preset: str = "medium", **overrides: object) -> SmoothingConfig:
    """The named preset with raw parameters replaced by `overrides` (validated)."""
    if preset not in PRESETS:
        match = difflib.get_close_matches(preset, list(PRESETS), n=1)
        raise ConfigError(f"Unknown smoothing preset '{preset}'." + (f" Did you mean '{match[0]}'?" if match else ""),
                          f"Valid presets are: {', '.join(PRESETS)}.")
    names = {f.name for f in dataclasses.fields(SmoothingConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(f"Unknown smoothing parameter(s): {', '.join(unknown)}.",
                          f"Valid parameters are: {', '.join(sorted(names))}.")
    return dataclasses.replace(PRESETS[preset], **overrides)  # type: ignore[arg-type]
