"""The DDPG agent a config describes: actor and critic sized for the env, wired into a learner.

A linear actor head (`--action-bound invert-gradients`) gets inverting gradients as the
learner's dQ/da transform and TD targets clipped to the bounds (docs/action-bounds.md).
"""

from __future__ import annotations

from functools import partial

import torch

from ddpg_robot.bounds import invert_gradients
from ddpg_robot.buffer import ReplayBuffer, available_memory_bytes
from ddpg_robot.config import TrainConfig
from ddpg_robot.envs import EnvInfo
from ddpg_robot.errors import ConfigError
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.networks import Actor, Critic, TwinCritic


def resolve_device(name: str) -> torch.device:
    """`auto` -> CUDA when available, else CPU; `cuda` without CUDA is a `ConfigError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was requested but CUDA is not available "
            "(no GPU, or a CPU-only torch build); use --device cpu or auto"
        )
    return torch.device(name)


def check_memory(config: TrainConfig, info: EnvInfo) -> None:
    """Refuse, before allocating, a buffer and networks that cannot fit in free memory.

    The buffer's pages are committed as it fills, so an oversized one would end the run
    hours later; the networks count five copies of every weight (online, target, gradient
    and Adam's two moments), float32.
    """
    available = available_memory_bytes()
    if available is None:
        return
    buffer = ReplayBuffer.nbytes_for(config.buffer_size, info.obs_dim, info.act_dim)
    widths = [info.obs_dim, *config.hidden_sizes]
    actor = sum((a + 1) * b for a, b in zip(widths, [*config.hidden_sizes, info.act_dim]))
    critic_widths = [info.obs_dim + info.act_dim, *config.hidden_sizes]
    critic = sum((a + 1) * b for a, b in zip(critic_widths, [*config.hidden_sizes, 1]))
    critics = 2 if config.twin_critics else 1
    networks = 5 * 4 * (actor + critics * critic)
    if buffer + networks > available:
        raise ConfigError(
            f"this run needs {(buffer + networks) / 2**30:.1f} GiB ({buffer / 2**30:.1f} GiB "
            f"for {config.buffer_size:,} transitions, {networks / 2**30:.1f} GiB for the "
            f"networks) but {available / 2**30:.1f} GiB is free; lower --buffer-size or "
            "--hidden-sizes"
        )


def build_learner(
    config: TrainConfig, info: EnvInfo, device: torch.device, *, compile: bool
) -> DDPGLearner:
    """A fresh actor and critic for `info`'s spaces, and the learner that trains them."""
    actor = Actor(
        info.obs_dim,
        info.act_dim,
        info.action_low,
        info.action_high,
        hidden_sizes=config.hidden_sizes,
        head="linear" if config.action_bound == "invert-gradients" else "tanh",
        normalize_obs=config.normalize_obs,
    ).to(device)

    def make_critic() -> Critic:
        return Critic(
            info.obs_dim,
            info.act_dim,
            hidden_sizes=config.hidden_sizes,
            obs_normalizer=actor.obs_normalizer,  # one set of statistics for all networks
            layer_norm=config.critic_layer_norm,
        ).to(device)

    critic = TwinCritic(make_critic(), make_critic()) if config.twin_critics else make_critic()
    bounds = (actor.action_low, actor.action_high)
    grad_transform = None
    if actor.head == "linear":  # inverting gradients, docs/action-bounds.md
        grad_transform = partial(invert_gradients, low=bounds[0], high=bounds[1])
    # mu'(s') needs clipping where it may leave the bounds: a linear head, or target noise.
    needs_clip = actor.head == "linear" or config.target_noise > 0
    return DDPGLearner(
        actor,
        critic,
        lr_actor=config.lr_actor,
        lr_critic=config.lr_critic,
        gamma=config.gamma,
        tau=config.tau,
        action_grad_transform=grad_transform,
        target_action_bounds=bounds if needs_clip else None,
        target_noise=config.target_noise,
        target_noise_clip=config.target_noise_clip,
        policy_delay=config.policy_delay,
        compile=compile,
    )
