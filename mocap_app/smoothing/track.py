"""The filter state of one tracked person: Kalman or one-euro values, gating, betas, frame bookkeeping."""

from __future__ import annotations

import numpy as np

from mocap_app.core.params import SmplxParams

from .config import SmoothingConfig
from .kalman import KalmanBank, MotionModel
from .one_euro import OneEuroBank
from .representation import (
    BLOCK_OF_VALUE,
    NUM_BLOCKS,
    NUM_VALUES,
    align_hemisphere,
    apply_values,
    block_confidence,
    measurement,
    noise_figures,
)


class TrackFilter:
    """Filters one person's records in frame order.

    `start` begins (or restarts) the track at a record; `advance(frames)` moves the state on by
    frames without a measurement (prediction; one-euro holds); `measure` takes a record of the
    frame the state is at. `values` is the current (NUM_VALUES,) estimate, `betas` the
    confidence-weighted running mean of the shape since `start`.
    For Kalman, `bank.x` / `bank.P` are the posterior after each step (the offline smoother reads them).
    """

    def __init__(self, config: SmoothingConfig, model: MotionModel | None, fps: float) -> None:
        if not config.enabled:
            raise ValueError("smoothing is off: no filter to build")
        self.config = config
        self._std, q = noise_figures(config)
        self.bank: KalmanBank | None = None
        self.euro: OneEuroBank | None = None
        if config.method == "kalman":
            if model is None:
                raise ValueError("the Kalman filter needs a motion model")
            self.bank = KalmanBank(model, q)
        else:
            self.euro = OneEuroBank(NUM_VALUES, fps, config.one_euro_min_cutoff_hz, config.one_euro_beta,
                                    config.one_euro_d_cutoff_hz)
        self._gated_run = np.zeros(NUM_BLOCKS, dtype=np.int64)
        self._betas_sum = np.zeros(10)
        self._betas_weight = 0.0
        self.gated_blocks = 0  # measurements rejected by the gate since start (diagnostics)

    def _noise(self, params: SmplxParams) -> tuple[np.ndarray, np.ndarray]:
        """(NUM_BLOCKS,) observed flags and (NUM_VALUES,) measurement variances of one record."""
        conf = block_confidence(params.joint_confidence, params.confidence)
        floor = max(self.config.min_confidence, 1e-3)
        observed = (conf >= self.config.min_confidence) & (conf > 0.0)
        std = self._std / np.maximum(conf, floor)[BLOCK_OF_VALUE]
        return observed, std * std

    def _add_betas(self, params: SmplxParams) -> None:
        if params.confidence >= self.config.min_confidence and params.confidence > 0.0:
            self._betas_sum += params.confidence * params.betas
            self._betas_weight += params.confidence

    def start(self, params: SmplxParams) -> None:
        """(Re)start at this record: its values, unknown motion, betas mean from scratch."""
        z = measurement(params)
        _, variance = self._noise(params)
        self._gated_run[:] = 0
        self.gated_blocks = 0
        self._betas_sum[:], self._betas_weight = 0.0, 0.0
        self._add_betas(params)
        if self._betas_weight == 0.0:  # an unconfident first record still gives a shape to start from
            self._betas_sum[:], self._betas_weight = params.betas, 1e-6
        if self.bank is not None:
            self.bank.initialise(z, variance)
        else:
            assert self.euro is not None
            self.euro.initialise(z)

    def advance(self, frames: int = 1) -> None:
        if self.bank is not None:
            for _ in range(frames):
                self.bank.predict()
        else:
            assert self.euro is not None
            self.euro.advance(frames)

    def measure(self, params: SmplxParams) -> np.ndarray:
        """Take the record of the current frame; returns (NUM_VALUES,) bool, True where a value
        restarted (too many gated measurements in a row)."""
        observed, variance = self._noise(params)
        z = align_hemisphere(measurement(params), self.values)
        self._add_betas(params)
        restart_blocks = np.zeros(NUM_BLOCKS, dtype=bool)
        if self.euro is not None:
            self.euro.update(z, observed[BLOCK_OF_VALUE])
            return restart_blocks[BLOCK_OF_VALUE]
        assert self.bank is not None
        accepted = observed
        if self.config.gate_sigma > 0.0:
            y, S = self.bank.innovation(z, variance)
            distance2 = np.bincount(BLOCK_OF_VALUE, weights=y * y / S, minlength=NUM_BLOCKS)
            rejected = observed & (distance2 > self.config.gate_sigma**2)
            self._gated_run[observed] = np.where(rejected[observed], self._gated_run[observed] + 1, 0)
            # A change that persists is real (or the track switched person): follow it.
            restart_blocks = self._gated_run > self.config.max_gated_frames
            self._gated_run[restart_blocks] = 0
            accepted = observed & ~rejected
            self.gated_blocks += int(rejected.sum() - restart_blocks.sum())
        self.bank.update(z, variance, accepted[BLOCK_OF_VALUE])
        restarts = restart_blocks[BLOCK_OF_VALUE]
        if restarts.any():
            self.bank.initialise(z, variance, restarts)
        return restarts

    @property
    def values(self) -> np.ndarray:
        """(NUM_VALUES,) current estimate (quaternions not normalised)."""
        return self.bank.x[:, 0] if self.bank is not None else self.euro.x  # type: ignore[union-attr]

    @property
    def betas(self) -> np.ndarray:
        return self._betas_sum / self._betas_weight

    def output(self, template: SmplxParams, **overrides: object) -> SmplxParams:
        """The current estimate as a record: metadata from `template`, values filtered."""
        return apply_values(template, self.values, self.betas, **overrides)
