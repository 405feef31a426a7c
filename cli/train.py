"""`ddpg-robot train ENV_ID`: parse options, resolve the config, run the trainer, summarise.

Every `TrainConfig` field is an option, generated here from the dataclass: its name as the
flag, its docstring as the help, its type as the option's type. A new setting is written
once, in ddpg_robot/config.py. Options left out fall back to the env's preset, then to the
field's default (`resolve_config`).
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from ddpg_robot.cli.progress import make_reporter

from ddpg_robot.config import PRESETS, TrainConfig, field_docs, load_config_file, resolve_config
from ddpg_robot.errors import ConfigError

NOT_OPTIONS = ("env_id",)
"""Config fields the command takes otherwise (ENV_ID is its argument)."""


def train(
    env_id: str,
    run_dir: Path | None = None,
    resume: bool = False,
    config: Path | None = None,
    quiet: bool = False,
    **settings: Any,
) -> None:
    """Train a DDPG agent on ENV_ID and write a run directory (see docs/training.md)."""
    overrides: dict[str, Any] = load_config_file(config) if config is not None else {}
    if overrides.get("env_id", env_id) != env_id:
        raise ConfigError(
            f"{config} sets env_id {overrides['env_id']!r} but the command trains {env_id!r}; "
            "remove env_id from the file or make the two agree"
        )
    overrides.pop("env_id", None)
    overrides.update({k: v for k, v in settings.items() if v is not None})

    from ddpg_robot import runs  # heavy (torch, mujoco): imported only when training

    reporter = None if quiet else make_reporter()
    if resume:
        if run_dir is None:
            raise ConfigError("--resume needs --run-dir DIR, the run to continue")
        run = runs.resume(run_dir, overrides, env_id=env_id, reporter=reporter)
        for change in run.changes:  # said even with --quiet: the run's config changed
            typer.echo(f"resuming with {change}", err=True)
    else:
        config = resolve_config(env_id, overrides).check_learns()
        run = runs.start(config, run_dir, reporter=reporter)
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


def _config_options() -> list[inspect.Parameter]:
    """One keyword parameter per TrainConfig field, annotated as a typer option."""
    docs = field_docs(TrainConfig)
    preset_fields = {name for preset in PRESETS.values() for name in preset}
    options = []
    for field in dataclasses.fields(TrainConfig):
        if field.name in NOT_OPTIONS:
            continue
        flag = "--" + field.name.replace("_", "-")
        default = field.default
        if default is dataclasses.MISSING:  # a mutable default (env_kwargs' {})
            default = field.default_factory()  # type: ignore[misc]
        # Anything but a number or a flag is text on the command line: lists as 256,256,
        # objects as JSON; resolve_config parses both.
        kind: type = {"int": int, "float": float, "bool": bool}.get(str(field.type), str)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        preset = ", or the env's preset" if field.name in preset_fields else ""
        help_text = f"{docs.get(field.name, '')} Default: {shown}{preset}."
        decls = (f"{flag}/--no-{flag[2:]}",) if kind is bool else (flag,)
        option = typer.Option(*decls, help=help_text, show_default=False)
        options.append(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[kind | None, option],
            )
        )
    return options


def _command_parameters() -> list[inspect.Parameter]:
    """ENV_ID, the generated config options, then the options of the command itself."""
    keyword = inspect.Parameter.KEYWORD_ONLY

    def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(name, keyword, default=default, annotation=annotation)

    return [
        inspect.Parameter(
            "env_id",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help="Gymnasium id, e.g. HalfCheetah-v4.")],
        ),
        *_config_options(),
        option(
            "run_dir",
            Annotated[
                Path | None, typer.Option(help="Run directory (default runs/ENV-TIME-sSEED).")
            ],
            None,
        ),  # fmt: skip
        option(
            "resume",
            Annotated[bool, typer.Option("--resume", help="Continue the run in --run-dir.")],
            False,
        ),  # fmt: skip
        option(
            "config",
            Annotated[
                Path | None,
                typer.Option("--config", help="TOML file with these settings; flags override it."),
            ],
            None,
        ),  # fmt: skip
        option(
            "quiet",
            Annotated[bool, typer.Option("--quiet", help="No progress bar or summary.")],
            False,
        ),  # fmt: skip
    ]


train.__signature__ = inspect.Signature(_command_parameters())  # type: ignore[attr-defined]
train.__annotations__ = {p.name: p.annotation for p in train.__signature__.parameters.values()}  # type: ignore[attr-defined]
