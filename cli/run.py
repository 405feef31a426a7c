"""`ddpg-robot run MODEL [--env ENV_ID] [--realtime]`: drive a MuJoCo env with the runtime."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer


def run(
    model: Annotated[Path, typer.Argument(help="An exported .onnx policy.")],
    env: Annotated[
        str | None,
        typer.Option("--env", help="Gymnasium id to drive (default: the one it was trained in)."),
    ] = None,
    env_kwargs: Annotated[
        str | None,
        typer.Option(
            help="Keyword arguments for the env, as a JSON object (default: those it was "
            "trained with, when it is that env)."
        ),
    ] = None,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="Pace to the policy's control_dt (or --hz).")
    ] = False,
    hz: Annotated[float | None, typer.Option(help="Override the control rate (Hz).")] = None,
    steps: Annotated[int, typer.Option(help="Stop after this many steps.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the env.")] = 0,
) -> None:
    """Run a policy in a control loop, as a robot stack would, and report step latency."""
    import math

    import numpy as np

    from ddpg_robot.config import parse_env_kwargs
    from ddpg_robot.control_loop import ControlLoop
    from ddpg_robot.envs import make_env
    from ddpg_robot.errors import DDPGRobotError, EnvError
    from ddpg_robot.evaluation import check_interface
    from ddpg_robot.policy_source import choose_env, controller_policy, load_controller

    if steps <= 0:
        raise DDPGRobotError(f"--steps must be a positive integer, got {steps}")
    if hz is not None and not (math.isfinite(hz) and hz > 0):
        raise DDPGRobotError(f"--hz must be a positive number of control steps a second, got {hz}")
    kwargs = parse_env_kwargs(env_kwargs) if env_kwargs is not None else None
    controller = load_controller(model)
    policy = controller_policy(controller)
    env, kwargs = choose_env(policy, env, kwargs, model)
    sim = make_env(env, seed=seed, **kwargs)
    try:
        check_interface(sim, env, policy)
    except DDPGRobotError:
        sim.close()
        raise
    state = {"obs": sim.reset()[0], "return": 0.0, "episodes": 0, "returns": [], "step": 0}

    def read_obs():
        if not np.isfinite(state["obs"]).all():
            raise EnvError(f"{env} returned a non-finite observation at step {state['step']}")
        return state["obs"]

    def write_action(action):
        state["step"] += 1
        obs, reward, terminated, truncated, _ = sim.step(action)
        state["return"] += float(reward)
        if terminated or truncated:
            state["returns"].append(state["return"])
            state["return"] = 0.0
            obs, _ = sim.reset()
        state["obs"] = obs

    rate = hz if hz is not None else (None if realtime else float("inf"))
    try:
        loop = ControlLoop(controller, read_obs, write_action, hz=rate)
    except ValueError as exc:
        raise DDPGRobotError(str(exc)) from None
    previous = signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    try:
        stats = loop.run(max_steps=steps)
    finally:
        signal.signal(signal.SIGTERM, previous)
        sim.close()
    typer.echo(stats.summary())
    finished = state["returns"]
    if finished:
        typer.echo(
            f"{len(finished)} finished episodes, mean return {sum(finished) / len(finished):.2f}"
        )
    typer.echo(
        f"controller: {controller.stats['calls']} act() calls, {controller.stats['held']} held"
    )
