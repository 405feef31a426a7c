"""The critic's bias: its Q(s, mu(s)) against the discounted return the policy really collects.

At every evaluation the trainer records the deterministic episodes, keeps the states whose
realized discounted return is known (all of an episode that terminated; after a time-limit
truncation only the states far enough from the cut), and compares the critic's estimate with
that return over them. This module is numpy only: the caller passes a function that
evaluates the critic. docs/algorithm.md ("Measuring the critic's bias") explains the choices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # evaluation.py measures the bias with this module
    from ddpg_robot.evaluation import EpisodeRecord

MAX_TAIL_WEIGHT = 0.01
"""Largest discount weight gamma^(T - t) that the unseen tail of a truncated episode may carry
for state t to count. The realized return of a state H steps before a time-limit cut lacks
gamma^H V(s_T); keeping only states with gamma^H <= 0.01 bounds that error to 1% of the value
after the cut (H >= 459 steps for gamma 0.99) without asking the critic for V(s_T)."""

QValues = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(observations (N, obs_dim), actions (N, act_dim)) -> the critic's Q, shape (N,)."""


@dataclass(frozen=True)
class CriticBias:
    """One evaluation's comparison, in return units (discounted, like Q). The fields are the
    metrics.csv columns; None (a blank cell) when no state qualified."""

    q_estimate: float | None  # mean Q(s, mu(s)) over the usable states
    q_realized: float | None  # mean realized discounted return G_t over the same states
    q_bias: float | None  # q_estimate - q_realized: > 0 means the critic overestimates
    q_bias_rel: float | None  # q_bias / mean |G_t|; None when that mean is 0
    q_bias_states: int  # how many states were compared

    def columns(self) -> dict[str, float | int | None]:
        """The fields as a dict, ready for `MetricsLogger.log_row(**...)`."""
        return dataclasses.asdict(self)


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = sum_k gamma^k r_{t+k} for every step t of one episode, shape (T,), float64.

    Only the rewards inside the episode count: what a truncation cut off is not in it.
    Computed backwards, G_t = r_t + gamma * G_{t+1}, in one pass without powers of gamma.
    """
    rewards = np.asarray(rewards, dtype=np.float64)  # (T,)
    returns = np.empty_like(rewards)  # (T,)
    following = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        following = rewards[t] + gamma * following
        returns[t] = following
    return returns


def usable_states(
    length: int, terminated: bool, gamma: float, max_tail_weight: float = MAX_TAIL_WEIGHT
) -> np.ndarray:
    """Which of an episode's `length` states have a trustworthy realized return, (T,) bool.

    An episode that ended by `terminated` has no value after its end, so every return in it is
    exact. One cut at step T (time limit) leaves out gamma^(T - t) V(s_T) from state t's
    return; that tail is not bootstrapped with the critic (which would measure the critic
    with itself): the states whose missing weight exceeds `max_tail_weight` are dropped.
    """
    if terminated:
        return np.ones(length, dtype=bool)
    steps_to_cut = np.arange(length, 0, -1, dtype=np.float64)  # (T,): T - t for t = 0..T-1
    return gamma**steps_to_cut <= max_tail_weight


def usable_samples(
    episodes: Sequence[EpisodeRecord], gamma: float, max_tail_weight: float = MAX_TAIL_WEIGHT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The usable states of all `episodes`, their executed actions and realized returns.

    `episodes`: at least one. Shapes (N, obs_dim), (N, act_dim), (N,); N may be 0 (e.g. gamma
    0.9999 with 1,000-step episodes that all hit the time limit: no state is far enough from
    its cut).
    """
    observations, actions, realized = [], [], []
    for episode in episodes:
        keep = usable_states(len(episode.rewards), episode.terminated, gamma, max_tail_weight)
        observations.append(episode.observations[keep])
        actions.append(episode.actions[keep])
        realized.append(discounted_returns(episode.rewards, gamma)[keep])
    return np.concatenate(observations), np.concatenate(actions), np.concatenate(realized)


def summarize_bias(estimates: np.ndarray, realized: np.ndarray) -> CriticBias:
    """Compare the critic's estimates with the realized returns of the same states, (N,) each."""
    estimates = np.asarray(estimates, dtype=np.float64)
    realized = np.asarray(realized, dtype=np.float64)
    if len(realized) == 0:
        return CriticBias(None, None, None, None, 0)
    q_estimate, q_realized = float(estimates.mean()), float(realized.mean())
    bias = q_estimate - q_realized
    scale = float(np.abs(realized).mean())
    return CriticBias(
        q_estimate=q_estimate,
        q_realized=q_realized,
        q_bias=bias,
        q_bias_rel=bias / scale if scale > 0 else None,
        q_bias_states=len(realized),
    )


def measure_critic_bias(
    episodes: Sequence[EpisodeRecord],
    gamma: float,
    q_values: QValues,
    max_tail_weight: float = MAX_TAIL_WEIGHT,
) -> CriticBias:
    """The critic's bias over the usable states of `episodes`.

    `q_values` is called once, on all usable states with the actions the policy executed
    there (so a batched forward), and not at all when no state qualifies.
    """
    observations, actions, realized = usable_samples(episodes, gamma, max_tail_weight)
    if len(realized) == 0:
        return summarize_bias(realized, realized)
    return summarize_bias(q_values(observations, actions), realized)
