"""Learning curves from run directories: episode and evaluation returns against env steps,
and the critic's estimate Q(s, mu(s)) against the discounted return the evaluations realized.

Runs whose configs differ only in their seed are one group, drawn as the mean across seeds
with a band from min to max; a group of one run is drawn as its own line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddpg_robot.atomic import atomic_path
from ddpg_robot.config import TrainConfig, preset_for, with_newer_settings
from ddpg_robot.errors import DDPGRobotError
from ddpg_robot.logger import read_metrics

# Settings that name a run rather than change what it learns.
_NOT_CONFIG = {"seed", "total_steps", "eval_every", "eval_episodes", "checkpoint_every",
               "save_buffer", "device"}  # fmt: skip


class PlotError(DDPGRobotError):
    """A run directory cannot be plotted."""


@dataclass
class RunCurves:
    run_dir: Path
    config: dict
    episode_steps: np.ndarray
    episode_returns: np.ndarray
    eval_steps: np.ndarray
    eval_means: np.ndarray
    eval_stds: np.ndarray
    # Evaluations that measured the critic's bias (none in a metrics.csv from before it was
    # logged, or where no state qualified): steps, mean Q(s, mu(s)), mean realized return.
    bias_steps: np.ndarray
    q_estimates: np.ndarray
    q_realized: np.ndarray
    wall_time: float  # seconds, at the run's last row (earlier sessions of a resumed run included)


def load_run(run_dir: str | Path) -> RunCurves:
    """Read `metrics.csv` and `config.json` of one run dir."""
    run_dir = Path(run_dir)
    metrics, config_file = run_dir / "metrics.csv", run_dir / "config.json"
    if not metrics.is_file() or not config_file.is_file():
        raise PlotError(f"{run_dir} is not a ddpg-robot run dir (no metrics.csv/config.json)")
    try:
        rows = read_metrics(metrics)
        config = json.loads(config_file.read_text())
        if not isinstance(config, dict):
            raise ValueError(f"config.json holds a {type(config).__name__}, not settings")
        config = with_newer_settings(config)
        episodes = [r for r in rows if r.get("episode_return")]
        evals = [r for r in rows if r.get("eval_return_mean")]
        biased = [r for r in evals if r.get("q_estimate")]
        return RunCurves(
            run_dir=run_dir,
            config=config,
            episode_steps=np.array([int(r["step"]) for r in episodes]),
            episode_returns=np.array([float(r["episode_return"]) for r in episodes]),
            eval_steps=np.array([int(r["step"]) for r in evals]),
            eval_means=np.array([float(r["eval_return_mean"]) for r in evals]),
            eval_stds=np.array([float(r["eval_return_std"] or 0.0) for r in evals]),
            bias_steps=np.array([int(r["step"]) for r in biased]),
            q_estimates=np.array([float(r["q_estimate"]) for r in biased]),
            q_realized=np.array([float(r["q_realized"]) for r in biased]),
            wall_time=float(rows[-1]["wall_time"] or 0.0) if rows else 0.0,
        )
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise PlotError(f"{run_dir}: unreadable metrics or config ({exc})") from None


def group_runs(runs: Sequence[RunCurves]) -> dict[str, list[RunCurves]]:
    """Runs keyed by a label of what distinguishes their configs (seed aside).

    Of the settings that differ between the runs, a label names those where its run leaves
    the env's defaults (generic ones and its preset): `n_step=3`; a run at them all is
    `defaults` (`preset` where the env has one). Seeds of one config are named by their env.
    """
    keys = [{k: v for k, v in r.config.items() if k not in _NOT_CONFIG} for r in runs]
    varying = sorted({k for key in keys for k in key if any(o.get(k) != key.get(k) for o in keys)})
    several_envs = len({r.config.get("env_id") for r in runs}) > 1
    groups: dict[str, list[RunCurves]] = {}
    for run, key in zip(runs, keys):
        env_id = str(key.get("env_id"))
        label = ", ".join(f"{k}={key.get(k)}" for k in _departures(env_id, key, varying))
        if not label and [k for k in varying if k != "env_id"]:
            label = "preset" if preset_for(env_id) else "defaults"
        if several_envs or not label:
            label = f"{env_id} {label}".strip()
        groups.setdefault(label, []).append(run)
    return groups


def _departures(env_id: str, key: dict, varying: Sequence[str]) -> list[str]:
    """The settings among `varying` where `key` differs from what `env_id` trains with by
    default (the generic defaults and its preset)."""
    baseline = {**TrainConfig().to_dict(), **preset_for(env_id)}
    return [k for k in varying if k != "env_id" and key.get(k) != baseline.get(k)]


@dataclass
class GroupSummary:
    """One row of a results table: a config's seeds at their last evaluation."""

    label: str
    seeds: int
    steps: int  # the fewest steps any seed has reached (they are compared there)
    final_mean: float  # each seed's last deterministic evaluation, mean over seeds
    final_std: float  # ... and its standard deviation over seeds
    best_mean: float  # each seed's best evaluation once learning started, mean over seeds
    final_bias: float | None  # the critic's bias at each seed's last evaluation, mean
    wall_hours: float  # wall time per seed, mean


