"""`ddpg-robot plot RUN_DIR... -o curve.png`: learning curves of one or more runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def plot(
    run_dirs: Annotated[list[Path], typer.Argument(help="One or more run dirs.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG to write.")] = Path(
        "curve.png"
    ),
    smooth: Annotated[int, typer.Option(help="Moving average over this many episodes.")] = 10,
) -> None:
    """Plot episode and evaluation returns, and the critic's estimate against the realized
    return, against steps; seeds of one config as mean and spread."""
    from ddpg_robot.tools.plot import plot_runs

    typer.echo(f"wrote {plot_runs(run_dirs, output, smooth=smooth)}")
