"""Banks of independent small Kalman filters, one per measured scalar, vectorised in numpy.

Every measured value (a quaternion component, a translation axis, an expression coefficient) has
its own k-state filter (k = 2: value, velocity; k = 3: + acceleration) with the same transition
F, a per-value process noise q·Q and a per-frame measurement variance r. The block-diagonal
system is exactly one big filter (filterpy's `KalmanFilter` on the stacked state gives the same
numbers, see tests), but costs n small k×k products instead of dense (n·k)² algebra.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ORDERS = {"constant_velocity": 2, "constant_acceleration": 3}


@dataclass(frozen=True)
class MotionModel:
    """A k-state kinematic model with a time step of one frame.

    F: (k, k) transition. Q: (k, k) process noise for unit variance (filterpy's piecewise white
    noise, `Q_discrete_white_noise(k, dt=1, var=1)`); a filter with variance q uses q·Q.
    H: (1, k) measures the value (first state).
    """

    F: np.ndarray
    Q: np.ndarray
    H: np.ndarray

    @property
    def order(self) -> int:
        return int(self.F.shape[0])


def motion_model(name: str) -> MotionModel:
    """The named model (`constant_velocity` / `constant_acceleration`), built with filterpy."""
    from filterpy.common import Q_discrete_white_noise  # only here: importing filterpy costs ~0.8 s

    k = ORDERS[name]
    F = np.eye(k)
    for i in range(k - 1):
        F[i, i + 1] = 1.0
    if k == 3:
        F[0, 2] = 0.5
    H = np.zeros((1, k))
    H[0, 0] = 1.0
    arrays = (F, np.asarray(Q_discrete_white_noise(k, dt=1.0, var=1.0), dtype=np.float64), H)
    for array in arrays:
        array.flags.writeable = False
    return MotionModel(*arrays)


class KalmanBank:
    """n independent k-state filters.

    x: (n, k) state; P: (n, k, k) covariance; q: (n,) process-noise variance of each filter.
    Units are those of the measured values (per frame for velocities).
    """

    def __init__(self, model: MotionModel, q: np.ndarray) -> None:
        self.model = model
        self.q = np.asarray(q, dtype=np.float64)
        n, k = len(self.q), model.order
        self.x = np.zeros((n, k))
        self.P = np.zeros((n, k, k))
        self._Q = self.q[:, None, None] * model.Q
        self._eye = np.eye(k)

    def initialise(self, z: np.ndarray, r: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Start the filters in `mask` (all if None) at value z (n,) with variance r (n,), unknown motion.

        The unknown velocity (and acceleration) get a variance of 100 frames of process noise plus
        the measurement's, wide enough that the next few measurements set them.
        """
        x0 = np.zeros_like(self.x)
        x0[:, 0] = z
        P0 = np.zeros_like(self.P)
        P0[:, 0, 0] = r
        for i in range(1, self.model.order):
            P0[:, i, i] = 4.0 * r + 100.0 * self.q
        if mask is None:
            self.x, self.P = x0, P0
        else:
            self.x[mask], self.P[mask] = x0[mask], P0[mask]

    def predict(self) -> None:
        F = self.model.F
        self.x = self.x @ F.T
        self.P = F @ self.P @ F.T + self._Q

    def innovation(self, z: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residual y = z − Hx (n,) and its variance S = HPHᵀ + r (n,) against the current state."""
        return z - self.x[:, 0], self.P[:, 0, 0] + r

    def update(self, z: np.ndarray, r: np.ndarray, mask: np.ndarray) -> None:
        """Measure z (n,) with variance r (n,) where mask (n,) is True; others keep the prediction.

        Joseph-form covariance update (as filterpy), which stays symmetric positive definite. Values
        outside the mask get a zero gain, which leaves them exactly as they were (cheaper than
        gathering the masked rows).
        """
        y, S = self.innovation(z, r)
        K = np.where(mask[:, None], self.P[:, :, 0] / S[:, None], 0.0)  # (n, k)
        self.x += K * y[:, None]
        # (I − K H) P (I − K H)ᵀ + r K Kᵀ with H = [1, 0, ...], written out for n small matrices.
        row = self.P[:, None, 0, :]  # (n, 1, k): H P
        KKt = K[:, :, None] * K[:, None, :]
        self.P = (self.P - K[:, :, None] * row - np.swapaxes(K[:, :, None] * row, 1, 2)
                  + (self.P[:, 0, 0] + r)[:, None, None] * KKt)


def rts_smooth(xs: np.ndarray, Ps: np.ndarray, model: MotionModel, q: np.ndarray,
               restarts: np.ndarray | None = None, covariances: bool = False,
               chunk: int = 512) -> tuple[np.ndarray, np.ndarray | None]:
    """Rauch–Tung–Striebel smoother over a forward pass of a `KalmanBank`.

    xs: (T, n, k), Ps: (T, n, k, k) posterior states and covariances of frames 0..T−1, one frame
    apart (predict-only frames included). restarts: (T, n) bool, True where a filter was
    re-initialised at that frame — nothing is smoothed back across a restart.
    Returns the smoothed (T, n, k) states and, if `covariances`, the (T, n, k, k) covariances
    (else None). Gains are computed `chunk` frames at a time, so memory beyond the inputs stays
    bounded for long clips.
    """
    F = model.F
    Qs = np.asarray(q, dtype=np.float64)[:, None, None] * model.Q
    x_s = xs.copy()
    P_s = Ps.copy() if covariances else None
    for stop in range(len(xs) - 1, 0, -chunk):
        begin = max(stop - chunk, 0)  # smooth frames begin..stop-1 from their successors
        P_pred = F @ Ps[begin:stop] @ F.T + Qs  # prediction of frame t+1 from t
        gains = Ps[begin:stop] @ F.T @ np.linalg.inv(P_pred)
        if restarts is not None:
            gains[restarts[begin + 1 : stop + 1]] = 0.0
        x_pred = xs[begin:stop] @ F.T
        for t in range(stop - 1, begin - 1, -1):
            C = gains[t - begin]
            x_s[t] += np.einsum("nij,nj->ni", C, x_s[t + 1] - x_pred[t - begin])
            if P_s is not None:
                P_s[t] += C @ (P_s[t + 1] - P_pred[t - begin]) @ np.swapaxes(C, 1, 2)
    return x_s, P_s
