"""`ddpg-robot sweep ENV_ID`: seeds x grid as Ray tasks, one train run each (docs/sweeps.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer


def sweep(
    env_id: Annotated[str, typer.Argument(help="Gymnasium id, e.g. Hopper-v4.")],
    seeds: Annotated[int, typer.Option(help="Seeds per configuration (0 .. N-1).")] = 5,
    grid: Annotated[
        list[str] | None,
        typer.Option(help="key=v1,v2 (repeatable); hidden sizes as 64-64."),
    ] = None,
    total_steps: Annotated[int | None, typer.Option(help="Env steps per trial.")] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML with settings shared by every trial.")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address; default: a local Ray.")
    ] = None,
    cpus_per_trial: Annotated[float, typer.Option(help="CPUs Ray reserves per trial.")] = 1.0,
    out: Annotated[
        Path | None, typer.Option(help="Sweep folder (default sweeps/ENV-TIME); reuse to resume.")
    ] = None,
) -> None:
    """Run every (config, seed) as its own training run on Ray; summary.csv and curves.png."""
    from ddpg_robot.config import load_config_file
    from ddpg_robot.envs import make_env
    from ddpg_robot.tools.sweep import SweepError, aggregate_by_config, parse_grid, run_sweep

    make_env(env_id).close()  # a bad env id: one line here, before Ray starts
    base = load_config_file(config) if config is not None else {}
    if total_steps is not None:
        base["total_steps"] = total_steps
    base.pop("env_id", None)
    base.pop("seed", None)
    out = out or Path("sweeps") / f"{env_id}-{datetime.now():%Y%m%d-%H%M%S}"
    rows = run_sweep(env_id, seeds=seeds, grid=parse_grid(grid or []), out=out, base=base,
                     address=address, cpus_per_trial=cpus_per_trial, log=typer.echo)  # fmt: skip
    failed = [r for r in rows if r["status"] != "ok"]
    _print_table(aggregate_by_config(rows))
    typer.echo(
        f"summary: {out / 'summary.csv'} ({len(rows) - len(failed)} ok, {len(failed)} failed)"
    )
    if (out / "curves.png").exists():
        typer.echo(f"curves: {out / 'curves.png'}")
    if failed:
        raise SweepError(
            f"{len(failed)} of {len(rows)} trials failed (first: {failed[0]['error']}); "
            f"see {out / 'summary.csv'}"
        )


def _print_table(table: list[dict]) -> None:
    """One line per configuration: finished seeds, final/best eval return, saturation, and
    the critic's final bias (Q - realized discounted return)."""
    width = max([len("config")] + [len(row["config"]) for row in table])
    typer.echo(f"{'config':<{width}}  seeds  final eval (mean ± std)  best eval  saturation"
               "  critic bias")  # fmt: skip
    for row in table:
        if not row["seeds"]:
            typer.echo(f"{row['config']:<{width}}  {0:>5}  (no finished seed)")
            continue
        final = f"{row['final_mean']:.1f} ± {row['final_std']:.1f}"
        saturation = "-" if row["saturation_mean"] is None else f"{row['saturation_mean']:.3f}"
        q_bias = "-" if row["q_bias_mean"] is None else f"{row['q_bias_mean']:+.2f}"
        typer.echo(f"{row['config']:<{width}}  {row['seeds']:>5}  {final:>23}  "
                   f"{row['best_mean']:>9.1f}  {saturation:>10}  {q_bias:>11}")  # fmt: skip
