"""Load a trained actor from a run directory or a checkpoint file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_robot.checkpoint import CheckpointError, load_checkpoint
from ddpg_robot.networks import Actor, BoundedPolicy

CHECKPOINT_CHOICES = ("best", "last")


def resolve_checkpoint(source: str | Path, which: str = "best") -> Path:
    """A checkpoint file as given, or in a run dir `checkpoints/<which>.pt`.

    `which="best"` falls back to `last.pt` when the run never evaluated (no best.pt).
    """
    if which not in CHECKPOINT_CHOICES:
        raise CheckpointError(f"--checkpoint must be best or last, got {which!r}")
    path = Path(source)
    if path.is_file():
        return path
    if path.is_dir():
        folder = path / "checkpoints"
        candidates = [folder / f"{which}.pt"] + ([folder / "last.pt"] if which == "best" else [])
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise CheckpointError(
            f"{path} has no checkpoints/{which}.pt: is it a ddpg-robot run dir whose run "
            "reached its first checkpoint?"
        )
    raise CheckpointError(f"{path} does not exist: give a run dir or a .pt checkpoint")


def load_actor(checkpoint: str | Path) -> tuple[Actor, dict[str, Any]]:
    """The actor of a checkpoint on the CPU in eval mode, and the checkpoint's state dict."""
    state = load_checkpoint(checkpoint)
    try:
        config, env = state["config"], state["env"]
        actor = Actor(
            env["obs_dim"],
            env["act_dim"],
            env["action_low"],
            env["action_high"],
            hidden_sizes=config["hidden_sizes"],
            head=state["actor_head"],
            normalize_obs=bool(config.get("normalize_obs", False)),
        )
        actor.load_state_dict(state["learner"]["actor"])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(
            f"{checkpoint} does not hold a ddpg-robot actor ({str(exc).splitlines()[0][:200]})"
        ) from None
    actor.eval()
    return actor, state


def trained_env(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The env a checkpoint's actor was trained in: its id as given to `train` (a user's
    `module:EnvId` whole) and its constructor's keyword arguments, so it can be made again."""
    config = state.get("config") or {}
    env_id = config.get("env_id") or state["env"]["env_id"]
    return env_id, dict(config.get("env_kwargs") or {})


def torch_policy(actor: Actor) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap an actor as obs (obs_dim,) -> action (act_dim,) float32, clipped to its bounds:
    the same computation as its exported ONNX graph (`BoundedPolicy`)."""
    policy = BoundedPolicy(actor)

    def act(obs: np.ndarray) -> np.ndarray:
        obs_t = torch.as_tensor(obs, dtype=torch.float32).reshape(1, -1)
        with torch.no_grad():
            return policy(obs_t)[0].numpy()

    return act
