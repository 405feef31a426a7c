"""`ddpg-robot bench ...`: benchmarks that print figures (tests never assert timings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(
    help="Benchmarks that print figures measured on this machine.", no_args_is_help=True
)


@bench_app.command("latency")
def latency(
    model: Annotated[Path, typer.Argument(help="An exported .onnx policy.")],
    calls: Annotated[int, typer.Option(help="Timed calls per contender (>= 10,000).")] = 10_000,
    warmup: Annotated[int, typer.Option(help="Untimed calls first.")] = 1_000,
) -> None:
    """Batch-1 act() latency beside bare onnxruntime and torch eager; import time and RSS."""
    from ddpg_robot.bench_latency import measure_latency, process_footprint
    from ddpg_robot.evaluation import load_controller

    load_controller(model)  # one-line errors for a missing or foreign file
    figures = measure_latency(model, calls=calls, warmup=warmup)
    typer.echo(
        f"batch-1 latency over {figures[0].calls:,} calls each, 1 thread, interleaved rounds:"
    )
    typer.echo(f"  {'':22s} {'p50 us':>8s} {'p99 us':>8s} {'max us':>9s}")
    for f in figures:
        typer.echo(f"  {f.name:22s} {f.p50_us:8.1f} {f.p99_us:8.1f} {f.max_us:9.1f}")
    by_name = {f.name: f for f in figures}
    ratio = by_name["Controller.act"].p50_us / by_name["InferenceSession.run"].p50_us
    typer.echo(f"  median ratio Controller.act / InferenceSession.run: {ratio:.2f}")
    for name, fig in process_footprint(model).items():
        typer.echo(
            f"process {name}: import {fig['import_s'] * 1e3:.0f} ms, peak RSS "
            f"{fig['peak_rss_mb']:.0f} MB, torch loaded: {fig['torch_loaded']}"
        )
