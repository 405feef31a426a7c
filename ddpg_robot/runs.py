"""Starting a training run, or resuming one from its run directory.

run = runs.start(resolve_config("Hopper-v4"))      # a new run dir under runs/
run = runs.resume(Path("runs/Hopper-v4-..."), {"total_steps": 500_000})
result = run.run()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ddpg_robot.checkpoint import CheckpointError, load_checkpoint
from ddpg_robot.config import TrainConfig, resolve_resumed_config
from ddpg_robot.errors import ConfigError
from ddpg_robot.progress import ProgressReporter
from ddpg_robot.run_dir import RunDir, default_run_dir
from ddpg_robot.trainer import Trainer


def start(
    config: TrainConfig, run_dir: Path | None = None, *, reporter: ProgressReporter | None = None
) -> Trainer:
    """Prepare a new run (the env is checked before the run dir is made or locked)."""
    return Trainer(
        config, run_dir or default_run_dir(config.env_id, config.seed), reporter=reporter
    )


def resume(
    run_dir: Path,
    overrides: dict[str, Any] | None = None,
    *,
    env_id: str | None = None,
    reporter: ProgressReporter | None = None,
) -> Trainer:
    """Prepare to continue the run in `run_dir` from `checkpoints/last.pt`.

    `overrides` may change how long it runs and how it is watched (`RESUMABLE_FIELDS`);
    changing what the algorithm computes is refused. The run dir is locked before the
    checkpoint is read; what changed is in the trainer's `changes`.
    """
    files = RunDir(run_dir)
    if not files.last.is_file():
        raise CheckpointError(
            f"cannot resume: {files.last} does not exist (the run never reached its first "
            "checkpoint, or this is not a run dir); start a new run without --resume"
        )
    files.claim()
    try:
        state = load_checkpoint(files.last)
        config, changes = resolve_resumed_config(state["config"], overrides or {})
        if env_id is not None and env_id != config.env_id:
            raise ConfigError(f"{run_dir} is a {config.env_id} run, not {env_id}")
        if config.total_steps < state["step"]:
            raise ConfigError(
                f"{run_dir} is at step {state['step']:,} already, past --total-steps "
                f"{config.total_steps:,}; give --total-steps above it to train on"
            )
        return Trainer(config, files, reporter=reporter, resume_state=state, changes=changes)
    except BaseException:
        files.release()
        raise
