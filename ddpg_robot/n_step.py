"""n-step transitions: k rewards summed into one stored transition (Sutton & Barto, ch. 7).

With `n_step = n` the critic's target for (s_t, a_t) becomes

    y = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1}
        + gamma^k (1 - terminated) Q'(s_{t+k}, mu'(s_{t+k}))

with k = n, or fewer where the episode ended first. More of each target is reward the env
paid and less is the critic's own estimate, whose errors the actor otherwise climbs. The
rewards were collected by the exploring policy, not by mu: a bias that grows with n.

The window sits between the env loop and the replay buffer, so sampling and the update stay
as they are: each stored transition carries its k (`steps`), and the learner discounts its
bootstrap by gamma^k. n = 1 stores every transition as it comes, with k = 1.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np


class NStepTransition(NamedTuple):
    """(s_t, a_t, discounted sum of k rewards, s_{t+k}, terminated at t+k, k)."""

    obs: np.ndarray
    action: np.ndarray
    reward: float
    next_obs: np.ndarray
    terminated: bool
    steps: int


class NStepWindow:
    """The last `n` steps of the current episode; `push` returns the transitions it completes.

    A transition is complete once `n` rewards follow its start, or when its episode ends
    (terminated or truncated): then every transition still open is completed with the
    rewards it has, bootstrapping from the episode's final observation (not at all when it
    terminated). The open transitions of an episode a run abandons (a stopped run resumes
    with a new episode and a new window) are never stored: at most n - 1 of them.
    """

    def __init__(self, n: int, gamma: float) -> None:
        if n < 1:
            raise ValueError(f"n-step window needs n >= 1, got {n}")
        self.n = n
        self.gamma = gamma
        self._open: deque[tuple[np.ndarray, np.ndarray, float]] = deque()

    def push(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> list[NStepTransition]:
        """Add one env step; return the transitions now complete, oldest first."""
        self._open.append((obs, action, float(reward)))
        if terminated or truncated:
            return [self._complete(next_obs, terminated) for _ in range(len(self._open))]
        if len(self._open) == self.n:
            return [self._complete(next_obs, False)]
        return []

    def _complete(self, next_obs: np.ndarray, terminated: bool) -> NStepTransition:
        """The oldest open transition, closed with every reward after it in the window."""
        rewards = [reward for _, _, reward in self._open]
        obs, action, _ = self._open.popleft()
        discounted = sum(self.gamma**i * r for i, r in enumerate(rewards))
        return NStepTransition(obs, action, discounted, next_obs, terminated, len(rewards))
