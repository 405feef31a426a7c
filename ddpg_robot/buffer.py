"""Replay buffer: a preallocated float32 ring of (obs, action, reward, next_obs, terminated,
steps).

It stores `terminated`, not `done`: a time-limit truncation is not a terminal state, and
the learner must keep bootstrapping through it (Pardo et al. 2018, "Time Limits in RL").
`steps` is how many env steps a transition spans (k of an n-step transition, ddpg_robot/n_step.py):
`reward` is then their discounted sum and `next_obs` the observation k steps later.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, NamedTuple

import numpy as np
import torch


class Batch(NamedTuple):
    """A minibatch of transitions as float32 tensors (B = batch size)."""

    obs: torch.Tensor  # (B, obs_dim)
    actions: torch.Tensor  # (B, act_dim), env units
    rewards: torch.Tensor  # (B,)
    next_obs: torch.Tensor  # (B, obs_dim)
    terminated: torch.Tensor  # (B,), 1.0 where the episode truly ended
    steps: torch.Tensor | None = None  # (B,), env steps spanned (k); None: every k is 1


class BufferMemoryWarning(ResourceWarning):
    """The requested capacity may not fit in the memory this machine has free."""


class ReplayBuffer:
    """Fixed-capacity FIFO of transitions; `sample` draws uniformly among written slots."""

    _FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "steps")

    def __init__(
        self,
        capacity: int,
        obs_dim: int,
        act_dim: int,
        *,
        seed: int | np.random.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        if capacity <= 0:
            raise ValueError(f"buffer capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.obs_dim = obs_dim
        self.act_dim = act_dim
        self.device = torch.device(device)
        self.rng = np.random.default_rng(seed)
        needed = self.nbytes_for(capacity, obs_dim, act_dim)
        available = available_memory_bytes()
        if available is not None and needed > available:
            warnings.warn(
                f"a replay buffer of {capacity:,} transitions needs {needed / 2**30:.1f} GiB but "
                f"only {available / 2**30:.1f} GiB is free; lower --buffer-size",
                BufferMemoryWarning,
                stacklevel=2,
            )
        # np.zeros maps zero pages lazily: memory is committed as slots are written.
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, act_dim), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.steps = np.zeros(capacity, dtype=np.float32)
        self.pos = 0  # next slot to write
        self.size = 0  # slots written so far, at most capacity

    @staticmethod
    def nbytes_for(capacity: int, obs_dim: int, act_dim: int) -> int:
        """Bytes of storage for `capacity` transitions (float32 everywhere)."""
        return 4 * capacity * (2 * obs_dim + act_dim + 3)

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        steps: int = 1,
    ) -> None:
        """Store one transition spanning `steps` env steps, overwriting the oldest once full."""
        i = self.pos
        self.obs[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_obs[i] = next_obs
        self.terminated[i] = float(terminated)
        self.steps[i] = steps
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """Uniform sample with replacement from the written slots only."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return Batch(
            *(
                torch.as_tensor(getattr(self, name)[idx], device=self.device)
                for name in self._FIELDS
            )
        )

    def state_dict(self) -> dict[str, Any]:
        """Written slots, position and RNG state; arrays as tensors so `weights_only` loads it."""
        n = self.size
        data = {name: torch.from_numpy(getattr(self, name)[:n].copy()) for name in self._FIELDS}
        return {
            **data,
            "pos": self.pos,
            "size": n,
            "capacity": self.capacity,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["capacity"] != self.capacity:
            raise ValueError(
                f"checkpoint buffer capacity {state['capacity']} != configured {self.capacity}"
            )
        n = state["size"]
        for name in self._FIELDS:
            if name == "steps" and name not in state:  # saved before n-step: all 1-step
                self.steps[:n] = 1.0
                continue
            getattr(self, name)[:n] = state[name].numpy()
        self.pos = state["pos"]
        self.size = n
        self.rng.bit_generator.state = state["rng"]


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else free physical pages; None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
