"""TD3's three options (Fujimoto et al. 2018) on top of the DDPG update, each checked with
real numbers: the twin target's minimum, the clipped and scaled target noise, the delayed
actor, the compiled update, and a run that trains, saves and resumes with all three."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ddpg_robot.buffer import Batch
from ddpg_robot.checkpoint import load_checkpoint
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.networks import Actor, Critic, TwinCritic
from tests.conftest import ACT_DIM, HIGH, LOW, OBS_DIM, make_nets, random_batch
from tests.helpers import run_main


def _twin_learner(**kwargs) -> DDPGLearner:
    actor, first = make_nets(seed=0)
    second = Critic(OBS_DIM, ACT_DIM, hidden_sizes=(32, 32)).to(torch.float64)  # new weights
    return DDPGLearner(actor, TwinCritic(first, second), **kwargs)


def _params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _moved(before: list[torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(b, p) for b, p in zip(before, module.parameters()))


def test_twin_target_takes_the_smaller_target_critic() -> None:
    learner = _twin_learner(gamma=0.9)
    batch = random_batch(batch_size=256)
    with torch.no_grad():
        next_actions = learner.actor_target(batch.next_obs)
        q1 = learner.critic_target.q1(batch.next_obs, next_actions)
        q2 = learner.critic_target.q2(batch.next_obs, next_actions)
    smaller = torch.minimum(q1, q2)
    assert (q1 < q2).any() and (q2 < q1).any()  # each critic is the smaller one somewhere
    expected = batch.rewards + 0.9 * (1 - batch.terminated) * smaller
    torch.testing.assert_close(learner.td_target(batch), expected, rtol=0, atol=1e-12)


def test_both_critics_fit_the_target_and_the_actor_climbs_the_first() -> None:
    learner = _twin_learner(lr_critic=1e-3)
    batch = random_batch()
    y = learner.td_target(batch)
    with torch.no_grad():
        q1, q2 = learner.critic.both(batch.obs, batch.actions)
    expected_loss = float(((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean())
    first, second = _params(learner.critic.q1), _params(learner.critic.q2)
    metrics = learner.critic_step(batch)
    assert float(metrics["critic_loss"]) == pytest.approx(expected_loss, rel=1e-12)
    assert _moved(first, learner.critic.q1) and _moved(second, learner.critic.q2)
    # Called like a Critic, the pair is its first critic: what the actor climbs and the
    # critic's bias measures.
    obs = batch.obs
    with torch.no_grad():
        torch.testing.assert_close(
            learner.critic(obs, learner.actor(obs)), learner.critic.q1(obs, learner.actor(obs))
        )


class ActionReadout(nn.Module):
    """Q(s, a) = a[:, dim]: the TD target then shows the target action it was given."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.unused = nn.Parameter(torch.zeros(1, dtype=torch.float64))  # Adam needs one

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return action[:, self.dim]


def _target_actions(*, noise: float, clip: float, at_upper_bound: bool = False) -> np.ndarray:
    """The target actions mu'(s') + noise the TD target used, one column per action dim,
    for a constant actor at the bounds' midpoint (or at the upper bound), 20,000 samples."""
    batch = random_batch(batch_size=20_000)
    batch = Batch(batch.obs, batch.actions, torch.zeros_like(batch.rewards), batch.next_obs,
                  torch.zeros_like(batch.terminated))  # fmt: skip
    columns = []
    for dim in range(ACT_DIM):
        actor = Actor(OBS_DIM, ACT_DIM, LOW, HIGH, hidden_sizes=(8,)).to(torch.float64)
        with torch.no_grad():
            actor.net[-1].weight.zero_()
            actor.net[-1].bias.fill_(30.0 if at_upper_bound else 0.0)  # tanh: 1 or 0
        bounds = (actor.action_low, actor.action_high)
        learner = DDPGLearner(actor, ActionReadout(dim), gamma=0.5, target_action_bounds=bounds,
                              target_noise=noise, target_noise_clip=clip)  # fmt: skip
        torch.manual_seed(dim)
        columns.append((learner.td_target(batch) / 0.5).numpy())
    return np.stack(columns, axis=1)  # (20000, ACT_DIM)


def test_target_noise_is_scaled_to_each_action_range() -> None:
    """std 0.2 in [-1, 1] units is 0.2 * (high - low) / 2 in env units, per dim: LOW/HIGH
    are asymmetric, with half-ranges 1.5, 0.5 and 1.5."""
    mid, half = (HIGH + LOW) / 2, (HIGH - LOW) / 2
    exact = _target_actions(noise=0.0, clip=0.5)
    np.testing.assert_allclose(exact, np.broadcast_to(mid, exact.shape), atol=1e-12)
    noisy = _target_actions(noise=0.2, clip=10.0)  # clip far away: plain Gaussian
    np.testing.assert_allclose(noisy.std(axis=0), 0.2 * half, rtol=0.03)
    np.testing.assert_allclose(noisy.mean(axis=0), mid, atol=4 * 0.2 * half.max() / 141)


