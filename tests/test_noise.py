"""Exploration noise: OU statistics against theory, seeds, reset; Gaussian independence."""

from __future__ import annotations

import numpy as np
import pytest

from ddpg_robot.noise import GaussianNoise, OrnsteinUhlenbeckNoise, ZeroNoise, make_noise

THETA, SIGMA, DT = 0.15, 0.2, 1e-2


def _run(noise, steps: int) -> np.ndarray:
    return np.stack([noise() for _ in range(steps)])  # (steps, size)


def _lag_autocorrelation(x: np.ndarray, lag: int, mean: float) -> float:
    """Autocorrelation at `lag` over all columns, around a known mean (no estimation bias)."""
    centred = x - mean
    return float(np.sum(centred[lag:] * centred[:-lag]) / np.sum(centred[:-lag] ** 2))


@pytest.fixture(scope="module")
def ou_long_run() -> np.ndarray:
    """64 independent OU processes, 100k steps each, after a burn-in of 5 correlation times."""
    noise = OrnsteinUhlenbeckNoise(64, theta=THETA, sigma=SIGMA, dt=DT, seed=123)
    _run(noise, 3_500)
    return _run(noise, 100_000)


def test_ou_defaults_match_the_product() -> None:
    noise = OrnsteinUhlenbeckNoise(2)
    assert (noise.theta, noise.sigma, noise.dt, noise.mu) == (0.15, 0.2, 1e-2, 0.0)


def test_ou_without_diffusion_reverts_to_mu_geometrically() -> None:
    noise = OrnsteinUhlenbeckNoise(3, mu=0.5, sigma=0.0, x0=2.0, seed=0)
    xs = _run(noise, 2_000)
    expected = 0.5 + 1.5 * (1 - THETA * DT) ** np.arange(1, 2_001)
    np.testing.assert_allclose(xs[:, 0], expected, rtol=1e-12)
    assert abs(xs[-1, 0] - 0.5) < 0.1


def test_ou_long_run_mean_is_mu() -> None:
    noise = OrnsteinUhlenbeckNoise(64, mu=0.3, seed=5)
    _run(noise, 3_500)
    xs = _run(noise, 20_000)
    # ~64 * 20k / 1333 = 960 independent samples of std 0.365: standard error ~0.012.
    assert abs(xs.mean() - 0.3) < 0.05


def test_ou_lag1_autocorrelation_is_exp_minus_theta_dt(ou_long_run: np.ndarray) -> None:
    rho = _lag_autocorrelation(ou_long_run, 1, mean=0.0)
    expected = np.exp(-THETA * DT)  # 0.998501...
    # Standard error sqrt((1 - rho^2) / 6.4e6) ~ 2e-5; the tolerance is 10% of 1 - rho.
    assert abs(rho - expected) < 1.5e-4
    # Correlation decays exponentially: lag 100 gives exp(-100 theta dt) ~ 0.861.
    assert abs(_lag_autocorrelation(ou_long_run, 100, mean=0.0) - np.exp(-100 * THETA * DT)) < 0.02


def test_ou_stationary_std_is_sigma_over_sqrt_2theta(ou_long_run: np.ndarray) -> None:
    expected = SIGMA / np.sqrt(2 * THETA)  # 0.3651...
    assert abs(ou_long_run.std() / expected - 1) < 0.05


def test_ou_reset_restarts_from_x0() -> None:
    noise = OrnsteinUhlenbeckNoise(4, sigma=0.2, seed=1)
    _run(noise, 500)
    assert np.abs(noise.state).max() > 0.05
    noise.reset()
    np.testing.assert_array_equal(noise.state, np.zeros(4))
    # After a reset the first step is again a single diffusion increment: std sigma*sqrt(dt).
    first_steps = []
    for _ in range(2_000):
        noise.reset()
        first_steps.append(noise())
    assert abs(np.std(first_steps) / (SIGMA * np.sqrt(DT)) - 1) < 0.05


def test_ou_same_seed_same_sequence_and_state_round_trip() -> None:
    a = _run(OrnsteinUhlenbeckNoise(3, seed=42), 100)
    b = _run(OrnsteinUhlenbeckNoise(3, seed=42), 100)
    c = _run(OrnsteinUhlenbeckNoise(3, seed=43), 100)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)

    noise = OrnsteinUhlenbeckNoise(3, seed=7)
    _run(noise, 50)
    saved = noise.state_dict()
    expected = _run(noise, 20)
    restored = OrnsteinUhlenbeckNoise(3, seed=999)
    restored.load_state_dict(saved)
    np.testing.assert_array_equal(_run(restored, 20), expected)


def test_gaussian_noise_is_uncorrelated_with_the_given_std() -> None:
    xs = _run(GaussianNoise(16, sigma=0.1, seed=3), 50_000)
    assert abs(_lag_autocorrelation(xs, 1, mean=0.0)) < 0.01
    assert abs(xs.std() / 0.1 - 1) < 0.01
    np.testing.assert_array_equal(
        _run(GaussianNoise(2, sigma=0.1, seed=9), 10), _run(GaussianNoise(2, sigma=0.1, seed=9), 10)
    )


def test_make_noise_builds_each_kind() -> None:
    assert isinstance(make_noise("ou", 2, sigma=0.2, seed=0), OrnsteinUhlenbeckNoise)
    assert isinstance(make_noise("gaussian", 2, sigma=0.1, seed=0), GaussianNoise)
    zero = make_noise("none", 2, sigma=0.1)
    assert isinstance(zero, ZeroNoise)
    np.testing.assert_array_equal(zero(), np.zeros(2))
    with pytest.raises(ValueError, match="noise must be one of"):
        make_noise("pink", 2, sigma=0.1)
