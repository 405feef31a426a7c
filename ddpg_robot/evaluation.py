"""Deterministic evaluation: run a policy without noise for whole episodes.

During training (`evaluate_agent`: returns, saturation, the critic's bias), and of a trained
policy (`evaluate_model`, behind `ddpg-robot eval`), optionally through latency and noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from ddpg_robot.bounds import saturation_rate
from ddpg_robot.critic_bias import CriticBias, QValues, measure_critic_bias
from ddpg_robot.envs import env_info, make_env
from ddpg_robot.errors import DDPGRobotError, EnvError
from ddpg_robot.perturbation import Perturbation, PerturbedEnv
from ddpg_robot.policy_source import (
    TrainedPolicy,
    choose_env,
    load_controller,  # noqa: F401  (callers import it here)
    open_policy,
)

Policy = Callable[[np.ndarray], np.ndarray]
"""Maps one observation (obs_dim,) to one action (act_dim,) in env units."""


def evaluate_policy(policy: Policy, env: gym.Env, episodes: int) -> np.ndarray:
    """Undiscounted return of each of `episodes` episodes, as a float64 array.

    The env's own RNG drives the initial states: seed it once (make_env does) and successive
    evaluations see different, but reproducible, episodes.
    """
    return np.array([record.episode_return for record in record_episodes(policy, env, episodes)])


@dataclass
class Evaluation:
    """One evaluation of a training run: what its metrics.csv row holds."""

    returns: np.ndarray  # (episodes,) undiscounted
    saturation: float  # share of action components at a bound (bounds.saturation_rate)
    bias: CriticBias  # the critic's estimate against the realized discounted return

    def columns(self) -> dict[str, float | int | None]:
        return {
            "eval_return_mean": float(self.returns.mean()),
            "eval_return_std": float(self.returns.std()),
            "eval_saturation": self.saturation,
            **self.bias.columns(),
        }


def evaluate_agent(
    actor_output: Policy,
    q_values: QValues,
    env: gym.Env,
    *,
    episodes: int,
    gamma: float,
    low: np.ndarray,
    high: np.ndarray,
) -> Evaluation:
    """Run the actor without noise (its output clipped to [low, high]) for `episodes`
    episodes; measure the returns, how often it sits at its bounds, and the critic's bias.

    `actor_output` is mu(obs) before clipping (a linear head may leave the bounds, which is
    what the saturation counts); `q_values` the critic (ddpg_robot.critic_bias.QValues).
    """
    outputs: list[np.ndarray] = []

    def policy(obs: np.ndarray) -> np.ndarray:
        output = actor_output(obs)
        outputs.append(output)
        return np.clip(output, low, high)

    records = record_episodes(policy, env, episodes)
    return Evaluation(
        returns=np.array([record.episode_return for record in records]),
        saturation=saturation_rate(np.stack(outputs), low, high),
        bias=measure_critic_bias(records, gamma, q_values),
    )


@dataclass
class EpisodeRecord:
    """One deterministic episode, step by step: what measuring the critic's bias needs."""

    observations: np.ndarray  # (T, obs_dim): s_0 .. s_{T-1}, the states acted in
    actions: np.ndarray  # (T, act_dim): the actions executed, as the policy returned them
    rewards: np.ndarray  # (T,) float64: r_t, received for the action taken in s_t
    terminated: bool  # True: the env ended it; False: a truncation (time limit) cut it
    episode_return: float  # undiscounted, summed step by step exactly as evaluate_policy does


def record_episodes(policy: Policy, env: gym.Env, episodes: int) -> list[EpisodeRecord]:
    """`evaluate_policy` that also keeps every step: same env calls, same returns.

    Costs one small copy per step (observation, action, reward) on top of the rollout.
    """
    records = []
    for _ in range(episodes):
        obs, _ = env.reset()
        observations, actions, rewards = [], [], []
        total, terminated, truncated = 0.0, False, False
        while not (terminated or truncated):
            if not np.isfinite(obs).all():
                name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
                raise EnvError(
                    f"{name} returned a non-finite observation at step {len(rewards)} of an "
                    "evaluation episode; the env is at fault, not the policy"
                )
            action = policy(obs)
            observations.append(np.array(obs))  # a copy: an env may reuse its obs buffer
            actions.append(np.array(action))
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(float(reward))
            total += float(reward)
        records.append(
            EpisodeRecord(
                observations=np.stack(observations),
                actions=np.stack(actions),
                rewards=np.array(rewards, dtype=np.float64),
                terminated=bool(terminated),
                episode_return=total,
            )
        )
    return records


class EvaluationError(DDPGRobotError):
    """The policy cannot be evaluated on this env, or the video cannot be written."""


@dataclass
class EvalResult:
    returns: np.ndarray  # (episodes,)
    kind: str  # "onnx" (through ddpg_robot.runtime) or "torch" (a checkpoint)
    env_id: str  # the env it ran in, as made (a user's module:EnvId whole)
    lengths: np.ndarray  # (episodes,) env steps of each episode
    terminated: np.ndarray  # (episodes,) bool: the env ended it (a fall), not its time limit

    def describe_episodes(self) -> str:
        """How long the episodes lasted and how many the env ended, e.g. a robot's falls."""
        low, high = int(self.lengths.min()), int(self.lengths.max())
        lasted = (
            f"every episode lasted {low} steps"
            if low == high
            else f"episodes lasted {self.lengths.mean():.0f} steps on average ({low}-{high})"
        )
        ended = int(self.terminated.sum())
        return f"{lasted}; {ended} of {len(self.lengths)} ended by the env (terminated)"


