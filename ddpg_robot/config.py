"""Every hyperparameter of a training run, its per-environment presets, and validation.

Stdlib only: the CLI, the trainer and the checkpoint all read the same dataclass, and
`config.json` in a run directory is exactly `dataclasses.asdict(TrainConfig)`.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import math
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddpg_robot.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NOISE_KINDS = ("ou", "gaussian", "none")
ACTION_BOUNDS = ("tanh", "invert-gradients")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainConfig:
    """A complete, resolved training configuration (the generic defaults)."""

    env_id: str = "HalfCheetah-v4"
    """Gymnasium id of an environment with a bounded Box action space."""
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Keyword arguments for the env's constructor, as a JSON object, e.g.
    '{"xml_file": "arm.xml"}'; kept in config.json and the checkpoints, so resume, eval and
    export rebuild the same env."""
    total_steps: int = 1_000_000
    """Environment steps to train for (one learner update per step after `learning_starts`)."""
    seed: int = 0
    """Seeds torch, the env, the exploration noise and the replay sampling."""
    noise: str = "ou"
    """Exploration noise: `ou` (time-correlated Ornstein-Uhlenbeck), `gaussian` or `none`."""
    noise_sigma: float = 0.2
    """Noise scale in [-1, 1] action units (OU sigma, or the Gaussian's std)."""
    noise_theta: float = 0.15
    """OU mean-reversion rate; with `noise_dt` it sets the correlation time 1/(theta*dt) steps."""
    noise_dt: float = 1e-2
    """OU integration step (dimensionless, as in the DDPG paper's implementation)."""
    normalize_obs: bool = False
    """Normalise observations by running mean/std (kept in the actor, baked into the export)."""
    critic_layer_norm: bool = False
    """LayerNorm after each hidden layer of the critic (before its ReLU), which keeps the
    features Q is read from normalised; the actor (and the export) is unchanged. Measured on
    Walker2d and Ant in docs/results.md."""
    action_bound: str = "tanh"
    """How the actor stays in bounds: `tanh` head, or a linear head with `invert-gradients`."""
    learning_starts: int = 10_000
    """Uniform-random steps that fill the buffer before the first update."""
    batch_size: int = 256
    """Transitions per learner update."""
    hidden_sizes: tuple[int, ...] = (256, 256)
    """Hidden layer widths of both the actor and the critic."""
    lr_actor: float = 3e-4
    """Adam learning rate of the actor."""
    lr_critic: float = 3e-4
    """Adam learning rate of the critic."""
    gamma: float = 0.99
    """Discount factor per environment step."""
    tau: float = 0.005
    """Polyak rate: target <- tau * online + (1 - tau) * target after every update."""
    n_step: int = 1
    """Env steps of real reward in each TD target (n-step returns, ddpg_robot/n_step.py): the
    target leans less on the critic's errors, at the price of off-policy bias from the
    exploring policy's rewards. 1 is DDPG's one-step target."""
    twin_critics: bool = False
    """TD3's clipped double Q (Fujimoto et al. 2018), an option beyond DDPG: a second critic,
    and the TD target takes the smaller of the two target critics' values. The actor climbs,
    and the critic's bias measures, the first critic."""
    target_noise: float = 0.0
    """TD3's target policy smoothing, an option beyond DDPG: Gaussian noise of this std, in
    [-1, 1] action units, on mu'(s') in the TD target (then clipped to the bounds), so the
    critic values a small region of actions, not one sharp peak. 0 is DDPG's target."""
    target_noise_clip: float = 0.5
    """Bound on each entry of the target noise, in [-1, 1] action units (TD3's 0.5)."""
    policy_delay: int = 1
    """Critic updates per actor update, TD3's delayed policy updates (an option beyond DDPG):
    the actor and both targets move on every `policy_delay`-th update. 1 is DDPG."""
    buffer_size: int = 1_000_000
    """Replay buffer capacity in transitions."""
    eval_every: int = 10_000
    """Evaluate the deterministic policy every this many env steps (0 = never)."""
    eval_episodes: int = 10
    """Episodes per evaluation."""
    checkpoint_every: int = 50_000
    """Write `checkpoints/last.pt` every this many env steps (0 = only at the end)."""
    save_buffer: bool = True
    """Store the replay buffer in checkpoints so a resumed run continues exactly."""
    device: str = "auto"
    """`auto` (CUDA when available), `cpu` or `cuda`."""
    compile: bool = True
    """Run the learner update through torch.compile as one fused graph, when the run has at
    least 3,000 updates to do (`MIN_UPDATES_TO_COMPILE`): compiling costs seconds, more than
    it saves on short runs (docs/benchmarks.md)."""

    def validate(self) -> TrainConfig:
        """Raise `ConfigError` naming the first invalid field; return self for chaining."""
        positive_ints = (
            "total_steps", "batch_size", "buffer_size", "eval_episodes", "n_step", "policy_delay",
        )  # fmt: skip
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{_flag(name)} must be a positive integer, got {value!r}")
        for name in ("learning_starts", "eval_every", "checkpoint_every", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{_flag(name)} must be an integer >= 0, got {value!r}")
        for name in ("lr_actor", "lr_critic", "noise_theta", "noise_dt"):
            value = getattr(self, name)
            if not _is_real(value) or not value > 0:
                raise ConfigError(f"{_flag(name)} must be a positive number, got {value!r}")
        if not _is_real(self.noise_sigma) or self.noise_sigma < 0:
            raise ConfigError(f"--noise-sigma must be >= 0, got {self.noise_sigma!r}")
        if not _is_real(self.target_noise) or self.target_noise < 0:
            raise ConfigError(f"--target-noise must be >= 0, got {self.target_noise!r}")
        if not _is_real(self.target_noise_clip) or not self.target_noise_clip > 0:
            raise ConfigError(
                f"--target-noise-clip must be a positive number, got {self.target_noise_clip!r}"
            )
        if not _is_real(self.gamma) or not 0 <= self.gamma < 1:
            raise ConfigError(f"--gamma must be in [0, 1), got {self.gamma!r}")
        if not _is_real(self.tau) or not 0 < self.tau <= 1:
            raise ConfigError(f"--tau must be in (0, 1], got {self.tau!r}")
        for name in (
            "normalize_obs",
            "critic_layer_norm",
            "twin_critics",
            "save_buffer",
            "compile",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.hidden_sizes, str):  # strings are parsed by resolve_config
            raise ConfigError(
                f"--hidden-sizes must be positive integers like 256,256, got {self.hidden_sizes!r}"
            )
        parse_hidden_sizes(self.hidden_sizes)  # raises ConfigError naming --hidden-sizes
        for name, allowed in (
            ("noise", NOISE_KINDS),
            ("action_bound", ACTION_BOUNDS),
            ("device", DEVICES),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(
                    f"{_flag(name)} must be one of {', '.join(allowed)}, got {value!r}"
                )
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ConfigError("the environment id must be a non-empty string like HalfCheetah-v4")
        parse_env_kwargs(self.env_kwargs)  # raises ConfigError naming --env-kwargs
        if self.seed >= 2**32:
            raise ConfigError(f"--seed must be below 2**32, got {self.seed}")
        return self

    def check_learns(self) -> TrainConfig:
        """Raise `ConfigError` when a run of this config could never update its networks
        (checked where users start runs: `train`, `sweep`); return self for chaining."""
        if self.batch_size > self.buffer_size:
            raise ConfigError(
                f"--batch-size {self.batch_size:,} is larger than --buffer-size "
                f"{self.buffer_size:,}: the run could never sample a batch to learn from"
            )
        if self.total_steps <= self.learning_starts:
            raise ConfigError(
                f"--total-steps {self.total_steps:,} is not above --learning-starts "
                f"{self.learning_starts:,}, so the run would never update its networks; raise "
                "--total-steps or lower --learning-starts"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        data = dataclasses.asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        return data


# Per-family overrides of the generic defaults, keyed by the id without its version suffix,
# so HalfCheetah-v4 and HalfCheetah-v5 share one entry. Only settings that a row of
# docs/results.md measured are overridden; a task without a row trains with the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    # docs/results.md, InvertedPendulum-v4: learning rates decide this task (with 3e-4 for
    # both nets it stayed near a return of 60 after 15k steps, with 1e-3 it reaches 1000),
    # and the head: a tanh actor saturated at a bound on 2 of 6 seeds (returns 3 and 40 at
    # 20k), inverting gradients reached 1000 on all 6.
    "InvertedPendulum": {
        "action_bound": "invert-gradients",
        "total_steps": 20_000,
        "learning_starts": 1_000,
        "lr_actor": 1e-3,
        "lr_critic": 1e-3,
        "eval_every": 2_000,
        "checkpoint_every": 5_000,
        "buffer_size": 100_000,
    },
    # docs/results.md, InvertedDoublePendulum-v4: 3 seeds end at 9,285 +- 17 in 100k steps.
    "InvertedDoublePendulum": {
        "total_steps": 100_000,
        "learning_starts": 5_000,
        "lr_actor": 1e-4,
        "lr_critic": 1e-3,
        "eval_every": 5_000,
        "checkpoint_every": 10_000,
    },
    # docs/results.md, Reacher-v4: 3 seeds end at -4.8 +- 0.6 in 200k steps (threshold -3.75).
    "Reacher": {
        "total_steps": 200_000,
        "learning_starts": 5_000,
        "lr_actor": 1e-3,
        "lr_critic": 1e-3,
    },
    # docs/results.md, HalfCheetah-v4 ablation: 10,174 against 7,707 for the defaults at 300k.
    "HalfCheetah": {
        "lr_actor": 1e-3,
        "lr_critic": 1e-3,
        "noise": "gaussian",
        "noise_sigma": 0.1,
        "learning_starts": 25_000,
    },
    # docs/results.md, n-step ablation (seed 0, 300k), 3-step returns against one-step:
    # Walker2d-v4 959.6 against 429.8 (critic bias +53 against +204), Ant-v4 817.8 against
    # 395.2 (+8 against +45), Hopper-v4 level at the end (1,683 against 1,694) but its last
    # ten evaluations average 1,851 against 1,465 (+43 against +193).
    "Hopper": {"n_step": 3},
    "Walker2d": {"n_step": 3},
    "Ant": {"n_step": 3},
}


def field_docs(cls: type = TrainConfig) -> dict[str, str]:
    """The docstring written under each field of a dataclass, by field name.

    Read from the source once, so a setting's help is written in one place (its field) and
    the CLI's options are generated from it (cli/train.py)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):  # pragma: no cover - no source installed
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def env_family(env_id: str) -> str:
    """`HalfCheetah-v4` -> `HalfCheetah` (namespaces such as `gymnasium/` are dropped)."""
    name = env_id.rsplit("/", 1)[-1]
    return name.rsplit("-v", 1)[0]


def preset_for(env_id: str) -> dict[str, Any]:
    """The overrides this package applies to `env_id` on top of the generic defaults."""
    return dict(PRESETS.get(env_family(env_id), {}))


def resolve_config(env_id: str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Generic defaults < per-env preset < `overrides` (config file, then flags); validated."""
    values: dict[str, Any] = {"env_id": env_id, **preset_for(env_id), **(overrides or {})}
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; valid names are {', '.join(sorted(known))}"
        )
    if "hidden_sizes" in values:
        values["hidden_sizes"] = parse_hidden_sizes(values["hidden_sizes"])
    if "env_kwargs" in values:
        values["env_kwargs"] = parse_env_kwargs(values["env_kwargs"])
    return TrainConfig(**values).validate()


MIN_UPDATES_TO_COMPILE = 3_000
"""Fewest updates a run must have left for `compile` to apply: where compiling stopped
costing more than it saves, measured on whole commands (docs/benchmarks.md)."""

RESUMABLE_FIELDS = frozenset(
    {
        "total_steps",
        "eval_every",
        "eval_episodes",
        "checkpoint_every",
        "save_buffer",
        "device",
        "compile",
    }
)
"""Settings a resumed run may change: how long it runs and how it is watched, not what it learns."""


def with_newer_settings(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved config (`config.json`, a checkpoint's) with every setting it predates added at
    its generic default: the run trained without the setting, which is what the default does
    (a preset's value would not be). JSON-ready values, as `TrainConfig.to_dict` gives."""
    defaults = TrainConfig().to_dict()
    del defaults["env_id"]  # every saved config names its env
    return {**defaults, **saved}


def resolve_resumed_config(
    saved: dict[str, Any], overrides: dict[str, Any]
) -> tuple[TrainConfig, list[str]]:
    """The saved config of a run with `overrides` applied where a resume may change them,
    and what changed (`"total_steps: 1000000 -> 500000"`), for the caller to say.

    A setting this version does not know, or one that would change what is learned, is
    refused with one line rather than dropped.
    """
    values = with_newer_settings(saved)
    values["hidden_sizes"] = parse_hidden_sizes(values["hidden_sizes"])
    values["env_kwargs"] = parse_env_kwargs(values["env_kwargs"])
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; valid names are {', '.join(sorted(known))}"
        )
    changes = []
    for name, value in overrides.items():
        if name == "hidden_sizes":
            value = parse_hidden_sizes(value)
        if name == "env_kwargs":
            value = parse_env_kwargs(value)
        if values.get(name) == value:
            continue
        if name not in RESUMABLE_FIELDS:
            raise ConfigError(
                f"cannot change {_flag(name)} when resuming (run has {values.get(name)!r}); "
                f"only {', '.join(sorted(_flag(n) for n in RESUMABLE_FIELDS))} may change"
            )
        changes.append(f"{name}: {values.get(name)!r} -> {value!r}")
        values[name] = value
    return resolve_config(values.pop("env_id"), values), changes


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML file of settings named like the flags (`total-steps` or `total_steps`)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    values = {key.replace("-", "_"): value for key, value in data.items()}
    nested = [
        key for key, value in values.items() if isinstance(value, dict) and key != "env_kwargs"
    ]
    if nested:
        raise ConfigError(f"config file {path}: tables are not supported ({', '.join(nested)})")
    return values


def parse_hidden_sizes(value: Any) -> tuple[int, ...]:
    """Accept `"256,256"`, `[256, 256]` or `(256, 256)`; raise `ConfigError` otherwise."""
    try:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            sizes = tuple(int(p) for p in parts)
        else:
            sizes = tuple(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--hidden-sizes must look like 256,256, got {value!r}") from None
    if not sizes or any(not isinstance(h, int) or isinstance(h, bool) or h <= 0 for h in sizes):
        raise ConfigError(f"--hidden-sizes must be positive integers like 256,256, got {value!r}")
    return sizes


def parse_env_kwargs(value: Any) -> dict[str, Any]:
    """Accept a JSON object as text (`'{"xml_file": "arm.xml"}'`) or a dict whose values JSON
    can store (config.json and the ONNX metadata hold them as JSON); raise `ConfigError`."""
    example = """e.g. '{"xml_file": "arm.xml"}'"""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"--env-kwargs must be a JSON object, {example}; got {value!r} ({exc})"
            ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"--env-kwargs must be a JSON object, {example}; got {value!r}")
    for key, item in value.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigError(f"--env-kwargs: {key!r} is not a keyword argument name")
        try:
            json.dumps(item, allow_nan=False)
        except (TypeError, ValueError):
            raise ConfigError(
                f"--env-kwargs: the value of {key} ({item!r}) cannot be stored as JSON"
            ) from None
    return dict(value)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


__all__ = [
    "ACTION_BOUNDS",
    "DEVICES",
    "NOISE_KINDS",
    "PRESETS",
    "TrainConfig",
    "env_family",
    "field_docs",
    "load_config_file",
    "parse_env_kwargs",
    "parse_hidden_sizes",
    "preset_for",
    "RESUMABLE_FIELDS",
    "resolve_config",
    "resolve_resumed_config",
    "with_newer_settings",
]
