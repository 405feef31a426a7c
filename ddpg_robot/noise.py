"""Exploration noise in [-1, 1] action units, each process with its own RNG.

The trainer scales a noise sample by the env's half-range `(high - low) / 2`, so one sigma
means the same thing on every robot.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class OrnsteinUhlenbeckNoise:
    """Time-correlated noise: Euler-Maruyama steps of dx = theta (mu - x) dt + sigma sqrt(dt) dW.

    Lillicrap et al. (2015) explore with it because momentum-like robots respond to
    sustained pushes, not to independent per-step jitter. Its lag-1 autocorrelation is
    1 - theta*dt ~= exp(-theta*dt) and its stationary std sigma / sqrt(2*theta); with the
    defaults the correlation time is 1/(theta*dt) ~= 667 steps. `reset()` at episode end
    puts the state back to `x0` (mu unless given).
    """

    def __init__(
        self,
        size: int,
        *,
        mu: float = 0.0,
        theta: float = 0.15,
        sigma: float = 0.2,
        dt: float = 1e-2,
        x0: float | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.size = size
        self.mu = mu
        self.theta = theta
        self.sigma = sigma
        self.dt = dt
        self.x0 = mu if x0 is None else x0
        self.rng = np.random.default_rng(seed)
        self.state = np.full(size, self.x0, dtype=np.float64)

    def __call__(self) -> np.ndarray:
        """Advance one step and return the new state, a float64 array of shape (size,)."""
        drift = self.theta * (self.mu - self.state) * self.dt
        diffusion = self.sigma * np.sqrt(self.dt) * self.rng.standard_normal(self.size)
        self.state = self.state + drift + diffusion
        return self.state.copy()

    def reset(self) -> None:
        self.state = np.full(self.size, self.x0, dtype=np.float64)

    def state_dict(self) -> dict[str, Any]:
        return {"state": self.state.tolist(), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = np.asarray(state["state"], dtype=np.float64)
        self.rng.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        return (
            f"OrnsteinUhlenbeckNoise(size={self.size}, mu={self.mu}, theta={self.theta}, "
            f"sigma={self.sigma}, dt={self.dt})"
        )


class GaussianNoise:
    """Independent N(0, sigma^2) per step and dimension (TD3-style exploration)."""

    def __init__(
        self, size: int, *, sigma: float = 0.1, seed: int | np.random.Generator | None = None
    ) -> None:
        self.size = size
        self.sigma = sigma
        self.rng = np.random.default_rng(seed)

    def __call__(self) -> np.ndarray:
        return self.sigma * self.rng.standard_normal(self.size)

    def reset(self) -> None:
        """Nothing to reset: samples are independent."""

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        return f"GaussianNoise(size={self.size}, sigma={self.sigma})"


class ZeroNoise:
    """No exploration noise (`--noise none`): the same interface, always zeros."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self) -> np.ndarray:
        return np.zeros(self.size)

    def reset(self) -> None:
        """Nothing to reset."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Stateless."""


def make_noise(
    kind: str,
    size: int,
    *,
    sigma: float,
    theta: float = 0.15,
    dt: float = 1e-2,
    seed: int | np.random.Generator | None = None,
) -> OrnsteinUhlenbeckNoise | GaussianNoise | ZeroNoise:
    """Build the noise process named by `--noise` (`ou`, `gaussian` or `none`)."""
    if kind == "ou":
        return OrnsteinUhlenbeckNoise(size, sigma=sigma, theta=theta, dt=dt, seed=seed)
    if kind == "gaussian":
        return GaussianNoise(size, sigma=sigma, seed=seed)
    if kind == "none":
        return ZeroNoise(size)
    raise ValueError(f"noise must be one of ou, gaussian, none; got {kind!r}")
