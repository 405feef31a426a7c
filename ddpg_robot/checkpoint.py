"""Checkpoint files: written atomically, checked for corruption, loaded safely.

A save goes through ddpg_robot/atomic.py (temp file, fsync, rename), so a crash or
SIGKILL mid-save leaves the previous checkpoint intact. Each file carries a checksum of
everything in it (tensors byte for byte, other values by their repr), verified on load: a
flipped bit on disk is reported as corruption, not trained on or evaluated. Loading uses
`torch.load(weights_only=True)`: a checkpoint holds tensors and plain Python values only,
and opening one never executes pickled code.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch

from ddpg_robot.atomic import atomic_write
from ddpg_robot.errors import DDPGRobotError

FORMAT_VERSION = 1
LOW_SPACE_BYTES = 16 * 2**20
"""A failed write with less free space than this on the device is reported as a full disk."""


class CheckpointError(DDPGRobotError):
    """A checkpoint is missing, unreadable, corrupted, or not a ddpg-robot checkpoint."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write `state` and its checksum to `path` atomically; the previous file stays whole
    when this fails (a full disk is one `CheckpointError` line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format_version": FORMAT_VERSION, **state}
    payload["checksum"] = state_checksum(payload)
    with atomic_write(path, "wb") as f:
        try:
            torch.save(payload, f)
            f.flush()
        except (OSError, RuntimeError) as exc:  # torch reports a full disk as RuntimeError
            raise _write_error(path, exc) from None
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by `save_checkpoint`; raise `CheckpointError` with one line."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a corrupt file can fail anywhere inside the reader
        if isinstance(exc, pickle.UnpicklingError) and "Unsupported global" in str(exc):
            raise CheckpointError(  # torch's message would advise the unsafe way around
                f"{path} is not a ddpg-robot checkpoint: it holds Python objects that a "
                "checkpoint never holds, and ddpg-robot does not load such files"
            ) from None
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):  # pragma: no cover
            raise
        raise CheckpointError(
            f"{path} is not a readable ddpg-robot checkpoint: truncated, damaged, or not a "
            f"checkpoint at all ({type(exc).__name__})"
        ) from None
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path} is not a ddpg-robot checkpoint (no format_version)")
    if state["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {state['format_version']}; this ddpg-robot reads "
            f"up to {FORMAT_VERSION}: upgrade ddpg-robot"
        )
    saved = state.pop("checksum", None)  # files from before checksums load unverified
    if saved is not None and saved != state_checksum(state):
        raise CheckpointError(
            f"checkpoint {path} is corrupted (checksum mismatch): its bytes changed after it "
            "was written; use another checkpoint (best.pt, last.pt) or retrain"
        )
    return state


def state_checksum(state: Any) -> str:
    """A digest of a checkpoint's content: tensors by dtype, shape and bytes, containers
    by their items in key order, everything else by its repr."""
    digest = hashlib.blake2b(digest_size=16)

    def visit(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            data = value.detach().cpu().contiguous()
            digest.update(f"T{data.dtype}{tuple(data.shape)}".encode())
            digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            digest.update(f"D{len(value)}".encode())
            for key in sorted(value, key=repr):
                if key != "checksum":
                    digest.update(repr(key).encode())
                    visit(value[key])
        elif isinstance(value, (list, tuple)):
            digest.update(f"L{len(value)}".encode())
            for item in value:
                visit(item)
        else:
            digest.update(repr(value).encode())

    visit(state)
    return digest.hexdigest()


def _write_error(path: Path, exc: Exception) -> CheckpointError:
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if getattr(exc, "errno", None) == 28 or (free is not None and free < LOW_SPACE_BYTES):
        return CheckpointError(
            f"no space left on the device of {path.parent} while writing {path.name}; the "
            "previous checkpoint is intact: free some space, then continue with --resume"
        )
    return CheckpointError(f"cannot write checkpoint {path}: {exc}")


def capture_rng(env: Any, eval_env: Any) -> dict[str, Any]:
    """The RNG states a resumed run needs to continue exactly: torch's, the training env's
    and its action space's (random warm-up actions), and the evaluation env's."""
    return {
        "torch": torch.get_rng_state(),
        "env": env.unwrapped.np_random.bit_generator.state,
        "action_space": env.action_space.np_random.bit_generator.state,
        "eval_env": eval_env.unwrapped.np_random.bit_generator.state,
    }


def restore_rng(rng: dict[str, Any], env: Any, eval_env: Any) -> None:
    """Put back what `capture_rng` saved."""
    torch.set_rng_state(rng["torch"])
    env.unwrapped.np_random.bit_generator.state = rng["env"]
    env.action_space.np_random.bit_generator.state = rng["action_space"]
    eval_env.unwrapped.np_random.bit_generator.state = rng["eval_env"]
