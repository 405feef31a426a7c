"""`ddpg-robot train ENV_ID`: parse options, resolve the config, run the trainer, summarise."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from ddpg_robot.cli.progress import make_reporter

from ddpg_robot.config import load_config_file, resolve_config
from ddpg_robot.errors import ConfigError

Opt = typer.Option


def train(
    env_id: Annotated[str, typer.Argument(help="Gymnasium id, e.g. HalfCheetah-v4.")],
    total_steps: Annotated[int | None, Opt(help="Env steps to train for.")] = None,
    seed: Annotated[int | None, Opt(help="Seed for torch, env, noise and replay.")] = None,
    run_dir: Annotated[
        Path | None, Opt(help="Run directory (default runs/ENV-TIME-sSEED).")
    ] = None,
    noise: Annotated[str | None, Opt(help="Exploration noise: ou, gaussian or none.")] = None,
    noise_sigma: Annotated[float | None, Opt(help="Noise scale in [-1, 1] action units.")] = None,
    normalize_obs: Annotated[
        bool | None,
        Opt("--normalize-obs/--no-normalize-obs", help="Running mean/std obs normalisation."),
    ] = None,
    action_bound: Annotated[str | None, Opt(help="Actor bounds: tanh or invert-gradients.")] = None,
    learning_starts: Annotated[
        int | None, Opt(help="Uniform-random steps before the first update.")
    ] = None,
    batch_size: Annotated[int | None, Opt(help="Transitions per update.")] = None,
    hidden_sizes: Annotated[str | None, Opt(help="Hidden widths, e.g. 256,256.")] = None,
    lr_actor: Annotated[float | None, Opt(help="Actor learning rate.")] = None,
    lr_critic: Annotated[float | None, Opt(help="Critic learning rate.")] = None,
    gamma: Annotated[float | None, Opt(help="Discount factor.")] = None,
    tau: Annotated[float | None, Opt(help="Polyak rate of the target networks.")] = None,
    buffer_size: Annotated[int | None, Opt(help="Replay capacity in transitions.")] = None,
    eval_every: Annotated[int | None, Opt(help="Evaluate every N steps (0 = never).")] = None,
    eval_episodes: Annotated[int | None, Opt(help="Episodes per evaluation.")] = None,
    checkpoint_every: Annotated[
        int | None, Opt(help="Save last.pt every N steps (0 = only at the end).")
    ] = None,
    save_buffer: Annotated[
        bool | None,
        Opt("--save-buffer/--no-save-buffer", help="Keep the replay buffer in last.pt."),
    ] = None,
    resume: Annotated[bool, Opt("--resume", help="Continue the run in --run-dir.")] = False,
    device: Annotated[str | None, Opt(help="auto, cpu or cuda.")] = None,
    compile: Annotated[
        bool | None,
        Opt(
            "--compile/--no-compile",
            help="torch.compile the update (default on; only for runs of 3,000+ updates).",
        ),
    ] = None,
    config: Annotated[
        Path | None, Opt("--config", help="TOML file with these settings; flags override it.")
    ] = None,
    quiet: Annotated[bool, Opt("--quiet", help="No progress bar or summary.")] = False,
) -> None:
    """Train a DDPG agent on ENV_ID and write a run directory (see docs/training.md)."""
    flags = {
        "total_steps": total_steps,
        "seed": seed,
        "noise": noise,
        "noise_sigma": noise_sigma,
        "normalize_obs": normalize_obs,
        "action_bound": action_bound,
        "learning_starts": learning_starts,
        "batch_size": batch_size,
        "hidden_sizes": hidden_sizes,
        "lr_actor": lr_actor,
        "lr_critic": lr_critic,
        "gamma": gamma,
        "tau": tau,
        "buffer_size": buffer_size,
        "eval_every": eval_every,
        "eval_episodes": eval_episodes,
        "checkpoint_every": checkpoint_every,
        "save_buffer": save_buffer,
        "device": device,
        "compile": compile,
    }
    overrides: dict[str, Any] = load_config_file(config) if config is not None else {}
    overrides.update({k: v for k, v in flags.items() if v is not None})

    from ddpg_robot import trainer  # heavy (torch, mujoco): imported only when training

    reporter = None if quiet else make_reporter()
    if resume:
        if run_dir is None:
            raise ConfigError("--resume needs --run-dir DIR, the run to continue")
        overrides.pop("env_id", None)
        run = trainer.resume(run_dir, overrides, env_id=env_id, reporter=reporter)
    else:
        run = trainer.start(resolve_config(env_id, overrides), run_dir, reporter=reporter)
    if not quiet:
        typer.echo(
            f"training {run.config.env_id} in {run.run_dir} "
            f"({run.config.total_steps:,} steps, from step {run.step:,})"
        )
    try:
        result = run.run()
    finally:
        if reporter is not None:
            reporter.close()
    if not quiet:
        best = (
            f"{result.best_eval:.1f} at step {result.best_eval_step:,}"
            if result.best_eval is not None
            else "no evaluation (--eval-every 0)"
        )
        compiled = (
            f" (update compiled in {result.compile_seconds:.1f} s)"
            if result.compile_seconds is not None
            else ""
        )
        typer.echo(
            f"done: {result.steps:,} steps in {result.wall_time / 60:.1f} min; "
            f"best eval return {best}{compiled}\nrun dir: {result.run_dir}"
        )
    sys.stdout.flush()
