"""`ddpg-robot eval MODEL [--env ENV_ID]`: deterministic returns of an ONNX policy or checkpoint,
optionally through action latency and observation or action noise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

ENV_HELP = "Gymnasium id to evaluate on (default: the env the policy was trained in)."
ENV_KWARGS_HELP = (
    "Keyword arguments for the env, as a JSON object (default: those it was trained with, "
    "when it is that env)."
)


def evaluate(
    model: Annotated[Path, typer.Argument(help="A .onnx policy, a run dir or a .pt checkpoint.")],
    env: Annotated[str | None, typer.Option("--env", help=ENV_HELP)] = None,
    env_kwargs: Annotated[str | None, typer.Option(help=ENV_KWARGS_HELP)] = None,
    episodes: Annotated[int, typer.Option(help="Number of episodes.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the evaluation env and of the noise.")] = 0,
    video: Annotated[
        Path | None, typer.Option(help="Write an MP4 of the first episode here.")
    ] = None,
    latency: Annotated[
        int,
        typer.Option(
            help="Execute the action computed from each observation this many control periods "
            "later (the bounds' midpoint until the first arrives)."
        ),
    ] = 0,
    obs_noise: Annotated[
        float,
        typer.Option(
            help="Gaussian noise on what the policy sees, as a fraction of each entry's running "
            "std over this evaluation (0.01 = 1 %)."
        ),
    ] = 0.0,
    action_noise: Annotated[
        float,
        typer.Option(
            help="Gaussian noise on the executed action, as a fraction of its half-range, "
            "clipped to the bounds."
        ),
    ] = 0.0,
) -> None:
    """Run a policy without exploration noise and print its mean +- std return."""
    from ddpg_robot.config import parse_env_kwargs
    from ddpg_robot.perturbation import Perturbation

    kwargs = parse_env_kwargs(env_kwargs) if env_kwargs is not None else None
    perturbation = Perturbation(latency, obs_noise, action_noise)  # one line if a value is bad
    if video is not None:
        # MuJoCo picks its GL backend at import: EGL renders offscreen with no display.
        os.environ.setdefault("MUJOCO_GL", "egl")
    from ddpg_robot.evaluation import evaluate_model

    result = evaluate_model(model, env, env_kwargs=kwargs, episodes=episodes, seed=seed,
                            video=video, perturbation=perturbation)  # fmt: skip
    perturbed = f", {perturbation.describe()}" if perturbation.active else ""
    typer.echo(
        f"{result.env_id}: return {result.returns.mean():.2f} +- {result.returns.std():.2f} "
        f"over {episodes} episodes (seed {seed}, {result.kind} policy{perturbed})"
    )
    typer.echo(result.describe_episodes())
    if video is not None:
        typer.echo(f"video of episode 1: {video}")
