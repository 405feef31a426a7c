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
    return, against steps; seeds of one config as mean and spread. Prints a results table:
    per config, the final and best deterministic evaluation over its seeds."""
    from ddpg_robot.tools.plot import load_run, plot_runs, summarize_groups

    typer.echo(f"wrote {plot_runs(run_dirs, output, smooth=smooth)}")
    table = summarize_groups([load_run(d) for d in run_dirs])
    width = max([len("config")] + [len(row.label) for row in table])
    typer.echo(f"{'config':<{width}}  seeds  {'steps':>9}  final eval (mean ± std)  "
               "best eval  critic bias  wall time")  # fmt: skip
    for row in table:
        final = f"{row.final_mean:.1f} ± {row.final_std:.1f}"
        bias = "-" if row.final_bias is None else f"{row.final_bias:+.1f}"
        typer.echo(f"{row.label:<{width}}  {row.seeds:>5}  {row.steps:>9,}  {final:>23}  "
                   f"{row.best_mean:>9.1f}  {bias:>11}  {row.wall_hours:>7.2f} h")  # fmt: skip