def test_target_noise_is_clipped_then_kept_in_bounds() -> None:
    mid, half = (HIGH + LOW) / 2, (HIGH - LOW) / 2
    clipped = _target_actions(noise=0.2, clip=0.1)
    deviation = np.abs(clipped - mid).max(axis=0)
    np.testing.assert_allclose(deviation, 0.1 * half, rtol=1e-6)  # reached, never passed
    at_bound = _target_actions(noise=0.2, clip=0.5, at_upper_bound=True)
    assert (at_bound <= HIGH + 1e-12).all()
    assert 0.4 < (at_bound == HIGH).mean() < 0.6  # the half pushed outward is clipped back
    assert (at_bound < HIGH - 0.05 * half).mean() > 0.3  # the other half is smoothed inward


def test_target_noise_without_bounds_is_refused() -> None:
    actor, critic = make_nets()
    with pytest.raises(ValueError, match="target_action_bounds"):
        DDPGLearner(actor, critic, target_noise=0.2)


def test_policy_delay_moves_actor_and_targets_on_every_second_update() -> None:
    learner = _twin_learner(policy_delay=2, lr_actor=1e-3)
    watched = ("actor", "actor_target", "critic", "critic_target")
    for update in (1, 2, 3, 4):
        before = {name: _params(getattr(learner, name)) for name in watched}
        metrics = learner.update(random_batch(seed=update))
        assert set(metrics) == {"critic_loss", "q_mean", "actor_loss"}
        moved = {name: _moved(before[name], getattr(learner, name)) for name in watched}
        actor_turn = update % 2 == 0
        assert moved == {"actor": actor_turn, "actor_target": actor_turn, "critic": True,
                         "critic_target": actor_turn}, update  # fmt: skip
    assert learner.num_updates == 4


def test_compiled_td3_update_computes_what_the_eager_one_does() -> None:
    """Twin critics and a delay of 2 through torch.compile: two graphs (actor step or not),
    the same weights as eager after 5 updates (tolerance: tests/test_learner.py)."""
    eager = _twin_learner(policy_delay=2, lr_actor=1e-3)
    compiled = DDPGLearner(copy.deepcopy(eager.actor), copy.deepcopy(eager.critic),
                           policy_delay=2, lr_actor=1e-3, compile=True)  # fmt: skip
    for seed in range(5):
        batch = random_batch(seed=seed)
        expected, got = eager.update(batch), compiled.update(batch)
        for name in expected:
            assert got[name] == pytest.approx(expected[name], rel=1e-5, abs=1e-9)
    assert compiled.compiled
    for net in ("actor", "critic", "actor_target", "critic_target"):
        for e, c in zip(getattr(eager, net).parameters(), getattr(compiled, net).parameters()):
            torch.testing.assert_close(c, e, rtol=0, atol=1e-6)


def test_train_with_the_td3_options_saves_both_critics_and_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "td3"
    fast = ["--hidden-sizes", "16", "--batch-size", "16", "--learning-starts", "100",
            "--eval-every", "300", "--buffer-size", "5000", "--quiet"]  # fmt: skip
    options = ["--twin-critics", "--target-noise", "0.2", "--policy-delay", "2"]
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(run_dir),
                             "--total-steps", "300", *options, *fast])  # fmt: skip
    assert code == 0, err
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    config = state["config"]
    assert (config["twin_critics"], config["target_noise"], config["policy_delay"]) == (
        True, 0.2, 2)  # fmt: skip
    critic = state["learner"]["critic"]
    first, second = critic["q1.net.0.weight"], critic["q2.net.0.weight"]
    assert not torch.equal(first, second)
    assert state["learner"]["num_updates"] == 200
    # 200 updates, every second one moves the actor: Adam counted 100 actor steps.
    actor_steps = state["learner"]["actor_optimizer"]["state"][0]["step"]
    critic_steps = state["learner"]["critic_optimizer"]["state"][0]["step"]
    assert (float(actor_steps), float(critic_steps)) == (100.0, 200.0)
    header = (run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "q_bias" in header
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--resume", "--run-dir",
                             str(run_dir), "--total-steps", "400", "--quiet"])  # fmt: skip
    assert code == 0, err
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["config"]["twin_critics"]
