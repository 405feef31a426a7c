"""Checkpoint -> self-contained ONNX policy, with metadata and an onnxruntime-vs-torch check.

The graph is observation normalisation (when trained with it) -> actor MLP -> head ->
affine map to [low, high] -> clip: its output is in env units and always in bounds, so a
consumer adds nothing. The contract is in docs/export.md.

The exporter path is pinned: TorchScript-based `torch.onnx.export(dynamo=False)` at opset
17. A torch upgrade that drops or changes that path fails loudly here instead of silently
writing a different file.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from ddpg_robot import __version__
from ddpg_robot.atomic import atomic_path
from ddpg_robot.errors import DDPGRobotError
from ddpg_robot.networks import Actor, BoundedPolicy
from ddpg_robot.parity import ParityReport, check_parity, parity_probes
from ddpg_robot.policy import load_actor, resolve_checkpoint, trained_env
from ddpg_robot.runtime import (
    INFORMATIONAL_JSON_KEYS,
    INFORMATIONAL_TEXT_KEYS,
    REQUIRED_KEYS,
    SCHEMA_VERSION,
)

OPSET = 17
METADATA_KEYS = REQUIRED_KEYS + INFORMATIONAL_TEXT_KEYS + INFORMATIONAL_JSON_KEYS


class ExportError(DDPGRobotError):
    """The policy could not be exported, or the exported file disagrees with torch."""


@dataclass
class ExportReport:
    path: Path
    checkpoint: Path
    parity: ParityReport
    real_note: str | None  # why no real observations were probed, when none were
    metadata: dict[str, str]


def export_policy(
    source: str | Path,
    out: str | Path | None = None,
    *,
    checkpoint: str = "best",
    control_dt: float | None = None,
    parity_samples: int = 4096,
    seed: int = 0,
) -> ExportReport:
    """Export the actor of a run dir or checkpoint to ONNX and verify it against torch.

    Default output: `<run dir>/policy.onnx` (or the checkpoint's name with `.onnx`). The
    file appears only once it has passed `onnx.checker` and the parity check
    (`ddpg_robot.parity`: within float32's bound of torch on every probe observation).
    `control_dt` (seconds between actions) overrides the env's `dt`; one of them must exist,
    since a controller needs its period.
    """
    ckpt = resolve_checkpoint(source, checkpoint)
    actor, state = load_actor(ckpt)
    out_path = Path(out) if out is not None else _default_output(ckpt)
    if out_path.is_dir():
        raise ExportError(f"-o {out_path} is a folder; give a file name such as policy.onnx")
    if not out_path.parent.is_dir():
        raise ExportError(f"output folder {out_path.parent} does not exist; create it first")
    if control_dt is not None and not (math.isfinite(control_dt) and control_dt > 0):
        raise ExportError(f"--control-dt must be a positive number of seconds, got {control_dt}")
    env_id, env_kwargs = trained_env(state)
    control_dt = control_dt if control_dt is not None else state["env"].get("control_dt")
    if not (isinstance(control_dt, (int, float)) and math.isfinite(control_dt) and control_dt > 0):
        raise ExportError(
            f"{env_id} gives no control period (its env has no `dt`); "
            "pass --control-dt SECONDS, the time between two actions on the robot"
        )
    metadata = policy_metadata(actor, state, control_dt=float(control_dt))
    module = BoundedPolicy(actor).eval()

    try:
        with atomic_path(out_path) as tmp:  # the file appears only once every check passed
            torch_to_onnx(module, actor.obs_dim, tmp)
            model = onnx.load(str(tmp))
            for key, value in metadata.items():
                entry = model.metadata_props.add()
                entry.key, entry.value = key, value
            model.doc_string = f"ddpg-robot policy for {metadata['env_id']}"
            onnx.checker.check_model(model, full_check=True)
            onnx.save(model, str(tmp))
            probes = parity_probes(actor, env_id, parity_samples, seed, env_kwargs=env_kwargs)
            report = check_parity(actor, tmp, probes)
            if not report.ok:
                raise ExportError(
                    f"the ONNX graph does not compute the actor: {report.failures[0]}; "
                    "the file was not written"
                )
    except OSError as exc:  # a read-only folder, a full disk
        raise ExportError(f"cannot write {out_path}: {exc.strerror}") from None
    return ExportReport(out_path, ckpt, report, probes.real_note, metadata)


def policy_metadata(actor: Actor, state: dict[str, Any], *, control_dt: float) -> dict[str, str]:
    """The contract's metadata_props: strings as they are, numbers and lists as JSON.

    `env_id` and `env_kwargs` are what the run was trained with, so `eval` and `run` can make
    the env again; the names are written where the checkpoint recorded them."""
    env_id, env_kwargs = trained_env(state)
    names = {
        key: json.dumps(list(state["env"][key]))
        for key, width in (("action_names", actor.act_dim), ("observation_names", actor.obs_dim))
        if state["env"].get(key) is not None and len(state["env"][key]) == width
    }
    return {
        "ddpg_robot.schema": SCHEMA_VERSION,
        "env_id": env_id,
        "obs_dim": json.dumps(int(actor.obs_dim)),
        "act_dim": json.dumps(int(actor.act_dim)),
        # float32 bounds widened to float64 exactly; json writes the shortest exact repr.
        "action_low": json.dumps([float(x) for x in actor.action_low.tolist()]),
        "action_high": json.dumps([float(x) for x in actor.action_high.tolist()]),
        "control_dt": json.dumps(control_dt),
        "actor_head": actor.head,
        "obs_normalization": json.dumps(actor.obs_normalizer is not None),
        "train_steps": json.dumps(int(state["step"])),
        "eval_return_mean": json.dumps(state.get("last_eval")),
        "env_kwargs": json.dumps(env_kwargs),
        **names,
        "ddpg_robot_version": __version__,
        "torch_version": torch.__version__,
    }


def torch_to_onnx(module: nn.Module, obs_dim: int, path: Path) -> None:
    """Trace `module` (obs (B, obs_dim) -> action) into an ONNX graph at `path` by the pinned
    exporter path; no metadata, no check."""
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


def _default_output(checkpoint: Path) -> Path:
    if checkpoint.parent.name == "checkpoints":
        return checkpoint.parent.parent / "policy.onnx"
    return checkpoint.with_suffix(".onnx")
