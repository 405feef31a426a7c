"""A run directory: where a run's files go, and the lock that keeps it to one trainer.

    runs/<env>-<YYYYmmdd-HHMMSS>-s<seed>/
      config.json  metrics.csv  events.out.tfevents.*  checkpoints/{last,best}.pt  .lock

A trainer holds an exclusive `flock` on `.lock` for as long as it runs: a second trainer on
the same folder stops at once with the holder's pid, and since the operating system drops
the lock with the process, a `kill -9` never leaves a stale one behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import IO

from ddpg_robot.atomic import atomic_write, remove_orphans
from ddpg_robot.config import TrainConfig
from ddpg_robot.errors import DDPGRobotError


class RunDirError(DDPGRobotError):
    """The run directory cannot be used: in use, not a folder, not writable."""


def default_run_dir(env_id: str, seed: int, root: Path = Path("runs")) -> Path:
    """runs/<env>-<YYYYmmdd-HHMMSS>-s<seed>/, with characters a folder name should not hold
    (`/` of a namespace, `:` of a `module:EnvId`) replaced by `_`."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"{re.sub(r'[^A-Za-z0-9._-]', '_', env_id)}-{stamp}-s{seed}"


class RunDir:
    """The paths of one run directory, and its lock while a trainer uses it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.last = self.checkpoints / "last.pt"
        self.best = self.checkpoints / "best.pt"
        self.metrics = self.path / "metrics.csv"
        self.config = self.path / "config.json"
        self._lock: IO | None = None

    def claim(self, *, new_run: bool = False) -> None:
        """Create the folder if needed, take its lock, and clear the temp files that a killed
        writer left (safe only now: no live trainer can be writing them). `new_run`: refuse
        a folder that already holds a run's checkpoint."""
        if self._lock is not None:
            return
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"--run-dir {self.path} is a file, not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = open(self.path / ".lock", "a+")  # noqa: SIM115 - held until release()
        except OSError as exc:
            raise RunDirError(f"cannot use {self.path} as a run dir: {exc.strerror}") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise RunDirError(
                f"{self.path} is in use by another trainer (pid {holder}); wait for it to "
                "end, or pick another --run-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock
        if new_run and self.last.exists():
            self.release()
            raise RunDirError(
                f"{self.path} already holds a run; add --resume to continue it, "
                "or pick another --run-dir"
            )
        for folder in (self.path, self.checkpoints):
            remove_orphans(folder)

    def release(self) -> None:
        """Let another trainer have the folder (the lock also goes when the process ends)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def write_config(self, config: TrainConfig) -> None:
        with atomic_write(self.config, "w") as f:
            f.write(json.dumps(config.to_dict(), indent=2) + "\n")
