"""The One-Euro filter: known answers of a first-order low-pass whose cutoff rises with speed, holds, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridge.core.errors import BridgeError
from bridge.core.one_euro import OneEuroFilter, smoothing_factor


def _alpha(te_s: float, cutoff_hz: float) -> float:
    """alpha = 1 / (1 + tau / Te), tau = 1 / (2π fc), written out independently of the module."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / te_s)


def test_smoothing_factor_formula() -> None:
    assert smoothing_factor(1 / 30, 1.0) == pytest.approx(_alpha(1 / 30, 1.0), rel=1e-15)
    # A longer sample interval → a larger alpha (less smoothing per sample).
    assert smoothing_factor(1 / 15, 1.0) > smoothing_factor(1 / 30, 1.0) > smoothing_factor(1 / 60, 1.0)


def test_constant_signal_stays_constant_exactly() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(33, 3))
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=5.0, d_cutoff_hz=1.0, vector_axis=-1)
    t = np.cumsum(rng.uniform(0.005, 0.1, 200))  # irregular sampling
    for ti in t:
        assert np.array_equal(f(ti, x), x)


@pytest.mark.parametrize("cutoff_hz, fps", [(1.0, 30.0), (2.5, 60.0), (0.5, 25.0)])
def test_step_converges_as_the_cutoff_implies(cutoff_hz: float, fps: float) -> None:
    """beta = 0: an exponential smoother; after n samples of a unit step the residual is (1 - alpha)^n."""
    f = OneEuroFilter(min_cutoff_hz=cutoff_hz, beta=0.0)
    f(0.0, np.zeros(4))
    a = _alpha(1.0 / fps, cutoff_hz)
    for n in range(1, 91):
        y = f(n / fps, np.ones(4))
        np.testing.assert_allclose(1.0 - y, (1.0 - a) ** n, rtol=1e-9, atol=1e-15)


def test_variable_frame_rate_uses_each_interval() -> None:
    """Irregular intervals: each sample uses its own alpha(Te); the residual is the product of (1 - alpha_i)."""
    rng = np.random.default_rng(7)
    te = rng.choice([1 / 60, 1 / 30, 1 / 15, 0.1], size=60)
    f = OneEuroFilter(min_cutoff_hz=1.5, beta=0.0)
    f(0.0, np.array([0.0]))
    residual = 1.0
    for t, dt in zip(np.cumsum(te), te, strict=True):
        y = f(float(t), np.array([1.0]))
        residual *= 1.0 - _alpha(float(dt), 1.5)
        assert 1.0 - y[0] == pytest.approx(residual, rel=1e-9, abs=1e-15)


def test_same_time_constant_at_any_frame_rate() -> None:
    """A unit step seen at 15, 30, 60, 240 fps decays over the same time T = 0.5 s to about exp(-T/tau).

    Per sample the residual shrinks by 1 - alpha = 1 / (1 + u), u = Te/tau, so after n = T/Te samples
    -ln(residual) = n·ln(1 + u), which lies in [T/tau·(1 - u/2), T/tau]: the frame rate changes the decay by at
    most the factor u/2, never by the number of samples.
    """
    tau = 1.0 / (2.0 * math.pi * 1.0)
    for fps in (16, 30, 60, 240):
        f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
        f(0.0, np.array([0.0]))
        n = round(0.5 * fps)
        for k in range(1, n + 1):
            y = f(k / fps, np.array([1.0]))
        decay = -math.log(1.0 - y[0])
        u = (1.0 / fps) / tau
        assert decay == pytest.approx(n * math.log1p(u), rel=1e-9)
        assert 0.5 / tau * (1 - u / 2) <= decay <= 0.5 / tau


def test_white_noise_variance_reduced_by_first_order_iir_factor() -> None:
    """beta = 0, fixed Te: stationary output variance of white noise = alpha / (2 - alpha) × input variance."""
    rng = np.random.default_rng(42)
    fps, cutoff = 30.0, 1.0
    a = _alpha(1 / fps, cutoff)
    noise = rng.normal(0.0, 0.01, size=(6000, 33, 3))  # 1 cm jitter on a still pose
    pose = rng.uniform(-0.5, 0.5, (33, 3))
    f = OneEuroFilter(min_cutoff_hz=cutoff, beta=0.0, vector_axis=-1)
    out = np.array([f(k / fps, pose + noise[k]) for k in range(len(noise))])[200:]  # skip the start-up
    ratio = float(np.var(out - pose) / np.var(noise[200:]))
    assert ratio == pytest.approx(a / (2 - a), rel=0.08)


def test_beta_raises_cutoff_with_speed_ramp_lag() -> None:
    """A ramp at speed v: steady-state lag e solves e = (1-a)·v·Te/a with a = alpha(Te, mc + beta·(v + e/Te))."""
    fps, mc, beta, v = 60.0, 1.0, 2.0, 0.8  # 0.8 m/s along x
    te = 1.0 / fps
    f = OneEuroFilter(min_cutoff_hz=mc, beta=beta, d_cutoff_hz=1.0, vector_axis=-1)
    lag = 0.0
    for n in range(600):
        x = np.array([[v * n * te, 0.0, 0.0]])
        lag = float(x[0, 0] - f(n * te, x)[0, 0])
    e = v * te  # fixed-point iteration of the steady state (the derivative the filter sees is v + e/Te)
    for _ in range(200):
        a = _alpha(te, mc + beta * (v + e / te))
        e = (1 - a) * v * te / a
    assert lag == pytest.approx(e, rel=1e-6)
    g = OneEuroFilter(min_cutoff_hz=mc, beta=0.0)  # without beta the lag is much larger
    for n in range(600):
        lag0 = v * n * te - float(g(n * te, np.array([v * n * te]))[0])
    assert lag0 == pytest.approx((1 - _alpha(te, mc)) * v * te / _alpha(te, mc), rel=1e-6)
    assert lag < 0.5 * lag0


def test_held_elements_keep_value_and_own_time() -> None:
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    f(0.0, np.array([0.0, 0.0]))
    y = f(0.1, np.array([1.0, 1.0]), update=np.array([True, False]))
    assert y[1] == 0.0 and y[0] == pytest.approx(_alpha(0.1, 1.0))
    # Element 1 comes back after 0.3 s: its interval is the whole 0.3 s.
    y = f(0.3, np.array([1.0, 1.0]))
    assert y[1] == pytest.approx(_alpha(0.3, 1.0))


@pytest.mark.parametrize("t2", [1.0, 0.5, float("nan")])
def test_non_increasing_timestamps_rejected(t2: float) -> None:
    f = OneEuroFilter(1.0, 0.0)
    f(1.0, np.zeros(3))
    with pytest.raises(BridgeError, match="timestamp"):
        f(t2, np.zeros(3))


def test_bad_settings_rejected() -> None:
    with pytest.raises(BridgeError, match="min_cutoff_hz"):
        OneEuroFilter(0.0, 1.0)
    with pytest.raises(BridgeError, match="beta"):
        OneEuroFilter(1.0, -1.0)
