"""Deterministic evaluation: run a policy without noise for whole episodes."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

Policy = Callable[[np.ndarray], np.ndarray]
"""Maps one observation (obs_dim,) to one action (act_dim,) in env units."""


def evaluate_policy(policy: Policy, env: gym.Env, episodes: int) -> np.ndarray:
    """Undiscounted return of each of `episodes` episodes, as a float64 array.

    The env's own RNG drives the initial states: seed it once (make_env does) and successive
    evaluations see different, but reproducible, episodes.
    """
    returns = np.zeros(episodes)
    for i in range(episodes):
        obs, _ = env.reset()
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            returns[i] += float(reward)
            done = terminated or truncated
    return returns
