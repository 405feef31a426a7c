"""Atomic checkpoint files and safe loading.

A save writes a temporary file in the same folder, fsyncs it and renames it over the old
one, so a crash or SIGKILL mid-save leaves the previous checkpoint intact. Loading uses
`torch.load(weights_only=True)`: a checkpoint holds tensors and plain Python values only,
and opening one never executes pickled code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ddpg_robot.atomic import atomic_write
from ddpg_robot.errors import DDPGRobotError

FORMAT_VERSION = 1


class CheckpointError(DDPGRobotError):
    """A checkpoint is missing, unreadable, or not a ddpg-robot checkpoint."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write `state` to `path` atomically (ddpg_robot/atomic.py: temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as f:
        torch.save({"format_version": FORMAT_VERSION, **state}, f)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by `save_checkpoint`; raise `CheckpointError` with one line."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a corrupt file can fail anywhere inside the unpickler
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):  # pragma: no cover
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path} is not a readable ddpg-robot checkpoint ({reason[:200]})"
        ) from None
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path} is not a ddpg-robot checkpoint (no format_version)")
    if state["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {state['format_version']}; this ddpg-robot reads "
            f"up to {FORMAT_VERSION}: upgrade ddpg-robot"
        )
    return state
