"""Shared fixtures: small float64 networks for exact gradient checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ddpg_robot.buffer import Batch
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.networks import Actor, Critic

OBS_DIM, ACT_DIM = 5, 3
# Asymmetric on purpose: bugs that assume [-1, 1] or symmetric bounds show up.
LOW = np.array([-2.0, -0.5, 0.0], dtype=np.float32)
HIGH = np.array([1.0, 0.5, 3.0], dtype=np.float32)


def make_nets(dtype: torch.dtype = torch.float64, seed: int = 0) -> tuple[Actor, Critic]:
    torch.manual_seed(seed)
    actor = Actor(OBS_DIM, ACT_DIM, LOW, HIGH, hidden_sizes=(32, 32)).to(dtype)
    critic = Critic(OBS_DIM, ACT_DIM, hidden_sizes=(32, 32)).to(dtype)
    return actor, critic


def random_batch(batch_size: int = 64, dtype: torch.dtype = torch.float64, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    low, high = torch.as_tensor(LOW, dtype=dtype), torch.as_tensor(HIGH, dtype=dtype)
    actions = low + (high - low) * torch.rand(batch_size, ACT_DIM, generator=g, dtype=dtype)
    return Batch(
        obs=torch.randn(batch_size, OBS_DIM, generator=g, dtype=dtype),
        actions=actions,
        rewards=torch.randn(batch_size, generator=g, dtype=dtype),
        next_obs=torch.randn(batch_size, OBS_DIM, generator=g, dtype=dtype),
        terminated=(torch.rand(batch_size, generator=g) < 0.2).to(dtype),
    )


@pytest.fixture
def learner() -> DDPGLearner:
    actor, critic = make_nets()
    return DDPGLearner(actor, critic, lr_actor=1e-3, lr_critic=1e-3, gamma=0.99, tau=0.005)


@pytest.fixture
def batch() -> Batch:
    return random_batch()
