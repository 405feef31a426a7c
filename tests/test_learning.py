"""Learning check: the learner plus a minimal CleanRL-style loop solves InvertedPendulum-v4.

This loop is deliberately bare (no trainer, no logging) so that a failure here points at the
learner, the networks, the noise or the buffer, not at the training command.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ddpg_robot.bounds import explore
from ddpg_robot.buffer import ReplayBuffer
from ddpg_robot.config import resolve_config
from ddpg_robot.envs import env_info, make_env
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.networks import Actor, Critic
from ddpg_robot.noise import make_noise


def evaluate(actor: Actor, env_id: str, episodes: int, seed: int) -> float:
    """Mean return of the deterministic policy (no noise) on a fresh env."""
    env = make_env(env_id, seed=seed)
    returns = []
    for _ in range(episodes):
        obs, _ = env.reset()
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                action = actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def train_minimal(env_id: str, *, max_steps: int, seed: int, target: float) -> tuple[int, float]:
    """Train a tanh actor with the env's preset rates, warm-up and noise; stop at the first
    evaluation >= target.

    Returns (env steps taken, last evaluation's mean return).
    """
    config = resolve_config(env_id, {"seed": seed})
    torch.manual_seed(seed)
    env = make_env(env_id, seed=seed)
    info = env_info(env)
    actor = Actor(
        info.obs_dim,
        info.act_dim,
        info.action_low,
        info.action_high,
        hidden_sizes=config.hidden_sizes,
    )
    critic = Critic(info.obs_dim, info.act_dim, hidden_sizes=config.hidden_sizes)
    learner = DDPGLearner(
        actor,
        critic,
        lr_actor=config.lr_actor,
        lr_critic=config.lr_critic,
        gamma=config.gamma,
        tau=config.tau,
    )
    buffer = ReplayBuffer(config.buffer_size, info.obs_dim, info.act_dim, seed=seed)
    noise = make_noise(config.noise, info.act_dim, sigma=config.noise_sigma, seed=seed)

    obs, _ = env.reset()
    score = float("-inf")
    for step in range(1, max_steps + 1):
        if step <= config.learning_starts:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                greedy = actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
            action = explore(greedy, noise(), info.action_low, info.action_high)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.add(obs, action, reward, next_obs, terminated)  # truncation still bootstraps
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
            noise.reset()
        if step > config.learning_starts:
            learner.update(buffer.sample(config.batch_size))
        if step % config.eval_every == 0 and step > config.learning_starts:
            score = evaluate(actor, env_id, episodes=10, seed=seed + 10_000)
            if score >= target:
                return step, score
    return max_steps, score


@pytest.mark.slow
def test_learns_inverted_pendulum_within_20k_steps() -> None:
    steps, score = train_minimal("InvertedPendulum-v4", max_steps=20_000, seed=1, target=900.0)
    print(f"InvertedPendulum-v4: eval return {score:.1f} after {steps} steps")
    assert score >= 900.0, f"mean deterministic return {score:.1f} < 900 after {steps} steps"


@pytest.mark.slow
def test_train_command_solves_inverted_pendulum_with_its_defaults(tmp_path) -> None:
    """`ddpg-robot train InvertedPendulum-v4`, its preset only (inverting gradients): best
    evaluation >= 900."""
    from ddpg_robot.checkpoint import load_checkpoint
    from tests.helpers import run_main

    code, out, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(tmp_path / "ip")])
    assert code == 0, err
    best = load_checkpoint(tmp_path / "ip" / "checkpoints" / "best.pt")
    print(out.strip().splitlines()[-2])
    assert best["step"] <= 20_000
    assert best["actor_head"] == "linear"
    assert best["best_eval"] >= 900.0, out


@pytest.mark.slow
def test_tanh_actor_solves_inverted_pendulum_on_seed_0(tmp_path) -> None:
    """The tanh head learns too on seed 0 (best eval >= 900); on 2 of 6 seeds it saturates
    at a bound instead (docs/results.md), which is why the preset inverts gradients."""
    from ddpg_robot.checkpoint import load_checkpoint
    from tests.helpers import run_main

    run_dir = tmp_path / "tanh"
    args = ["--action-bound", "tanh", "--run-dir", str(run_dir), "--quiet"]
    code, out, err = run_main(["train", "InvertedPendulum-v4", *args])
    assert code == 0, err
    best = load_checkpoint(run_dir / "checkpoints" / "best.pt")
    assert best["actor_head"] == "tanh"
    assert best["best_eval"] >= 900.0, best["best_eval"]
