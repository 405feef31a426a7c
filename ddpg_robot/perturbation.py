"""Latency and noise between a policy and its env: how a policy copes with a real robot.

A simulator hands the policy the exact state and applies its action at once; a robot reads
noisy sensors and applies a command one or more control periods late. `ddpg-robot eval
--latency N --obs-noise X --action-noise Y` puts the env inside `PerturbedEnv`, which does
exactly this (docs/export.md, "Robustness"):

- latency N: the action computed from observation t is executed at step t + N. In the
  first N steps of every episode, before any action has arrived, the env receives the
  midpoint of the bounds (what `Controller` holds before its first action).
- observation noise X: the policy sees `obs + X * std * z`, z standard normal per entry,
  where `std` is each entry's running standard deviation (population, Welford) over every
  clean observation this evaluation has seen so far, the current one included; so entry
  noise scales with how much that entry moves, and the very first observation is noise-free.
- action noise Y: the env receives `clip(a + Y * (high - low) / 2 * z, low, high)`, applied
  to the action as executed (after the delay).

Rewards and the env's own state are never touched. The noise comes from two streams of one
`--seed`, one per kind, so a run is reproducible and turning one kind on leaves the other's
draws unchanged. With N = 0 and X = Y = 0 the wrapper passes every value through untouched.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from ddpg_robot.errors import DDPGRobotError


class PerturbationError(DDPGRobotError, ValueError):
    """A latency or noise level that makes no sense."""


@dataclass(frozen=True)
class Perturbation:
    """latency: control periods (int >= 0); obs_noise: fraction of each observation entry's
    running std (>= 0; 0.01 = 1 %); action_noise: fraction of each action's half-range."""

    latency: int = 0
    obs_noise: float = 0.0
    action_noise: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.latency, int) or isinstance(self.latency, bool) or self.latency < 0:
            raise PerturbationError(
                f"--latency must be a whole number of control periods >= 0, got {self.latency!r}"
            )
        for flag, value, unit in (
            ("--obs-noise", self.obs_noise, "of each observation entry's std"),
            ("--action-noise", self.action_noise, "of each action's half-range"),
        ):
            real = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (real and math.isfinite(value) and value >= 0):
                raise PerturbationError(
                    f"{flag} must be a finite fraction >= 0 (0.01 = 1 % {unit}), got {value!r}"
                )

    @property
    def active(self) -> bool:
        """Whether anything is perturbed at all."""
        return bool(self.latency or self.obs_noise or self.action_noise)

    def describe(self) -> str:
        """`latency 1 step, obs noise 5 %`; `no perturbation` when all are off."""
        parts = []
        if self.latency:
            parts.append(f"latency {self.latency} step{'s' if self.latency > 1 else ''}")
        if self.obs_noise:
            parts.append(f"obs noise {100 * self.obs_noise:g} %")
        if self.action_noise:
            parts.append(f"action noise {100 * self.action_noise:g} %")
        return ", ".join(parts) or "no perturbation"


class PerturbedEnv(gym.Wrapper):
    """`env` as a policy sees it through delayed actions and noisy sensors (module doc)."""

    def __init__(self, env: gym.Env, perturbation: Perturbation, seed: int) -> None:
        super().__init__(env)
        self.perturbation = perturbation
        obs_stream, action_stream = np.random.SeedSequence(seed).spawn(2)
        self._obs_rng = np.random.default_rng(obs_stream)
        self._action_rng = np.random.default_rng(action_stream)
        low = np.asarray(env.action_space.low, dtype=np.float32)
        high = np.asarray(env.action_space.high, dtype=np.float32)
        self._low, self._high = low, high
        self._half_range = (high.astype(np.float64) - low) / 2
        self._midpoint = ((low + high) / 2).astype(np.float32)
        self._pending: deque[np.ndarray] = deque()
        obs_dim = int(env.observation_space.shape[0])
        self._count = 0
        self._mean = np.zeros(obs_dim)
        self._m2 = np.zeros(obs_dim)  # sum of squared deviations (Welford)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        self._pending.clear()
        for _ in range(self.perturbation.latency):
            self._pending.append(self._midpoint.copy())
        return self._observe(obs), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, Any, bool, bool, dict]:
        if self.perturbation.latency:
            self._pending.append(np.array(action, copy=True))
            action = self._pending.popleft()
        if self.perturbation.action_noise:
            noise = self._action_rng.standard_normal(len(self._low))
            action = np.clip(
                action + self.perturbation.action_noise * self._half_range * noise,
                self._low,
                self._high,
            )
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._observe(obs), reward, terminated, truncated, info

    def running_std(self) -> np.ndarray:
        """Population std of each entry over the clean observations seen so far."""
        return np.sqrt(self._m2 / max(self._count, 1))

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        """Fold the clean `obs` into the running statistics; return what the policy sees."""
        if not self.perturbation.obs_noise:
            return obs
        x = np.asarray(obs, dtype=np.float64)
        self._count += 1
        delta = x - self._mean
        self._mean += delta / self._count
        self._m2 += delta * (x - self._mean)
        noise = self._obs_rng.standard_normal(len(x))
        return x + self.perturbation.obs_noise * self.running_std() * noise
