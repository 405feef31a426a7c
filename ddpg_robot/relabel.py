"""Write action and observation names into an already exported file, graph untouched.

Files exported before names existed (the shipped models, whose checkpoints are gone) get
them from their env here: `ddpg-robot export POLICY.onnx --relabel`. Only `metadata_props`
change; the graph, its weights, opset and IR version are checked to be byte for byte what
they were before the file replaces the old one, so the policy's actions cannot change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from ddpg_robot.atomic import atomic_path
from ddpg_robot.envs import EnvInfo, env_info, make_env
from ddpg_robot.errors import DDPGRobotError
from ddpg_robot.runtime import SCHEMA_VERSION, Controller


class RelabelError(DDPGRobotError):
    """The file cannot be relabelled: not a ddpg-robot policy, or its env does not match."""


@dataclass
class RelabelReport:
    path: Path
    env_id: str
    names: dict[str, list[str]]  # the keys written, parsed


def relabel_policy(source: str | Path, out: str | Path | None = None) -> RelabelReport:
    """Set `action_names` / `observation_names` of the ddpg-robot file `source` from the env
    its metadata names (`env_id`, `env_kwargs`), writing to `out` (default: in place).

    The env must match the file (sizes and bounds), and must tell at least one kind of
    name. Names it cannot tell are removed rather than left stale.
    """
    source = Path(source)
    out_path = Path(out) if out is not None else source
    if not source.is_file():
        raise RelabelError(f"no ONNX file at {source}")
    try:
        model = onnx.load(str(source))
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise RelabelError(f"{source} is not a loadable ONNX file ({type(exc).__name__})") from None
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("ddpg_robot.schema") != SCHEMA_VERSION:
        raise RelabelError(f"{source} is not a ddpg-robot policy of schema {SCHEMA_VERSION}")
    env_id = meta.get("env_id")
    if not env_id:
        raise RelabelError(f"{source} names no env_id, so there is no env to take names from")
    try:
        env_kwargs = json.loads(meta.get("env_kwargs", "{}"))
    except json.JSONDecodeError:
        env_kwargs = None
    if not isinstance(env_kwargs, dict):
        raise RelabelError(f"{source} has env_kwargs {meta['env_kwargs']!r}, not a JSON object")

    env = make_env(env_id, **env_kwargs)
    try:
        info = env_info(env, env_id)
    finally:
        env.close()
    _check_matches(meta, info, source)
    names = {
        key: list(value)
        for key, value in (("action_names", info.action_names),
                           ("observation_names", info.observation_names))
        if value is not None
    }  # fmt: skip
    if not names:
        raise RelabelError(f"{env_id} tells no action or observation names; nothing to write")

    graph = _frozen_parts(model)
    written_names = {key: json.dumps(value) for key, value in names.items()}
    # Names already there are rewritten in place, so relabelling a fresh export (which has
    # them) reproduces its bytes; names a file lacks go at the end.
    entries = [(p.key, written_names.pop(p.key, p.value)) for p in model.metadata_props]
    del model.metadata_props[:]
    for key, value in entries + list(written_names.items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_path(out_path) as tmp:
        onnx.save(model, str(tmp))
        written = onnx.load(str(tmp))
        if _frozen_parts(written) != graph:  # pragma: no cover - onnx re-serialising differently
            raise RelabelError(f"rewriting {source} changed its graph; nothing was written")
        try:
            Controller(tmp)  # the runtime still loads it (required keys untouched)
        except ValueError as exc:  # pragma: no cover - only informational keys changed
            raise RelabelError(f"{source} relabelled does not load: {exc}") from None
    return RelabelReport(out_path, env_id, names)


def _frozen_parts(model: onnx.ModelProto) -> tuple[bytes, tuple, int]:
    """What must not change: the graph (nodes and weights), the opsets and the IR version."""
    opsets = tuple((o.domain, o.version) for o in model.opset_import)
    return model.graph.SerializeToString(deterministic=True), opsets, model.ir_version


def _check_matches(meta: dict[str, str], info: EnvInfo, source: Path) -> None:
    try:
        obs_dim, act_dim = json.loads(meta["obs_dim"]), json.loads(meta["act_dim"])
        low, high = json.loads(meta["action_low"]), json.loads(meta["action_high"])
    except (KeyError, json.JSONDecodeError):
        raise RelabelError(f"{source} lacks readable obs_dim, act_dim or bounds") from None
    same = (obs_dim, act_dim) == (info.obs_dim, info.act_dim) and np.array_equal(
        np.float32(low), info.action_low
    )
    if not (same and np.array_equal(np.float32(high), info.action_high)):
        raise RelabelError(
            f"{source} (obs_dim {obs_dim}, act_dim {act_dim}) does not fit {info.env_id} as made "
            f"here (obs_dim {info.obs_dim}, act_dim {info.act_dim}, or other bounds)"
        )
