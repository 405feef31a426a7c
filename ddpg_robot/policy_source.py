"""A trained policy as `eval` and `run` open it, and the env it was trained in.

An `.onnx` file runs through `ddpg_robot.runtime.Controller` (onnxruntime and numpy only); a
run dir or checkpoint through torch. Either one records the env it was trained in: its id as
given to `train` (a user's `module:EnvId` whole) and the keyword arguments it was made with
(`env_kwargs`). So `--env` may be left out, and the env is made again as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ddpg_robot.errors import DDPGRobotError


class PolicySourceError(DDPGRobotError):
    """The policy cannot be opened, or does not say which env to run it in."""


@dataclass
class TrainedPolicy:
    """What running a policy needs: obs (obs_dim,) -> action (act_dim,) in env units, and
    the interface and env it was trained with (None where the file does not say)."""

    act: Callable[[np.ndarray], np.ndarray]
    kind: str  # "onnx" (through ddpg_robot.runtime) or "torch" (a checkpoint)
    obs_dim: int
    act_dim: int
    action_low: np.ndarray
    action_high: np.ndarray
    env_id: str | None
    env_kwargs: dict[str, Any]
    action_names: list[str] | None = None
    observation_names: list[str] | None = None

    @property
    def trained_on(self) -> str:
        return self.env_id or "an unnamed env"


def open_policy(model: str | Path) -> TrainedPolicy:
    """An `.onnx` file, a run dir (its best checkpoint) or a `.pt` checkpoint."""
    model = Path(model)
    if model.suffix == ".onnx":
        return controller_policy(load_controller(model))
    from ddpg_robot.policy import load_actor, resolve_checkpoint, torch_policy, trained_env

    actor, state = load_actor(resolve_checkpoint(model, "best"))
    env_id, env_kwargs = trained_env(state)
    return TrainedPolicy(
        torch_policy(actor), "torch", actor.obs_dim, actor.act_dim, actor.action_low.numpy(),
        actor.action_high.numpy(), env_id, env_kwargs, state["env"].get("action_names"),
        state["env"].get("observation_names"),
    )  # fmt: skip


def controller_policy(controller: Any) -> TrainedPolicy:
    """A `runtime.Controller` as a `TrainedPolicy` (env from its informational metadata)."""
    meta = controller.metadata
    env_kwargs = meta.get("env_kwargs")
    return TrainedPolicy(
        controller.act, "onnx", controller.obs_dim, controller.act_dim, controller.action_low,
        controller.action_high, meta.get("env_id") or None,
        env_kwargs if isinstance(env_kwargs, dict) else {}, controller.action_names,
        controller.observation_names,
    )  # fmt: skip


def load_controller(path: str | Path, **kwargs: Any) -> Any:
    """`runtime.Controller` for `path`, with its errors as one-line `PolicySourceError`s."""
    from ddpg_robot.runtime import Controller

    path = Path(path)
    if not path.is_file():
        raise PolicySourceError(f"no policy file at {path}")
    try:
        return Controller(path, **kwargs)
    except ValueError as exc:
        raise PolicySourceError(str(exc)) from None


def choose_env(
    policy: TrainedPolicy,
    env_id: str | None,
    env_kwargs: dict[str, Any] | None,
    source: str | Path,
) -> tuple[str, dict[str, Any]]:
    """The env to run `policy` in: `env_id` or the one it was trained in, with `env_kwargs`,
    or the training's keyword arguments when it runs in the env it was trained in."""
    if env_id is None:
        if policy.env_id is None:
            raise PolicySourceError(
                f"{source} does not say which env it was trained in (no env_id); pass --env ENV_ID"
            )
        env_id = policy.env_id
    if env_kwargs is None:
        env_kwargs = policy.env_kwargs if env_id == policy.env_id else {}
    return env_id, dict(env_kwargs)
