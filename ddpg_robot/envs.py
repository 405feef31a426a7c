"""Make and seed Gymnasium environments, and reject the ones DDPG cannot drive.

DDPG outputs a real vector inside a box, so an env qualifies when its action space is a
bounded `Box` and its observation space a flat `Box`. Anything else gets one `EnvError` line.

A user's env is named `module:EnvId` (gymnasium's syntax): the module is imported first, and
registers `EnvId` as it loads. The `ddpg-robot` console script does not have the current
folder on `sys.path` (Python adds it only for `python -m` and scripts), so a module that is
not found is looked for once more in the current folder; where it is in neither, one line
says so and what to do (docs/own-robot.md).
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
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

    `env_id` is the id as given to `make_env` (a user's `module:EnvId` whole, so the env can
    be made again from it); `action_low`/`action_high` are in the env's own units;
    `control_dt` is the time in seconds between two actions (MuJoCo's `dt` = frame_skip *
    timestep), or None if unknown; the names, one per entry, are None where the env cannot
    tell them (ddpg_robot.env_names).
    """

    env_id: str
    obs_dim: int
    act_dim: int
    action_low: np.ndarray
    action_high: np.ndarray
    control_dt: float | None
    action_names: tuple[str, ...] | None = None
    observation_names: tuple[str, ...] | None = None

    def to_dict(self) -> dict:
        """Plain values (bounds and names as lists), as a checkpoint stores them."""
        return {
            "env_id": self.env_id,
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "action_low": self.action_low.tolist(),
            "action_high": self.action_high.tolist(),
            "control_dt": self.control_dt,
            "action_names": _listed(self.action_names),
            "observation_names": _listed(self.observation_names),
        }


def make_env(env_id: str, seed: int | None = None, **kwargs) -> gym.Env:
    """Create `env_id`, check its spaces and seed it.

    With a seed, the env's RNG is seeded by a first `reset(seed=seed)` and the action space
    by `action_space.seed(seed)`, so later plain `reset()` calls continue a seeded stream.
    Raises `EnvError` for an unknown id (with close names) or spaces DDPG cannot handle.
    """
    if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2**32):
        raise EnvError(f"--seed must be an integer in [0, 2**32), got {seed}")
    import_env_module(env_id)
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


def import_env_module(env_id: str) -> None:
    """Import the module of a `module:EnvId` id (so it registers EnvId), trying the current
    folder when it is not on `sys.path`; one `EnvError` line when it cannot be imported.

    The current folder is appended, not prepended: an installed package of the same name
    still wins, and the folder stays on the path so the module's own imports of its
    neighbours (and gymnasium's import of an entry point `module:Class`) work too.
    """
    if ":" not in env_id:
        return
    module = env_id.split(":", 1)[0]
    top = module.split(".", 1)[0]
    try:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != top or os.getcwd() in sys.path:
                raise
            sys.path.append(os.getcwd())
            importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == top:
            raise EnvError(
                f"cannot import module {module!r} for env {env_id!r}: it is neither in the "
                f"current folder ({os.getcwd()}) nor on PYTHONPATH; run from the folder that "
                f"holds {top}.py, or set PYTHONPATH=/path/to/that/folder"
            ) from None
        raise EnvError(
            f"importing module {module!r} for env {env_id!r} failed: a module it needs is "
            f"missing ({exc})"
        ) from None
    except Exception as exc:  # the user's module raised while loading
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise EnvError(
            f"importing module {module!r} for env {env_id!r} failed: {type(exc).__name__}: {first}"
        ) from None


def env_info(env: gym.Env, env_id: str | None = None) -> EnvInfo:
    """Read the interface facts of an env made by `make_env`; `env_id` is the id it was made
    with (default: the registered id, which lacks a user's `module:` part)."""
    from ddpg_robot.env_names import action_names, observation_names

    spec = env.spec
    dt = getattr(env.unwrapped, "dt", None)
    if env_id is None:
        env_id = spec.id if spec is not None else type(env.unwrapped).__name__
    return EnvInfo(
        env_id=env_id,
        obs_dim=int(env.observation_space.shape[0]),
        act_dim=int(env.action_space.shape[0]),
        action_low=np.asarray(env.action_space.low, dtype=np.float32).copy(),
        action_high=np.asarray(env.action_space.high, dtype=np.float32).copy(),
        control_dt=float(dt) if dt is not None else None,
        action_names=action_names(env),
        observation_names=observation_names(env),
    )


def _listed(names: tuple[str, ...] | None) -> list[str] | None:
    return list(names) if names is not None else None


def _unknown_env_message(env_id: str, exc: Exception) -> str:
    module, _, name = env_id.rpartition(":")
    close = difflib.get_close_matches(name, list(gym.registry.keys()), n=3, cutoff=0.6)
    close = [f"{module}:{c}" if module else c for c in close]
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    if module and not close:
        hint = (
            f" Importing {module} did not register {name}: call gymnasium.register({name!r}, "
            "entry_point=...) at the top level of the module"
        )
    reason = str(exc).split("\n", 1)[0].rstrip(".")
    return f"cannot make env {env_id!r}: {reason}.{hint}"
