"""Test helpers shared by several test modules."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from ddpg_robot.networks import Actor


def run_main(args: list[str]) -> tuple[int, str, str]:
    """Run the `ddpg-robot` entry point in-process; return (exit code, stdout, stderr).

    In-process keeps the tests fast (no second torch import) and lets a test register
    its own Gymnasium envs; the code path is the console script's `main()`.
    """
    from ddpg_robot.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["ddpg-robot", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def actor_from_onnx(path: str | Path) -> tuple[Actor, str]:
    """The torch actor whose weights an exported ddpg-robot file holds, and its env id.

    Turns the shipped models (trained to real results) back into torch actors, so tests can
    run the exporter on policies with a trained network's activations and bounds.
    """
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    weights = {
        init.name.removeprefix("actor."): torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in model.graph.initializer
        if init.name.startswith("actor.")
    }
    layers = sorted(
        (k for k in weights if k.startswith("net.") and k.endswith(".weight")),
        key=lambda name: int(name.split(".")[1]),
    )
    actor = Actor(
        json.loads(meta["obs_dim"]),
        json.loads(meta["act_dim"]),
        json.loads(meta["action_low"]),
        json.loads(meta["action_high"]),
        hidden_sizes=[weights[k].shape[0] for k in layers[:-1]],
        head=meta["actor_head"],
    )
    state = actor.state_dict()
    state.update({k: v for k, v in weights.items() if k in state})
    actor.load_state_dict(state)
    return actor.requires_grad_(False).eval(), meta["env_id"]


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """`folder` as a fresh tmpfs mounted with `options` (`ro`, `size=3m`, ...): a real
    read-only or full file system for fault tests. Skips the test where mounting is not
    allowed (it needs root in a mount namespace)."""
    import pytest

    folder.mkdir(parents=True, exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here: needs root in a mount namespace")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
