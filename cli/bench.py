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
    calls: Annotated[
        int, typer.Option(help="Timed calls per contender (10,000 or more for a stable p99).")
    ] = 10_000,
    warmup: Annotated[int, typer.Option(help="Untimed calls first.")] = 1_000,
) -> None:
    """Batch-1 act() latency beside bare onnxruntime and torch eager, the cost of each opt-in
    guard (rate limit, watchdog) when on; import time and RSS."""
    from ddpg_robot.errors import DDPGRobotError
    from ddpg_robot.evaluation import load_controller
    from ddpg_robot.tools.bench_latency import measure_latency, process_footprint

    if calls < 1 or warmup < 0:
        raise DDPGRobotError(
            f"--calls must be at least 1 and --warmup at least 0 ({calls}, {warmup})"
        )
    load_controller(model)  # one-line errors for a missing or foreign file
    figures = measure_latency(model, calls=calls, warmup=warmup)
    typer.echo(
        f"batch-1 latency over {figures[0].calls:,} calls each, 1 thread, interleaved rounds:"
    )
    typer.echo(f"  {'':22s} {'p50 us':>8s} {'p99 us':>8s} {'max us':>9s}")
    for f in figures:
        note = f"   ({f.note})" if f.note else ""
        typer.echo(f"  {f.name:22s} {f.p50_us:8.1f} {f.p99_us:8.1f} {f.max_us:9.1f}{note}")
    by_name = {f.name: f for f in figures}
    plain = by_name["Controller.act"].p50_us
    ratio = plain / by_name["InferenceSession.run"].p50_us
    typer.echo(f"  median ratio Controller.act / InferenceSession.run: {ratio:.2f}")
    for name in ("act + rate limit", "act + watchdog", "act + both"):
        guarded = by_name[name].p50_us
        typer.echo(
            f"  guard cost, {name[len('act + ') :]}: median {guarded - plain:+.1f} us "
            f"({guarded / plain:.2f}x Controller.act)"
        )
    for name, fig in process_footprint(model).items():
        typer.echo(
            f"process {name}: import {fig['import_s'] * 1e3:.0f} ms, peak RSS "
            f"{fig['peak_rss_mb']:.0f} MB, torch loaded: {fig['torch_loaded']}"
        )


@bench_app.command("train")
def train_bench(
    env_id: Annotated[str, typer.Argument(help="Gymnasium id.")] = "HalfCheetah-v4",
    rounds: Annotated[int, typer.Option(help="A/B pairs of whole runs.")] = 3,
    updating_steps: Annotated[int, typer.Option(help="Updating steps per run.")] = 5_000,
    random_steps: Annotated[int, typer.Option(help="Random steps per run.")] = 1_000,
    compile: Annotated[
        bool,
        typer.Option(
            "--compile/--no-compile",
            help="Time ddpg-robot train with its update compiled (--no-compile: eager).",
        ),
    ] = True,
    fresh_processes: Annotated[
        bool,
        typer.Option(
            "--fresh-processes/--same-process",
            help="Each whole run in a new Python process, as one command pays it (default), "
            "or all in this one (later rounds then find imports and compiled code warm).",
        ),
    ] = True,
) -> None:
    """`ddpg-robot train` vs a plain CleanRL-style loop: whole-run times, alternating A B."""
    import statistics

    from ddpg_robot.errors import DDPGRobotError
    from ddpg_robot.tools import bench_train as bt

    if rounds < 1 or updating_steps < 1 or random_steps < 0:
        raise DDPGRobotError(
            "--rounds and --updating-steps must be at least 1 and --random-steps at least 0"
        )

    bt.make_env(env_id, seed=0).close()  # a bad env id: one line here, not in a child
    settings = bt.BenchSettings(env_id=env_id, random_steps=random_steps,
                                updating_steps=updating_steps, compile=compile)  # fmt: skip
    typer.echo(
        f"{env_id}: batch {settings.batch_size}, {settings.hidden_sizes} nets, Gaussian "
        f"{settings.noise_sigma}, {random_steps:,} random + {updating_steps:,} updating steps; "
        f"torch {bt.torch.__version__}, {bt.torch.get_num_threads()} threads; "
        + ("each run in a fresh process" if fresh_processes else "all runs in this process")
    )
    timed_run = bt.run_in_fresh_process if fresh_processes else bt.timed_run
    ref_times, pkg_times = [], []
    for r in range(rounds):
        ref_times.append(timed_run("reference", settings)[0])
        pkg_time, compile_seconds = timed_run("package", settings)
        pkg_times.append(pkg_time)
        ratio = ref_times[-1] / pkg_times[-1]
        compiling = (
            f" (compiling {compile_seconds:.1f} s of it)" if compile_seconds is not None else ""
        )
        typer.echo(
            f"  round {r + 1}: reference {ref_times[-1]:6.1f} s   "
            f"ddpg-robot train {pkg_times[-1]:6.1f} s{compiling}   ratio {ratio:.2f}"
        )
    ratios = [a / b for a, b in zip(ref_times, pkg_times)]
    total = random_steps + updating_steps
    typer.echo(
        f"median whole-run time: reference {statistics.median(ref_times):.1f} s "
        f"({total / statistics.median(ref_times):.0f} sps), ddpg-robot train "
        f"{statistics.median(pkg_times):.1f} s ({total / statistics.median(pkg_times):.0f} sps); "
        f"median ratio {statistics.median(ratios):.2f}x"
    )
    for name, rate in bt.learner_updates_per_second(settings).items():
        typer.echo(f"{name} alone: {rate:.0f} updates/s ({1e3 / rate:.2f} ms per update)")
    typer.echo(f"env alone: {bt.env_steps_per_second(settings):.0f} steps/s")
    flops = bt.update_flops(settings)
    typer.echo(
        f"one update: {flops['update_mflop']:.0f} MFLOP; large matmul {flops['matmul_gflops']:.0f} "
        f"GFLOP/s on this machine, a floor of {flops['floor_ms']:.2f} ms per update"
    )
