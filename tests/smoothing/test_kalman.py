"""The vectorised Kalman bank and RTS smoother equal filterpy's KalmanFilter and rts_smoother."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.common import Q_discrete_white_noise, kinematic_kf
from filterpy.kalman import KalmanFilter

from mocap_app.smoothing.kalman import KalmanBank, motion_model, rts_smooth

MODELS = ["constant_velocity", "constant_acceleration"]


@pytest.mark.parametrize(("name", "order"), [("constant_velocity", 1), ("constant_acceleration", 2)])
def test_motion_models_are_filterpys_kinematic_models(name: str, order: int) -> None:
    model = motion_model(name)
    reference = kinematic_kf(dim=1, order=order, dt=1.0)
    np.testing.assert_array_equal(model.F, reference.F)
    np.testing.assert_array_equal(model.H, reference.H)
    np.testing.assert_array_equal(model.Q, Q_discrete_white_noise(order + 1, dt=1.0, var=1.0))


def _sequence(n: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Measurements of n drifting values: z (steps, n), variances r (steps, n), masks (steps, n), q (n,)."""
    rng = np.random.default_rng(seed)
    truth = np.cumsum(np.cumsum(rng.normal(0, 0.01, (steps, n)), axis=0), axis=0)
    r = rng.uniform(0.5, 4.0, (steps, n)) * 1e-3
    z = truth + rng.normal(size=(steps, n)) * np.sqrt(r)
    mask = rng.random((steps, n)) > 0.2
    mask[0] = True
    return z, r, mask, rng.uniform(0.2, 2.0, n) * 1e-4


def _filterpy_run(model, z, r, mask, q, j):
    """filterpy on value j: posterior states/covariances per step (predict-only where not measured)."""
    kf = KalmanFilter(dim_x=model.order, dim_z=1)
    kf.F, kf.H, kf.Q = model.F.copy(), model.H.copy(), q[j] * model.Q
    kf.x = np.zeros((model.order, 1))
    kf.x[0, 0] = z[0, j]
    kf.P = np.diag([r[0, j]] + [4.0 * r[0, j] + 100.0 * q[j]] * (model.order - 1))
    xs, Ps = [kf.x.ravel().copy()], [kf.P.copy()]
    for t in range(1, len(z)):
        kf.predict()
        if mask[t, j]:
            kf.update(np.array([[z[t, j]]]), R=np.array([[r[t, j]]]))
        xs.append(kf.x.ravel().copy())
        Ps.append(kf.P.copy())
    return kf, np.array(xs), np.array(Ps)


@pytest.mark.parametrize("name", MODELS)
def test_bank_and_rts_equal_filterpy(name: str) -> None:
    model = motion_model(name)
    z, r, mask, q = _sequence(n=7, steps=80, seed=3)
    bank = KalmanBank(model, q)
    bank.initialise(z[0], r[0])
    xs, Ps = [bank.x.copy()], [bank.P.copy()]
    for t in range(1, len(z)):
        bank.predict()
        bank.update(z[t], r[t], mask[t])
        xs.append(bank.x.copy())
        Ps.append(bank.P.copy())
    xs, Ps = np.array(xs), np.array(Ps)
    x_smooth, P_smooth = rts_smooth(xs, Ps, model, q, covariances=True, chunk=7)
    for j in range(len(q)):
        kf, ref_x, ref_P = _filterpy_run(model, z, r, mask, q, j)
        np.testing.assert_allclose(xs[:, j], ref_x, rtol=0, atol=1e-9)
        np.testing.assert_allclose(Ps[:, j], ref_P, rtol=0, atol=1e-9)
        sx, sP, _, _ = kf.rts_smoother(ref_x[:, :, None], ref_P)
        np.testing.assert_allclose(x_smooth[:, j], sx[:, :, 0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(P_smooth[:, j], sP, rtol=0, atol=1e-9)
    # The smoother actually changed something: a test that cannot fail proves nothing.
    assert np.abs(x_smooth[:-1, :, 0] - xs[:-1, :, 0]).max() > 1e-4


def test_bank_equals_one_big_filterpy_filter() -> None:
    """The bank is exactly the stacked block-diagonal filter (the 35 ms/frame one for 660 states)."""
    model = motion_model("constant_velocity")
    z, r, _, q = _sequence(n=4, steps=30, seed=5)
    k, n = model.order, len(q)
    big = KalmanFilter(dim_x=n * k, dim_z=n)
    big.F = np.kron(np.eye(n), model.F)
    big.H = np.kron(np.eye(n), model.H)
    big.Q = np.kron(np.diag(q), model.Q)
    bank = KalmanBank(model, q)
    bank.initialise(z[0], r[0])
    big.x = bank.x.reshape(-1, 1).copy()
    big.P = np.zeros((n * k, n * k))
    for j in range(n):
        big.P[j * k : (j + 1) * k, j * k : (j + 1) * k] = bank.P[j]
    for t in range(1, len(z)):
        bank.predict()
        bank.update(z[t], r[t], np.ones(n, dtype=bool))
        big.predict()
        big.update(z[t][:, None], R=np.diag(r[t]))
    np.testing.assert_allclose(bank.x.ravel(), big.x.ravel(), rtol=0, atol=1e-9)
    for j in range(n):
        np.testing.assert_allclose(bank.P[j], big.P[j * k : (j + 1) * k, j * k : (j + 1) * k], rtol=0, atol=1e-9)


def test_rts_does_not_carry_a_restart_backwards() -> None:
    model = motion_model("constant_velocity")
    q = np.array([1e-4, 1e-4])
    bank = KalmanBank(model, q)
    r = np.full(2, 1e-3)
    bank.initialise(np.zeros(2), r)
    xs, Ps, restarts = [bank.x.copy()], [bank.P.copy()], [np.zeros(2, dtype=bool)]
    for t in range(1, 20):
        bank.predict()
        z = np.zeros(2) if t < 10 else np.array([1.0, 0.0])
        restart = np.array([t == 10, False])
        bank.update(z, r, ~restart)
        bank.initialise(z, r, restart)
        xs.append(bank.x.copy())
        Ps.append(bank.P.copy())
        restarts.append(restart)
    smoothed, _ = rts_smooth(np.array(xs), np.array(Ps), model, q, np.array(restarts))
    np.testing.assert_allclose(smoothed[:10, 0, 0], np.array(xs)[:10, 0, 0])  # frames before the restart untouched
    assert abs(smoothed[9, 0, 0]) < 1e-9 and smoothed[10, 0, 0] > 0.99
