"""The critic's bias at each evaluation: realized discounted returns, truncation, Q - G."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import tests.envs  # noqa: F401  (registers TestPoint-v0)
from ddpg_robot.config import resolve_config
from ddpg_robot.critic_bias import (
    MAX_TAIL_WEIGHT,
    discounted_returns,
    summarize_bias,
    usable_states,
)
from ddpg_robot.envs import make_env
from ddpg_robot.evaluation import evaluate_policy, record_episodes
from ddpg_robot.logger import read_metrics
from ddpg_robot.runs import start

COUNTDOWN_STEPS = 20  # CountdownEnv's episode length
COUNTDOWN_GAMMA = 0.5  # the discount its observation is built for; powers of 2 are exact floats
COUNTDOWN_CUT = 20  # time limit of TestCountdownCut-v0


class CountdownEnv(gym.Env):
    """Reward 1 on every step, whatever the action; terminates after exactly `steps` steps.

    The discounted value of the state with n steps left is known in closed form,
    sum_{k<n} gamma^k = (1 - gamma^n) / (1 - gamma). The observation is [gamma^n, n] for the
    `gamma` given, so a critic linear in it, 1 / (1 - gamma) - obs[0] / (1 - gamma), is
    exactly that value: the tests below build one from plain weights.
    """

    observation_space = gym.spaces.Box(0.0, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, steps: int = COUNTDOWN_STEPS, gamma: float = COUNTDOWN_GAMMA) -> None:
        self.steps, self.gamma = steps, gamma

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = self.steps
        return self._obs(), {}

    def step(self, action):
        self.left -= 1
        return self._obs(), 1.0, self.left == 0, False, {}

    def _obs(self) -> np.ndarray:
        return np.array([self.gamma**self.left, float(self.left)])


if "TestCountdown-v0" not in gym.registry:
    # Ends by termination: every state's realized return is exact.
    gym.register("TestCountdown-v0", entry_point=CountdownEnv)
if "TestCountdownCut-v0" not in gym.registry:
    # The same 1,000-step countdown cut by a time limit after COUNTDOWN_CUT steps: the value
    # after the cut (about 1 / (1 - gamma)) is missing from the realized returns.
    gym.register(
        "TestCountdownCut-v0",
        entry_point=CountdownEnv,
        kwargs={"steps": 1_000},
        max_episode_steps=COUNTDOWN_CUT,
    )


def _closed_form(steps_left: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted return of n rewards of 1: (1 - gamma^n) / (1 - gamma)."""
    return (1 - gamma**steps_left) / (1 - gamma)


def _zero_action(obs: np.ndarray) -> np.ndarray:
    return np.zeros(1, dtype=np.float32)


def test_realized_returns_of_a_terminating_episode_are_exact() -> None:
    env = gym.make("TestCountdown-v0", steps=30)
    (episode,) = record_episodes(_zero_action, env, 1)
    assert episode.terminated and len(episode.rewards) == 30
    gamma = 0.9
    expected = _closed_form(np.arange(30, 0, -1), gamma)  # n = 30 - t steps left at t
    np.testing.assert_allclose(discounted_returns(episode.rewards, gamma), expected,
                               rtol=0, atol=1e-12)  # fmt: skip
    assert usable_states(30, episode.terminated, gamma).all()  # an exact return everywhere


def test_discounted_returns_follow_the_definition_for_any_rewards() -> None:
    rewards = np.random.default_rng(0).normal(size=50)
    gamma = 0.97
    expected = [sum(gamma**k * r for k, r in enumerate(rewards[t:])) for t in range(50)]
    np.testing.assert_allclose(discounted_returns(rewards, gamma), expected, rtol=0, atol=1e-12)


def test_states_near_a_time_limit_are_left_out() -> None:
    env = gym.make("TestCountdownCut-v0")
    (episode,) = record_episodes(_zero_action, env, 1)
    assert not episode.terminated and len(episode.rewards) == COUNTDOWN_CUT
    gamma = 0.5  # the unseen tail weighs 0.5^(20 - t): at most 0.01 from 7 steps before the cut
    keep = usable_states(COUNTDOWN_CUT, episode.terminated, gamma)
    assert keep.tolist() == [True] * (COUNTDOWN_CUT - 6) + [False] * 6
    assert 0.5**7 <= MAX_TAIL_WEIGHT < 0.5**6
    # What was seen is still summed exactly: the returns of the kept states miss only the tail.
    realized = discounted_returns(episode.rewards, gamma)
    np.testing.assert_allclose(realized, _closed_form(np.arange(COUNTDOWN_CUT, 0, -1), gamma),
                               rtol=0, atol=1e-12)  # fmt: skip
    # gamma 0.99 and 1,000-step episodes: 459 steps from the cut (0.99^459 < 0.01 < 0.99^458).
    assert usable_states(1000, False, 0.99).sum() == 1000 - 458
    assert usable_states(1000, True, 0.99).sum() == 1000
    assert not usable_states(1000, False, 0.9999).any()  # too long a horizon: nothing usable


