"""The one-euro filter (Casiez, Roussel, Vogel, CHI 2012), vectorised over values.

A first-order low-pass whose cut-off rises with the filtered speed: still values are smoothed
hard, fast ones follow with little lag. No motion model, so no prediction: a value that is not
measured holds its last output.
"""

from __future__ import annotations

import numpy as np


def _alpha(cutoff_hz: np.ndarray | float, dt_s: np.ndarray) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroBank:
    """n independent one-euro filters; x: (n,) output, dx: (n,) filtered speed (units/s).

    fps converts frame steps to seconds; each value remembers how many frames ago it was measured.
    """

    def __init__(self, n: int, fps: float, min_cutoff_hz: float, beta: float, d_cutoff_hz: float) -> None:
        self.fps, self.min_cutoff_hz, self.beta, self.d_cutoff_hz = fps, min_cutoff_hz, beta, d_cutoff_hz
        self.x = np.zeros(n)
        self.dx = np.zeros(n)
        self.frames_since = np.zeros(n)

    def initialise(self, z: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Start the values in `mask` (all if None) at z (n,) at rest."""
        mask = np.ones(len(self.x), dtype=bool) if mask is None else mask
        self.x[mask], self.dx[mask], self.frames_since[mask] = z[mask], 0.0, 0.0

    def advance(self, frames: int = 1) -> None:
        """Move `frames` frames on (call before each update)."""
        self.frames_since += frames

    def update(self, z: np.ndarray, mask: np.ndarray) -> None:
        """Filter z (n,) into the values where mask (n,) is True (their time step: frames since last seen)."""
        dt = self.frames_since[mask] / self.fps
        speed = (z[mask] - self.x[mask]) / dt
        dx = self.dx[mask] + _alpha(self.d_cutoff_hz, dt) * (speed - self.dx[mask])
        cutoff = self.min_cutoff_hz + self.beta * np.abs(dx)
        self.x[mask] += _alpha(cutoff, dt) * (z[mask] - self.x[mask])
        self.dx[mask] = dx
        self.frames_since[mask] = 0.0