def summarize_groups(runs: Sequence[RunCurves]) -> list[GroupSummary]:
    """Per group of seeds (`group_runs`): final and best evaluation and the final critic
    bias, over the seeds that evaluated at least once."""
    table = []
    for label, group in group_runs(runs).items():
        done = [r for r in group if len(r.eval_means)]
        if not done:
            continue
        final = np.array([r.eval_means[-1] for r in done])
        biases = [r.q_estimates[-1] - r.q_realized[-1] for r in done
                  if len(r.bias_steps) and r.bias_steps[-1] == r.eval_steps[-1]]  # fmt: skip
        table.append(GroupSummary(
            label=label, seeds=len(done), steps=int(min(r.eval_steps[-1] for r in done)),
            final_mean=float(final.mean()), final_std=float(final.std()),
            best_mean=float(np.mean([_best_eval(r) for r in done])),
            final_bias=float(np.mean(biases)) if biases else None,
            wall_hours=float(np.mean([r.wall_time for r in done])) / 3600,
        ))  # fmt: skip
    return table


def _best_eval(run: RunCurves) -> float:
    """The run's highest evaluation after its first update, as for best.pt: an untrained
    actor can outscore a learning one (an Ant standing still) and is not what a run reached."""
    learned = run.eval_steps > int(run.config.get("learning_starts", 0))
    return float(run.eval_means[learned].max()) if learned.any() else float("nan")


