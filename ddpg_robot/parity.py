"""Does an exported ONNX graph compute the actor? Compared with torch within float32's bound.

Two correct float32 programs of the same network differ: onnxruntime and torch add the
terms of each layer in different orders (blocking, FMA) and approximate tanh differently,
so an absolute tolerance either refuses correct graphs whose layers see large activations
or waves wrong ones through. The bound here scales with what float32 can promise for each
input: rounding in a layer is proportional to the sum of the magnitudes it adds,
`|W| |h| + |b|`, and that error travels on through `|W|` of the later layers and the slope
of the head. docs/export.md explains the bound and the measurements behind its constants.

Extreme inputs (|obs| of 1e3 and beyond) saturate the network, and there float32 promises
nothing useful about the unsaturated digits; there the check asks what matters to a robot:
a finite action inside the bounds, saturated on the same side as torch's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from ddpg_robot.bounds import SATURATION_TOLERANCE
from ddpg_robot.errors import DDPGRobotError
from ddpg_robot.networks import OBS_LIMIT, Actor, BoundedPolicy

UNIT_ROUNDOFF = 2.0**-24
"""float32's unit roundoff u: one rounding moves a value by at most u times its size."""
LAYER_SLACK = 8.0
"""Allowed error of each program, in units of u times the propagated magnitude. Measured
differences between onnxruntime and torch stay below 1 such unit (docs/export.md);
8 leaves room for other CPUs and kernels and still refuses a 1e-3 change of one weight."""
HEAD_SLACK = 16.0
"""Allowed error of the head (tanh, scale and shift), in ulps of the action's size."""
PROBE_KINDS = ("real", "gaussian", "extreme")


@dataclass
class Probes:
    """Observations to compare the two programs on, float32 (N, obs_dim), and their kind."""

    obs: np.ndarray
    kinds: np.ndarray  # (N,) entries of PROBE_KINDS
    real_note: str | None = None  # why there are no real observations, when there are none


@dataclass
class KindReport:
    """The worst case over one kind of probe input."""

    count: int
    max_abs_diff: float
    max_ratio: float  # max |onnx - torch| / bound (real and Gaussian probes; 0 for extreme)


@dataclass
class ParityReport:
    kinds: dict[str, KindReport]
    failures: list[str] = field(default_factory=list)  # one line each, the first few

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def max_abs_diff(self) -> float:
        return max((k.max_abs_diff for k in self.kinds.values()), default=0.0)


