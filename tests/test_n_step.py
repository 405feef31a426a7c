"""n-step returns: the window's transitions, and TD targets that are exact for the true Q."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import tests.envs  # noqa: F401  (registers TestPoint-v0)
from ddpg_robot.buffer import ReplayBuffer
from ddpg_robot.checkpoint import load_checkpoint
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.n_step import NStepWindow
from ddpg_robot.networks import Actor
from tests.helpers import run_main


def _obs(t: int) -> np.ndarray:
    return np.array([float(t)], dtype=np.float32)


def _push_episode(window: NStepWindow, rewards: list[float], *, terminated: bool) -> list:
    """Push one episode with obs_t = [t]; it ends after the last reward (terminated, or
    truncated by a time limit). Returns what `push` emitted at each step."""
    emitted = []
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        emitted.append(
            window.push(_obs(t), np.zeros(1), reward, _obs(t + 1),
                        terminated=terminated and last, truncated=last and not terminated)
        )  # fmt: skip
    return emitted


def test_window_sums_n_discounted_rewards_and_closes_the_tail_at_the_episode_end() -> None:
    window = NStepWindow(3, gamma=0.5)
    emitted = _push_episode(window, [1.0, 2.0, 3.0, 4.0, 5.0], terminated=True)
    assert [len(e) for e in emitted] == [0, 0, 1, 1, 3]
    done = [t for step in emitted for t in step]
    assert [float(t.obs[0]) for t in done] == [0, 1, 2, 3, 4]
    assert [t.reward for t in done] == [1 + 0.5 * 2 + 0.25 * 3, 2 + 1.5 + 1, 3 + 2 + 1.25,
                                        4 + 2.5, 5]  # fmt: skip
    assert [t.steps for t in done] == [3, 3, 3, 2, 1]
    assert [float(t.next_obs[0]) for t in done] == [3, 4, 5, 5, 5]
    assert [t.terminated for t in done] == [False, False, True, True, True]

    truncated = [t for step in _push_episode(window, [1.0, 1.0], terminated=False) for t in step]
    assert [(t.reward, t.steps, t.terminated) for t in truncated] == [(1.5, 2, False),
                                                                      (1.0, 1, False)]  # fmt: skip


def test_one_step_window_passes_every_transition_through() -> None:
    window = NStepWindow(1, gamma=0.99)
    emitted = _push_episode(window, [0.5, -1.0, 2.0], terminated=True)
    assert [[(t.reward, t.steps, t.terminated) for t in e] for e in emitted] == [
        [(0.5, 1, False)], [(-1.0, 1, False)], [(2.0, 1, True)]
    ]  # fmt: skip


GAMMA, HORIZON = 0.9, 12  # reward 1 per step; the episode terminates after HORIZON steps


class TrueValue(nn.Module):
    """Q(s_t, a) = sum of gamma^i over the HORIZON - t steps left: exact for the chain below
    whatever the action, so every correct TD target must equal it."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))  # the learner's Adam needs a parameter

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        left = HORIZON - obs[:, 0]
        return (1 - GAMMA**left) / (1 - GAMMA) + 0 * action[:, 0]


@pytest.mark.parametrize("n", [1, 3, 5])
@pytest.mark.parametrize("truncate_at", [None, 7])
def test_td_target_of_every_n_step_transition_is_the_true_value(n: int, truncate_at) -> None:
    """Episodes of the chain, terminated at HORIZON or truncated at step 7 (bootstrapping from
    the true value of the state there), go through the window into the buffer; the target of
    every sampled transition must equal the true Q of its start."""
    window = NStepWindow(n, GAMMA)
    buffer = ReplayBuffer(100, obs_dim=1, act_dim=1, seed=0)
    length = truncate_at or HORIZON
    for _ in range(3):
        for t in range(length):
            last = t == length - 1
            for done in window.push(_obs(t), np.zeros(1), 1.0, _obs(t + 1),
                                    terminated=last and truncate_at is None,
                                    truncated=last and truncate_at is not None):  # fmt: skip
                buffer.add(*done)
    assert len(buffer) == 3 * length
    actor = Actor(1, 1, [-1.0], [1.0], hidden_sizes=(4,))
    learner = DDPGLearner(actor, TrueValue(), gamma=GAMMA)
    batch = buffer.sample(64)
    assert set(batch.steps.tolist()) == set(range(1, min(n, length) + 1))
    torch.testing.assert_close(
        learner.td_target(batch), learner.critic(batch.obs, batch.actions), rtol=0, atol=1e-5
    )


def test_buffer_saved_before_n_step_loads_as_one_step_transitions() -> None:
    buffer = ReplayBuffer(8, obs_dim=1, act_dim=1, seed=0)
    for t in range(3):
        buffer.add(_obs(t), np.zeros(1), 1.0, _obs(t + 1), False, steps=3)
    state = buffer.state_dict()
    del state["steps"]
    restored = ReplayBuffer(8, obs_dim=1, act_dim=1, seed=0)
    restored.load_state_dict(state)
    assert restored.steps[:3].tolist() == [1.0, 1.0, 1.0]


def test_train_with_n_step_stores_k_step_transitions_and_resumes(tmp_path: Path) -> None:
    """`--n-step 3` on InvertedPendulum: the saved buffer holds 3-step transitions, with
    shorter ones only at the end of an episode (terminated, or cut by the run's end)."""
    run_dir = tmp_path / "n3"
    fast = ["--hidden-sizes", "16", "--batch-size", "16", "--learning-starts", "100",
            "--eval-every", "0", "--buffer-size", "5000", "--quiet"]  # fmt: skip
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(run_dir),
                             "--total-steps", "300", "--n-step", "3", *fast])  # fmt: skip
    assert code == 0, err
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["config"]["n_step"] == 3
    buffer = state["buffer"]
    steps = buffer["steps"].numpy()
    terminated = buffer["terminated"].numpy().astype(bool)
    assert 300 - 2 <= len(steps) <= 300  # the last episode's open transitions are not stored
    assert set(steps[~terminated].tolist()) == {3.0}  # pendulum episodes end by falling
    assert set(steps[terminated].tolist()) <= {1.0, 2.0, 3.0}
    assert (steps[terminated] < 3).any()
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--resume", "--run-dir",
                             str(run_dir), "--total-steps", "400", "--quiet"])  # fmt: skip
    assert code == 0, err


def test_train_closes_time_limited_episodes_without_terminating_them(tmp_path: Path) -> None:
    """TestPoint-v0 never terminates; its time limit cuts every episode at 50 steps. Each
    episode's last N - 1 transitions are shorter and still bootstrap (terminated = 0)."""
    run_dir = tmp_path / "point"
    code, _, err = run_main(["train", "TestPoint-v0", "--run-dir", str(run_dir), "--n-step", "4",
                             "--total-steps", "200", "--learning-starts", "100",
                             "--batch-size", "16", "--hidden-sizes", "8", "--eval-every", "0",
                             "--quiet"])  # fmt: skip
    assert code == 0, err
    buffer = load_checkpoint(run_dir / "checkpoints" / "last.pt")["buffer"]
    steps = buffer["steps"].numpy()
    assert len(steps) == 200 and not buffer["terminated"].numpy().any()
    by_episode = steps.reshape(4, 50)  # stored in order, each episode flushed at its end
    assert (by_episode[:, :47] == 4).all()
    assert (by_episode[:, 47:] == [3, 2, 1]).all()
    assert (buffer["next_obs"].numpy()[47:50] == buffer["next_obs"].numpy()[49]).all()