def test_recording_changes_neither_the_episodes_nor_their_returns() -> None:
    """The trainer's evaluation records its episodes: the same returns, to the last bit."""

    def policy(obs: np.ndarray) -> np.ndarray:
        return np.array([np.tanh(obs[0]) - 0.5, 2.5 + obs[1]], dtype=np.float32)

    returns = evaluate_policy(policy, make_env("TestPoint-v0", seed=3), 3)
    env = make_env("TestPoint-v0", seed=3)
    episodes = record_episodes(policy, env, 3)
    assert [e.episode_return for e in episodes] == returns.tolist()
    first_obs, _ = make_env("TestPoint-v0", seed=3).reset()
    np.testing.assert_array_equal(episodes[0].observations[0], first_obs)
    np.testing.assert_array_equal(episodes[0].actions[0], policy(first_obs))
    assert all(e.observations.shape == (50, 3) and e.actions.shape == (50, 2) for e in episodes)
    assert all(not e.terminated and e.rewards.sum() == pytest.approx(e.episode_return)
               for e in episodes)  # fmt: skip


def test_the_relative_bias_divides_by_the_mean_absolute_return() -> None:
    bias = summarize_bias(np.array([1.0, -1.0, 4.0]), np.array([2.0, -4.0, 0.5]))
    assert bias.q_estimate == pytest.approx(4 / 3) and bias.q_realized == pytest.approx(-0.5)
    assert bias.q_bias == pytest.approx(4 / 3 + 0.5)
    assert bias.q_bias_rel == pytest.approx((4 / 3 + 0.5) / (6.5 / 3))
    assert bias.q_bias_states == 3
    assert summarize_bias(np.zeros(2), np.zeros(2)).q_bias_rel is None  # blank, not a division
    empty = summarize_bias(np.zeros(0), np.zeros(0))
    assert empty.columns() == {"q_estimate": None, "q_realized": None, "q_bias": None,
                               "q_bias_rel": None, "q_bias_states": 0}  # fmt: skip


def _evaluate_offset_critic(run_dir: Path, env_id: str, gamma: float, c: float) -> dict:
    """One evaluation of a run whose critic is V + c, with V the countdown's true value.

    The actor is a linear head pinned at 3, beyond the action bound 1: the evaluation
    executes 1. The critic reads gamma^n (n steps left) and the action from its inputs,
    Q(s, a) = (1 - gamma^n) / (1 - gamma) + c + (a - 1): V + c at the executed action,
    V + c + 2 at the raw output. Returns the evaluation row of metrics.csv.
    """
    episodes = 2
    steps = episodes * COUNTDOWN_STEPS
    overrides = {"total_steps": steps, "learning_starts": steps, "eval_every": steps,
                 "eval_episodes": episodes, "hidden_sizes": (2,), "gamma": gamma,
                 "action_bound": "invert-gradients", "buffer_size": 100}  # fmt: skip
    run = start(resolve_config(env_id, overrides), run_dir)
    actor, critic = run.actor.net, run.learner.critic.net  # Linear, ReLU, Linear
    with torch.no_grad():
        for net in (actor, critic):
            for param in net.parameters():
                param.zero_()
        actor[-1].bias.fill_(3.0)
        critic[0].weight[0, 0] = 1.0  # hidden 0: gamma^n (obs[0] >= 0 passes the ReLU)
        critic[0].weight[1, 2] = 1.0  # hidden 1: the action (>= 0 here)
        critic[-1].weight[0] = torch.tensor([-1 / (1 - gamma), 1.0])
        critic[-1].bias.fill_(1 / (1 - gamma) + c - 1.0)
    run.run()
    (row,) = [r for r in read_metrics(run_dir / "metrics.csv") if r["eval_return_mean"]]
    return row


@pytest.mark.parametrize("c", [0.25, -1.5])
def test_a_critic_offset_by_c_reports_a_bias_of_c(tmp_path: Path, c: float) -> None:
    gamma = COUNTDOWN_GAMMA
    row = _evaluate_offset_critic(tmp_path / "run", "TestCountdown-v0", gamma, c)
    true_values = _closed_form(np.arange(COUNTDOWN_STEPS, 0, -1), gamma)  # every state usable
    assert int(row["q_bias_states"]) == 2 * COUNTDOWN_STEPS
    assert float(row["q_realized"]) == pytest.approx(true_values.mean(), rel=0, abs=1e-12)
    assert float(row["q_estimate"]) == pytest.approx(true_values.mean() + c, rel=0, abs=1e-6)
    assert float(row["q_bias"]) == pytest.approx(c, rel=0, abs=1e-6)
    assert float(row["q_bias_rel"]) == pytest.approx(c / true_values.mean(), rel=1e-6)


def test_after_a_time_limit_the_bias_is_off_by_at_most_the_tail_bound(tmp_path: Path) -> None:
    """Cut after 20 of 1,000 steps: the critic's V is the uncut value, about 1 / (1 - gamma);
    the kept states' returns miss at most MAX_TAIL_WEIGHT of it, the dropped ones up to half."""
    gamma, c = COUNTDOWN_GAMMA, 0.25
    row = _evaluate_offset_critic(tmp_path / "run", "TestCountdownCut-v0", gamma, c)
    assert int(row["q_bias_states"]) == 2 * (COUNTDOWN_CUT - 6)
    assert c <= float(row["q_bias"]) <= c + MAX_TAIL_WEIGHT / (1 - gamma)


def test_no_state_far_enough_from_a_cut_leaves_the_columns_blank(tmp_path: Path) -> None:
    """gamma 0.9999 needs 46,050 steps before a cut; these episodes are cut after 20."""
    row = _evaluate_offset_critic(tmp_path / "run", "TestCountdownCut-v0", 0.9999, 0.25)
    assert row["eval_return_mean"] == str(float(COUNTDOWN_CUT))
    assert row["q_bias_states"] == "0"
    assert [row[k] for k in ("q_estimate", "q_realized", "q_bias", "q_bias_rel")] == [""] * 4