def plot_runs(run_dirs: Sequence[str | Path], out: str | Path, *, smooth: int = 10) -> Path:
    """Write a PNG: episode returns (smoothed over `smooth` episodes), evaluations, and the
    critic's estimate (solid) against the realized discounted return (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    out = Path(out)
    if out.is_dir():
        raise PlotError(f"-o {out} is a folder; give a file name such as {out / 'curve.png'}")
    if not out.parent.is_dir():
        raise PlotError(f"output folder {out.parent} does not exist")
    formats = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if out.suffix.lstrip(".").lower() not in formats:
        raise PlotError(
            f"-o {out}: cannot write a {out.suffix or 'suffix-less'} file; end the name in "
            f"one of {', '.join('.' + f for f in sorted(formats))}"
        )
    runs = [load_run(d) for d in run_dirs]
    if not runs:
        raise PlotError("give at least one run dir")
    fig, (ax_train, ax_eval, ax_bias) = plt.subplots(1, 3, figsize=(17, 4.5))
    ax_eval.sharey(ax_train)  # undiscounted returns; the bias panel is in discounted units
    for color, (label, group) in zip(_colors(), group_runs(runs).items()):
        seeds = f" ({len(group)} seeds)" if len(group) > 1 else ""
        curves = [(r.episode_steps, _moving_average(r.episode_returns, smooth)) for r in group]
        _draw(ax_train, curves, color, label + seeds)
        _draw(ax_eval, [(r.eval_steps, r.eval_means) for r in group], color, label + seeds,
              marker="o", single_std=group[0].eval_stds if len(group) == 1 else None)  # fmt: skip
        _draw(ax_bias, [(r.bias_steps, r.q_estimates) for r in group], color, None, marker="o")
        _draw(ax_bias, [(r.bias_steps, r.q_realized) for r in group], color, None, marker="o",
              linestyle="--")  # fmt: skip
    env_ids = sorted({str(r.config.get("env_id")) for r in runs})
    ax_train.set_title(f"training episodes (moving average of {smooth})")
    ax_eval.set_title("deterministic evaluation")
    ax_bias.set_title("critic's bias at evaluation")
    for ax in (ax_train, ax_eval, ax_bias):
        ax.set_xlabel("env steps")
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 200k, 1M: long runs' ticks fit
        ax.grid(alpha=0.3)
    if not any(len(r.bias_steps) for r in runs):
        ax_bias.text(0.5, 0.5, "not measured: every evaluation episode was cut\n"
                     "before the discount's horizon (docs/algorithm.md)",
                     ha="center", va="center", transform=ax_bias.transAxes)  # fmt: skip
        ax_bias.set_xticks([])
        ax_bias.set_yticks([])
    ax_train.set_ylabel("return")
    ax_bias.set_ylabel("discounted return")
    ax_bias.plot([], [], color="k", label="critic: Q(s, mu(s))")  # the legend names the styles
    ax_bias.plot([], [], color="k", linestyle="--", label="realized")
    ax_bias.legend(loc="best", fontsize="small")
    handles, labels = next(
        (ax.get_legend_handles_labels() for ax in (ax_eval, ax_train)
         if ax.get_legend_handles_labels()[0]), ([], []),
    )  # fmt: skip
    fig.suptitle(", ".join(env_ids))
    if handles:  # below the panels: a config's label can be long, and hides no curve there
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 2),
                   fontsize="small", frameon=False)  # fmt: skip
    fig.tight_layout(rect=(0, 0.06 * ((len(labels) + 1) // 2), 1, 1))
    with atomic_path(out) as tmp:  # a full disk leaves no half-written image behind
        fig.savefig(tmp, dpi=110, format=out.suffix.lstrip(".").lower())
    plt.close(fig)
    return out


def _draw(ax, curves, color, label, *, marker=None, single_std=None, linestyle="-") -> None:
    curves = [(x, y) for x, y in curves if len(x)]
    if not curves:
        return
    if len(curves) == 1:
        x, y = curves[0]
        ax.plot(x, y, color=color, label=label, marker=marker, markersize=3, linestyle=linestyle)
        if single_std is not None and len(single_std) == len(y):
            ax.fill_between(x, y - single_std, y + single_std, color=color, alpha=0.2)
        return
    end = min(x[-1] for x, _ in curves)
    grid = np.linspace(max(x[0] for x, _ in curves), end, 200)
    ys = np.stack([np.interp(grid, x, y) for x, y in curves])
    ax.plot(grid, ys.mean(0), color=color, label=label, linestyle=linestyle)
    ax.fill_between(grid, ys.min(0), ys.max(0), color=color, alpha=0.2)


def _moving_average(y: np.ndarray, window: int) -> np.ndarray:
    if len(y) == 0 or window <= 1:
        return y
    cumsum = np.cumsum(np.insert(y, 0, 0.0))
    counts = np.minimum(np.arange(1, len(y) + 1), window)
    return (cumsum[1:] - cumsum[np.maximum(np.arange(1, len(y) + 1) - window, 0)]) / counts


def _colors():
    return iter(["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"] * 10)