def parity_probes(
    actor: Actor, env_id: str, n: int = 4096, seed: int = 0, *, env_kwargs: dict | None = None
) -> Probes:
    """Half Gaussian at scales 0.1 to 10 (MuJoCo states span that), a quarter extreme
    (+-1e3 to +-1e30 in every coordinate, or 1e9 in one), a quarter real: the policy rolled
    out with noise in its env. When the env cannot be made here, the real quarter is
    Gaussian too and `real_note` says why."""
    rng = np.random.default_rng(seed)
    dim = actor.obs_dim
    n_extreme = n // 4
    n_real = n - n // 2 - n_extreme
    magnitudes = rng.choice([1e3, 1e6, 1e9, 1e30], size=(n_extreme, 1))
    extreme = rng.choice([-1.0, 1.0], size=(n_extreme, dim)) * magnitudes
    for i in range(min(n_extreme // 2, dim)):  # one huge coordinate at a time
        extreme[i] = 0.0
        extreme[i, i] = 1e9
    real, note = _env_observations(actor, env_id, n_real, rng, env_kwargs or {})
    n_gaussian = n - n_extreme - len(real)
    scales = rng.choice([0.1, 1.0, 3.0, 10.0], size=(n_gaussian, 1))
    gaussian = rng.standard_normal((n_gaussian, dim)) * scales
    kinds = ["gaussian"] * n_gaussian + ["extreme"] * n_extreme + ["real"] * len(real)
    obs = np.concatenate([gaussian, extreme, real.reshape(-1, dim)]).astype(np.float32)
    return Probes(obs, np.array(kinds), note)


def float32_bound(actor: Actor, obs: np.ndarray) -> np.ndarray:
    """How far a correct float32 program may be from the exact action, (N, act_dim).

    Computed in float64 alongside the exact forward pass. E, the propagated magnitude, starts
    at the normalised observation's size (its own rounding) and at each Linear layer becomes
    `|W| E + |W| |h| + |b|`: the errors arriving from below, carried by the weights, plus the
    magnitude of the sum this layer rounds. A ReLU passes errors only where its input may be
    positive. The head multiplies by its slope: for tanh, `scale * (1 - tanh^2)` at the
    pre-activation moved toward zero by its own error bound (so a bound never relies on a
    saturation it might not reach), plus HEAD_SLACK ulps of the action's size.
    """
    with torch.no_grad():
        x = torch.as_tensor(obs, dtype=torch.float64).clamp(-OBS_LIMIT, OBS_LIMIT)
        magnitude = torch.zeros_like(x)
        norm = actor.obs_normalizer
        if norm is not None:
            x = (x - norm.mean.double()) / torch.sqrt(norm.var.double() + norm.eps)
            x = x.clamp(-norm.clip, norm.clip)
            magnitude = 4.0 * x.abs()  # subtraction, sqrt and division each round once
        h = x
        for module in actor.net:
            if isinstance(module, nn.Linear):
                weight, bias = module.weight.double().abs(), module.bias.double().abs()
                pre = torch.nn.functional.linear(h, module.weight.double(), module.bias.double())
                magnitude = magnitude @ weight.T + h.abs() @ weight.T + bias
                h = pre
            elif isinstance(module, nn.ReLU):
                could_be_positive = h > -LAYER_SLACK * UNIT_ROUNDOFF * magnitude
                magnitude = magnitude * could_be_positive
                h = torch.relu(h)
            else:  # pragma: no cover - Actor builds Linear/ReLU stacks only
                raise TypeError(f"no float32 bound for a {type(module).__name__} layer")
        error = LAYER_SLACK * UNIT_ROUNDOFF * magnitude  # (N, act_dim) on the pre-activation
        scale = actor.action_scale.double()
        size = actor.action_bias.double().abs() + scale
        if actor.head == "tanh":
            slope = scale * (1 - torch.tanh((h.abs() - error).clamp(min=0)) ** 2)
            bound = slope * error
        else:
            bound = error
        return (bound + HEAD_SLACK * UNIT_ROUNDOFF * size).numpy()


def check_parity(actor: Actor, onnx_path: str | Path, probes: Probes) -> ParityReport:
    """Run the ONNX graph and torch on `probes` and judge every action (see module doc).

    Every action must be finite and inside [low, high]; on real and Gaussian probes
    |onnx - torch| must stay within `float32_bound`; on extreme probes each action torch
    saturates (within SATURATION_TOLERANCE of the range from a bound) must be saturated at
    the same bound.
    """
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (onnx_actions,) = session.run(["action"], {"obs": probes.obs})
    onnx_actions = onnx_actions.astype(np.float64)
    with torch.no_grad():
        torch_actions = _torch_actions(actor, probes.obs)
    low = actor.action_low.double().numpy()
    high = actor.action_high.double().numpy()
    failures: list[str] = []
    finite = np.isfinite(onnx_actions)
    inside = finite & (onnx_actions >= low) & (onnx_actions <= high)
    if not inside.all():
        row, col = np.argwhere(~inside)[0]
        failures.append(
            f"action {col} is {onnx_actions[row, col]:.6g} for a {probes.kinds[row]} "
            f"observation, outside [{low[col]:g}, {high[col]:g}]"
        )
    if not np.isfinite(torch_actions).all():
        failures.append("torch's own actions are not finite: the checkpoint's weights are broken")
    diff = np.abs(np.where(finite, onnx_actions, np.inf) - torch_actions)  # (N, act_dim)
    bound = float32_bound(actor, probes.obs)
    ratio = diff / bound
    numeric = probes.kinds != "extreme"
    over = (ratio > 1) & numeric[:, None]
    if over.any():
        row, col = np.unravel_index(np.argmax(np.where(over, ratio, 0)), ratio.shape)
        failures.append(
            f"on a {probes.kinds[row]} observation action {col} differs by {diff[row, col]:.3g}, "
            f"{ratio[row, col]:.3g} times what float32 allows there ({bound[row, col]:.2g})"
        )
    margin = SATURATION_TOLERANCE * (high - low)
    at_low, at_high = torch_actions <= low + margin, torch_actions >= high - margin
    same_side = np.where(at_low, onnx_actions <= low + margin, True) & np.where(
        at_high, onnx_actions >= high - margin, True
    )
    flipped = ~same_side & ~numeric[:, None]
    if flipped.any():
        row, col = np.argwhere(flipped)[0]
        failures.append(
            f"on an extreme observation torch saturates action {col} at "
            f"{torch_actions[row, col]:.6g} but onnxruntime gives {onnx_actions[row, col]:.6g}"
        )
    kinds = {}
    for kind in PROBE_KINDS:
        rows = probes.kinds == kind
        if rows.any():
            kinds[kind] = KindReport(
                count=int(rows.sum()),
                max_abs_diff=float(diff[rows].max()),
                max_ratio=float(ratio[rows].max()) if kind != "extreme" else 0.0,
            )
    return ParityReport(kinds, failures)


def _torch_actions(actor: Actor, obs: np.ndarray) -> np.ndarray:
    """What the contract says the graph computes, run by torch in float32: (N, act_dim)."""
    return BoundedPolicy(actor)(torch.from_numpy(obs)).numpy().astype(np.float64)


def _env_observations(
    actor: Actor, env_id: str, n: int, rng: np.random.Generator, env_kwargs: dict
) -> tuple[np.ndarray, str | None]:
    """`n` observations of the policy rolled out with noise, or none and the reason."""
    from ddpg_robot.envs import env_info, make_env  # gymnasium + mujoco, only when exporting

    try:
        env = make_env(env_id, seed=int(rng.integers(2**31)), **env_kwargs)
    except DDPGRobotError as exc:
        return np.zeros((0, actor.obs_dim)), f"the env cannot be made here: {exc}"
    low, high = actor.action_low.numpy(), actor.action_high.numpy()
    info = env_info(env)
    if (info.obs_dim, info.act_dim) != (actor.obs_dim, actor.act_dim) or not (
        np.array_equal(info.action_low, low) and np.array_equal(info.action_high, high)
    ):  # its MJCF or keyword arguments changed since training: its states are not the policy's
        env.close()
        return np.zeros((0, actor.obs_dim)), (
            f"{env_id} as made here does not fit the policy (obs_dim {info.obs_dim}, act_dim "
            f"{info.act_dim}, or other action bounds)"
        )
    observations = np.zeros((n, actor.obs_dim))
    obs, _ = env.reset()
    try:
        for i in range(n):
            observations[i] = obs
            with torch.no_grad():
                action = actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
            noise = 0.3 * (high - low) * rng.standard_normal(len(low))
            obs, _, terminated, truncated, _ = env.step(np.clip(action + noise, low, high))
            if terminated or truncated:
                obs, _ = env.reset()
    finally:
        env.close()
    return observations, None
