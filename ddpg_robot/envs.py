"""Make and seed Gymnasium environments, and reject the ones DDPG cannot drive.

DDPG outputs a real vector inside a box, so an env qualifies when its action space is a
bounded `Box` and its observation space a flat `Box`. Anything else gets one `EnvError` line.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ddpg_robot.errors import EnvError

# Filtered after importing gymnasium so our filter sits in front of gymnasium's own:
# every *-v4 MuJoCo env warns that v5 exists; users ask for v4 on purpose.
warnings.filterwarnings(
    "ignore",
    message=r".*is out of date\. You should consider upgrading to version",
    category=DeprecationWarning,
)


@dataclass(frozen=True)
class EnvInfo:
    """What the rest of the package needs to know about an env's interface.

    `action_low`/`action_high` are in the env's own units; `control_dt` is the time in
    seconds between two actions (MuJoCo's `dt` = frame_skip * timestep), or None if unknown.
    """

    env_id: str
    obs_dim: int
    act_dim: int
    action_low: np.ndarray
    action_high: np.ndarray
    control_dt: float | None

    def to_dict(self) -> dict:
        """Plain values (bounds as lists), as a checkpoint stores them."""
        return {
            "env_id": self.env_id,
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "action_low": self.action_low.tolist(),
            "action_high": self.action_high.tolist(),
            "control_dt": self.control_dt,
        }


def make_env(env_id: str, seed: int | None = None, **kwargs) -> gym.Env:
    """Create `env_id`, check its spaces and seed it.

    With a seed, the env's RNG is seeded by a first `reset(seed=seed)` and the action space
    by `action_space.seed(seed)`, so later plain `reset()` calls continue a seeded stream.
    Raises `EnvError` for an unknown id (with close names) or spaces DDPG cannot handle.
    """
    if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2**32):
        raise EnvError(f"--seed must be an integer in [0, 2**32), got {seed}")
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise EnvError(_unknown_env_message(env_id, exc)) from None
    except ImportError as exc:
        raise EnvError(f"cannot create {env_id}: a dependency is missing ({exc})") from None
    except TypeError as exc:  # the env's constructor rejected an argument (render_mode, ...)
        given = ", ".join(kwargs) or "no arguments"
        raise EnvError(f"cannot create {env_id} with {given}: {exc}") from None
    try:
        check_spaces(env_id, env.observation_space, env.action_space)
    except EnvError:
        env.close()
        raise
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return env


def check_spaces(env_id: str, observation_space: gym.Space, action_space: gym.Space) -> None:
    """Raise `EnvError` unless actions are a bounded Box and observations a flat Box."""
    if not isinstance(action_space, gym.spaces.Box):
        raise EnvError(
            f"{env_id} has a {type(action_space).__name__} action space; DDPG needs continuous "
            "actions (a Box). Pick an env with continuous actions, e.g. HalfCheetah-v4."
        )
    if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
        raise EnvError(
            f"{env_id} has unbounded actions (low={action_space.low}, high={action_space.high}); "
            "DDPG's bounded actor needs finite bounds. Wrap the env with "
            "gymnasium.wrappers.ClipAction or RescaleAction to give it bounds."
        )
    if len(action_space.shape) != 1:
        raise EnvError(f"{env_id} has actions of shape {action_space.shape}; need a flat vector")
    fixed = np.flatnonzero(~(action_space.high > action_space.low))
    if len(fixed):
        i = int(fixed[0])
        raise EnvError(
            f"{env_id}'s action {i} has low {action_space.low[i]:g} and high "
            f"{action_space.high[i]:g}: there is nothing to choose along it; drop that "
            "action from the env (or give it a range) to train on it"
        )
    if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
        raise EnvError(
            f"{env_id} has observations {observation_space}; ddpg-robot needs a flat Box. "
            "Wrap it with gymnasium.wrappers.FlattenObservation."
        )


def env_info(env: gym.Env) -> EnvInfo:
    """Read the interface facts of an env made by `make_env`."""
    spec = env.spec
    dt = getattr(env.unwrapped, "dt", None)
    return EnvInfo(
        env_id=spec.id if spec is not None else type(env.unwrapped).__name__,
        obs_dim=int(env.observation_space.shape[0]),
        act_dim=int(env.action_space.shape[0]),
        action_low=np.asarray(env.action_space.low, dtype=np.float32).copy(),
        action_high=np.asarray(env.action_space.high, dtype=np.float32).copy(),
        control_dt=float(dt) if dt is not None else None,
    )


def _unknown_env_message(env_id: str, exc: Exception) -> str:
    close = difflib.get_close_matches(env_id, list(gym.registry.keys()), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    reason = str(exc).split("\n", 1)[0]
    return f"cannot make env {env_id!r}: {reason}.{hint}"
