"""Checkpoint -> self-contained ONNX policy, with metadata and an onnxruntime-vs-torch check.

The graph is observation normalisation (when trained with it) -> actor MLP -> head ->
affine map to [low, high] -> clip: its output is in env units and always in bounds, so a
consumer adds nothing. The contract is in docs/export.md (DESIGN §4).

The exporter path is pinned: TorchScript-based `torch.onnx.export(dynamo=False)` at opset
17. A torch upgrade that drops or changes that path fails loudly here instead of silently
writing a different file.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from ddpg_robot import __version__
from ddpg_robot.checkpoint import apply_umask
from ddpg_robot.errors import DDPGRobotError
from ddpg_robot.networks import Actor
from ddpg_robot.policy import load_actor, resolve_checkpoint
from ddpg_robot.runtime import METADATA_JSON_KEYS, METADATA_TEXT_KEYS, SCHEMA_VERSION

OPSET = 17
PARITY_TOLERANCE = 1e-5
OBS_LIMIT = 1e9
"""The graph clamps observations to +-OBS_LIMIT: far beyond any physical state, and low
enough that no float32 layer overflows, so every finite observation gives a finite action."""
METADATA_KEYS = METADATA_TEXT_KEYS + METADATA_JSON_KEYS


class ExportError(DDPGRobotError):
    """The policy could not be exported, or the exported file disagrees with torch."""


class BoundedPolicy(nn.Module):
    """What goes into the ONNX graph: clamp obs, the actor (normaliser and head), clip.

    The tanh head is already in bounds; the final clip is the contract's guarantee, and for
    a linear head (inverting gradients) it is what keeps the output in bounds.
    """

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        obs = torch.clamp(obs, -OBS_LIMIT, OBS_LIMIT)  # (B, obs_dim)
        return torch.clamp(self.actor(obs), self.actor.action_low, self.actor.action_high)


@dataclass
class ExportReport:
    path: Path
    checkpoint: Path
    max_abs_diff: float
    parity_samples: int
    metadata: dict[str, str]


def export_policy(
    source: str | Path,
    out: str | Path | None = None,
    *,
    checkpoint: str = "best",
    parity_samples: int = 4096,
    seed: int = 0,
) -> ExportReport:
    """Export the actor of a run dir or checkpoint to ONNX and verify it against torch.

    Default output: `<run dir>/policy.onnx` (or the checkpoint's name with `.onnx`). The
    file appears only once it has passed `onnx.checker` and the parity check.
    """
    ckpt = resolve_checkpoint(source, checkpoint)
    actor, state = load_actor(ckpt)
    out_path = Path(out) if out is not None else _default_output(ckpt)
    if not out_path.parent.is_dir():
        raise ExportError(f"output folder {out_path.parent} does not exist; create it first")
    metadata = policy_metadata(actor, state)
    module = BoundedPolicy(actor).eval()

    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _torch_export(module, actor.obs_dim, tmp)
        model = onnx.load(str(tmp))
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        model.doc_string = f"ddpg-robot policy for {metadata['env_id']}"
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(tmp))
        observations = parity_observations(actor, state["env"]["env_id"], parity_samples, seed)
        max_diff = parity_max_abs_diff(module, tmp, observations)
        if not max_diff <= PARITY_TOLERANCE:
            raise ExportError(
                f"onnxruntime and torch disagree by {max_diff:.3g} (> {PARITY_TOLERANCE:g}) on "
                f"{len(observations)} observations; the file was not written"
            )
        apply_umask(tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportReport(out_path, ckpt, max_diff, len(observations), metadata)


def policy_metadata(actor: Actor, state: dict[str, Any]) -> dict[str, str]:
    """The contract's metadata_props: strings as they are, numbers and lists as JSON."""
    env = state["env"]
    return {
        "ddpg_robot.schema": SCHEMA_VERSION,
        "env_id": env["env_id"],
        "obs_dim": json.dumps(int(actor.obs_dim)),
        "act_dim": json.dumps(int(actor.act_dim)),
        # float32 bounds widened to float64 exactly; json writes the shortest exact repr.
        "action_low": json.dumps([float(x) for x in actor.action_low.tolist()]),
        "action_high": json.dumps([float(x) for x in actor.action_high.tolist()]),
        "control_dt": json.dumps(env.get("control_dt")),
        "actor_head": actor.head,
        "obs_normalization": json.dumps(actor.obs_normalizer is not None),
        "train_steps": json.dumps(int(state["step"])),
        "eval_return_mean": json.dumps(state.get("last_eval")),
        "ddpg_robot_version": __version__,
        "torch_version": torch.__version__,
    }


def parity_observations(actor: Actor, env_id: str, n: int, seed: int) -> np.ndarray:
    """Random, extreme and real observations (float32, (N, obs_dim)) to compare runtimes on.

    Half are Gaussian at scales 0.1 to 10 (MuJoCo states span that), a quarter extreme
    (+-1e3 to +-1e30 in every coordinate, or 1e9 in one), a quarter real: the policy rolled
    out in the env with noise (random ones instead if the env cannot be made here).
    """
    rng = np.random.default_rng(seed)
    dim = actor.obs_dim
    n_random, n_extreme = n // 2, n // 4
    scales = rng.choice([0.1, 1.0, 3.0, 10.0], size=(n_random, 1))
    random = rng.standard_normal((n_random, dim)) * scales
    magnitudes = rng.choice([1e3, 1e6, 1e9, 1e30], size=(n_extreme, 1))
    extreme = rng.choice([-1.0, 1.0], size=(n_extreme, dim)) * magnitudes
    for i in range(min(n_extreme // 2, dim)):  # one huge coordinate at a time
        extreme[i] = 0.0
        extreme[i, i] = 1e9
    real = _env_observations(actor, env_id, n - n_random - n_extreme, rng)
    return np.concatenate([random, extreme, real]).astype(np.float32)


def parity_max_abs_diff(module: nn.Module, onnx_path: Path, observations: np.ndarray) -> float:
    """Largest |onnxruntime - torch| over all observations and action dimensions."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (onnx_actions,) = session.run(["action"], {"obs": observations})
    with torch.no_grad():
        torch_actions = module(torch.from_numpy(observations)).numpy()
    if not (np.isfinite(onnx_actions).all() and np.isfinite(torch_actions).all()):
        return float("inf")
    return float(np.max(np.abs(onnx_actions.astype(np.float64) - torch_actions)))


def _torch_export(module: nn.Module, obs_dim: int, path: Path) -> None:
    example = torch.zeros(2, obs_dim)
    with warnings.catch_warnings():
        # The TorchScript path warns that dynamo is the future default; it is pinned on purpose.
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=False,
                opset_version=OPSET,
                input_names=["obs"],
                output_names=["action"],
                dynamic_axes={"obs": {0: "batch"}, "action": {0: "batch"}},
                do_constant_folding=True,
            )
        except TypeError as exc:  # a torch whose exporter lacks the pinned path
            raise ExportError(
                f"torch {torch.__version__} cannot export with the pinned path "
                f"(dynamo=False, opset {OPSET}): {exc}"
            ) from None


def _env_observations(actor: Actor, env_id: str, n: int, rng: np.random.Generator) -> np.ndarray:
    from ddpg_robot.envs import make_env  # gymnasium + mujoco, only when exporting

    try:
        env = make_env(env_id, seed=int(rng.integers(2**31)))
    except DDPGRobotError:
        return rng.standard_normal((n, actor.obs_dim))
    low, high = actor.action_low.numpy(), actor.action_high.numpy()
    observations = np.zeros((n, actor.obs_dim))
    obs, _ = env.reset()
    for i in range(n):
        observations[i] = obs
        with torch.no_grad():
            action = actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
        action = np.clip(action + 0.3 * (high - low) * rng.standard_normal(len(low)), low, high)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return observations


def _default_output(checkpoint: Path) -> Path:
    if checkpoint.parent.name == "checkpoints":
        return checkpoint.parent.parent / "policy.onnx"
    return checkpoint.with_suffix(".onnx")