def evaluate_model(
    model: str | Path,
    env_id: str | None = None,
    *,
    env_kwargs: dict[str, Any] | None = None,
    episodes: int = 10,
    seed: int = 0,
    video: str | Path | None = None,
    perturbation: Perturbation | None = None,
) -> EvalResult:
    """Evaluate an `.onnx` policy (via the runtime) or a run dir / checkpoint (via torch).

    `env_id` defaults to the env the policy was trained in, and `env_kwargs` to the keyword
    arguments it was made with there (ddpg_robot.policy_source.choose_env). The env is seeded
    with `seed`, so the same seed gives the same episodes for an ONNX file and for the
    checkpoint it was exported from. With `video`, episode 1 is also rendered offscreen and
    written as an MP4. `perturbation` puts latency and noise between policy and env
    (ddpg_robot.perturbation), drawn from `seed` too.
    """
    if episodes <= 0:
        raise EvaluationError(f"--episodes must be a positive integer, got {episodes}")
    if video is not None and not Path(video).parent.is_dir():
        raise EvaluationError(f"video folder {Path(video).parent} does not exist")
    policy = open_policy(model)
    env_id, env_kwargs = choose_env(policy, env_id, env_kwargs, model)
    render = {} if video is None else {"render_mode": "rgb_array"}
    env = make_env(env_id, seed=seed, **env_kwargs, **render)
    try:
        check_interface(env, env_id, policy)
        if perturbation is not None:
            env = PerturbedEnv(env, perturbation, seed)
        filmed = [] if video is None else [_record_episode(policy.act, env, Path(video))]
        rest = [
            (record.episode_return, len(record.rewards), record.terminated)
            for record in record_episodes(policy.act, env, episodes - len(filmed))
        ]
        returns, lengths, terminated = (np.array(column) for column in zip(*filmed, *rest))
        return EvalResult(returns.astype(np.float64), policy.kind, env_id, lengths, terminated)
    finally:
        env.close()


def check_interface(env: gym.Env, env_id: str, policy: TrainedPolicy) -> None:
    """Raise `EvaluationError` unless `env` has the policy's sizes and action bounds, and,
    where both name them, its actions and observations in the policy's order."""
    info = env_info(env)
    low, high = policy.action_low, policy.action_high
    same_bounds = np.allclose(info.action_low, low) and np.allclose(info.action_high, high)
    if (info.obs_dim, info.act_dim) != (policy.obs_dim, policy.act_dim) or not same_bounds:
        raise EvaluationError(
            f"the policy was trained on {policy.trained_on} (obs_dim {policy.obs_dim}, act_dim "
            f"{policy.act_dim}, actions in [{_fmt(low)}, {_fmt(high)}]) but {env_id} has obs_dim "
            f"{info.obs_dim}, act_dim {info.act_dim}, actions in [{_fmt(info.action_low)}, "
            f"{_fmt(info.action_high)}]"
        )
    for kind, theirs, ours in (
        ("action", policy.action_names, info.action_names),
        ("observation", policy.observation_names, info.observation_names),
    ):
        if theirs is None or ours is None or list(theirs) == list(ours):
            continue
        i = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), 0)
        raise EvaluationError(
            f"{kind} {i} is {theirs[i]!r} for the policy (trained on {policy.trained_on}) but "
            f"{ours[i]!r} in {env_id}: the env's {kind}s were reordered or renamed since "
            "training, and the policy would drive them wrongly"
        )


def _record_episode(policy: Policy, env: gym.Env, path: Path) -> tuple[float, int, bool]:
    """Run one episode through `record_episodes`, rendering each frame into an MP4 at
    `path`; (return, length, terminated)."""
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise EvaluationError(
            "writing videos needs imageio: pip install imageio imageio-ffmpeg"
        ) from None
    frames: list[np.ndarray] = []

    def filmed(obs: np.ndarray) -> np.ndarray:
        frames.append(_render(env))  # the state the action is chosen in
        return policy(obs)

    (record,) = record_episodes(filmed, env, 1)
    frames.append(_render(env))  # and the state the episode ended in
    dt = getattr(env.unwrapped, "dt", None) or 0.05
    try:
        imageio.mimwrite(path, frames, fps=max(1, round(1 / dt)), macro_block_size=1)
    except (OSError, ValueError, RuntimeError) as exc:
        raise EvaluationError(f"cannot write video {path}: {str(exc)[:200]}") from None
    return record.episode_return, len(record.rewards), record.terminated


def _render(env: gym.Env) -> np.ndarray:
    try:
        return env.render()
    except Exception as exc:  # GL backends fail with many exception types
        raise EvaluationError(
            f"cannot render offscreen ({type(exc).__name__}: {str(exc)[:120]}); set MUJOCO_GL=egl "
            "(needs libEGL, e.g. Debian's libegl1) or install libosmesa6 and set MUJOCO_GL=osmesa"
        ) from None


def _fmt(values: np.ndarray) -> str:
    return ", ".join(f"{v:g}" for v in np.asarray(values).ravel())
