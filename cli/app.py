"""Typer application behind the `ddpg-robot` console script.

Each command parses its options, calls the library and prints. User errors
(`DDPGRobotError`) become one line on stderr and exit code 2; no algorithm code lives here.
"""

from __future__ import annotations

import errno
import sys
from importlib import metadata

import typer
from ddpg_robot.cli.bench import bench_app
from ddpg_robot.cli.evaluate import evaluate
from ddpg_robot.cli.export import export
from ddpg_robot.cli.plot import plot
from ddpg_robot.cli.run import run
from ddpg_robot.cli.sweep import sweep
from ddpg_robot.cli.train import train

from ddpg_robot.errors import DDPGRobotError

app = typer.Typer(
    name="ddpg-robot",
    help="Train DDPG policies for MuJoCo robots and ship them as ONNX controllers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Train DDPG policies for MuJoCo robots and ship them as ONNX controllers."""


app.command(no_args_is_help=True)(train)
app.command(no_args_is_help=True)(export)
app.command("eval", no_args_is_help=True)(evaluate)
app.command(no_args_is_help=True)(run)
app.command(no_args_is_help=True)(plot)
app.command(no_args_is_help=True)(sweep)
app.add_typer(bench_app, name="bench")


@app.command()
def version() -> None:
    """Print the versions of ddpg-robot and the libraries it runs on (for bug reports)."""
    for dist in ("ddpg-robot", "torch", "mujoco", "gymnasium", "onnx", "onnxruntime", "numpy"):
        try:
            typer.echo(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            typer.echo(f"{dist} (not installed)")


FILE_SYSTEM_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
"""What the machine, not the code, can get wrong while a command writes files."""


def main() -> None:
    """Console-script entry point: run the app, turning user errors into one clear line."""
    try:
        app()
    except DDPGRobotError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        if exc.errno not in FILE_SYSTEM_ERRORS:
            raise
        where = f" while writing {exc.filename}" if exc.filename else ""
        typer.echo(
            f"error: {exc.strerror.lower()}{where}; files already written are intact (a "
            "training run continues with --resume once the cause is fixed)",
            err=True,
        )
        sys.exit(2)
