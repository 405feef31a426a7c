"""Many seeds and configurations as Ray tasks: one `ddpg-robot train` run per (config, seed).

Ray is an optional extra (`pip install "ddpg-robot[sweep]"`). With no address a local Ray
starts in-process; with `--address` the trials go to an existing cluster. Every trial has
its own run dir under the sweep's output folder, so a killed sweep resumes: finished trials
are skipped, unfinished ones continue from their last checkpoint.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import shutil
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ddpg_robot.config import TrainConfig, parse_hidden_sizes, resolve_config
from ddpg_robot.errors import ConfigError, DDPGRobotError

SUMMARY_COLUMNS = ("config", "seed", "status", "final_eval_return", "best_eval_return",
                   "final_eval_saturation", "final_q_bias", "steps", "wall_time_s", "run_dir",
                   "error")  # fmt: skip


class SweepError(DDPGRobotError):
    """Ray is missing, the cluster cannot be reached, or the sweep is misconfigured."""


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per planned trial
class Trial:
    label: str  # e.g. "lr_actor=0.001" ("defaults" for an empty grid)
    seed: int
    overrides: dict[str, Any]
    run_dir: Path


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """`["lr_actor=1e-3,1e-4", "hidden-sizes=64-64,256-256"]` -> typed value lists.

    Values are typed like the config field they set; hidden sizes use `-` between widths
    because `,` separates the values.
    """
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    grid: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--grid takes key=v1,v2,...; got {item!r}")
        key, _, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if key not in fields or key in ("env_id", "seed"):
            raise ConfigError(f"--grid: {key!r} is not a setting that can be swept")
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if not values:
            raise ConfigError(f"--grid {key}: no values given")
        grid[key] = [_typed(key, fields[key].type, v) for v in values]
    return grid


def plan_trials(
    env_id: str, grid: dict[str, list[Any]], seeds: int, base: dict[str, Any], out: Path
) -> list[Trial]:
    """The cross product of the grid, times `seeds` seeds; each config validated up front."""
    if seeds <= 0:
        raise ConfigError(f"--seeds must be a positive integer, got {seeds}")
    keys = sorted(grid)
    trials = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values))
        label = ",".join(f"{k}={_show(v)}" for k, v in point.items()) or "defaults"
        for seed in range(seeds):
            overrides = {**base, **point, "seed": seed}
            resolve_config(env_id, overrides).check_learns()  # fail fast on a bad grid value
            slug = label.replace("=", "-").replace(",", "_").replace("/", "_")
            trials.append(Trial(label, seed, overrides, out / "runs" / f"{slug}_s{seed}"))
    return trials


def trial_status(trial: Trial, total_steps: int | None) -> str:
    """'finished', 'resumable' (has a checkpoint) or 'new'."""
    done = trial.run_dir / "result.json"
    if done.is_file():
        result = json.loads(done.read_text())
        if result.get("status") == "ok" and (total_steps is None or result["steps"] >= total_steps):
            return "finished"
    if (trial.run_dir / "checkpoints" / "last.pt").is_file():
        return "resumable"
    return "new"


def run_trial(env_id: str, overrides: dict[str, Any], run_dir: str, threads: int) -> dict:
    """One trial inside a Ray worker: start or resume `ddpg-robot train`; never raises."""
    import torch

    from ddpg_robot import runs

    torch.set_num_threads(max(1, threads))
    run_path = Path(run_dir)
    started = time.perf_counter()
    try:
        if (run_path / "checkpoints" / "last.pt").is_file():
            # Resuming may only change the budget; the rest is in the checkpoint already.
            budget = {"total_steps": overrides["total_steps"]} if "total_steps" in overrides else {}
            run = runs.resume(run_path, budget, env_id=env_id)
        else:
            if run_path.exists():  # a trial killed before its first checkpoint: start over
                shutil.rmtree(run_path)
            run = runs.start(resolve_config(env_id, overrides), run_path)
        result = run.run()
        outcome = {
            "status": "ok",
            "steps": result.steps,
            "final_eval_return": result.last_eval,
            "best_eval_return": result.best_eval,
            "final_eval_saturation": _final_saturation(run_path),
            "final_q_bias": _final_q_bias(run_path),
            "wall_time_s": result.wall_time,
            "error": "",
        }
    except Exception as exc:  # a failing trial is reported, never takes the sweep down
        outcome = {
            "status": "failed",
            "steps": None,
            "final_eval_return": None,
            "best_eval_return": None,
            "wall_time_s": time.perf_counter() - started,
            "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300],
            "traceback": traceback.format_exc(limit=5),
        }
    run_path.mkdir(parents=True, exist_ok=True)
    (run_path / "result.json").write_text(json.dumps(outcome, indent=2) + "\n")
    return outcome


def run_sweep(
    env_id: str,
    *,
    seeds: int,
    grid: dict[str, list[Any]],
    out: Path,
    base: dict[str, Any],
    address: str | None = None,
    cpus_per_trial: float = 1.0,
    log=print,
) -> list[dict[str, Any]]:
    """Run every trial not yet finished on Ray; write summary.csv and curves.png in `out`."""
    ray = _import_ray()
    if cpus_per_trial <= 0:
        raise ConfigError(f"--cpus-per-trial must be positive, got {cpus_per_trial}")
    out.mkdir(parents=True, exist_ok=True)
    trials = plan_trials(env_id, grid, seeds, base, out)
    (out / "sweep.json").write_text(json.dumps(
        {"env_id": env_id, "seeds": seeds, "grid": grid, "base": base}, indent=2, default=str
    ) + "\n")  # fmt: skip
    total_steps = base.get("total_steps")
    statuses = {t: trial_status(t, total_steps) for t in trials}
    todo = [t for t in trials if statuses[t] != "finished"]
    log(f"{len(trials)} trials: {len(trials) - len(todo)} finished already (skipped), "
        f"{sum(s == 'resumable' for s in statuses.values())} to resume, "
        f"{sum(s == 'new' for s in statuses.values())} new")  # fmt: skip
    if todo:
        _init_ray(ray, address)
        try:
            remote = ray.remote(num_cpus=cpus_per_trial, max_retries=0)(run_trial)
            threads = max(1, int(cpus_per_trial))
            pending = {remote.remote(env_id, t.overrides, str(t.run_dir), threads): t for t in todo}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                trial = pending.pop(done[0])
                try:
                    outcome = ray.get(done[0])
                except Exception as exc:  # the worker itself died
                    outcome = {"status": "failed", "error": f"worker died: {exc}"[:300]}
                    trial.run_dir.mkdir(parents=True, exist_ok=True)
                    (trial.run_dir / "result.json").write_text(json.dumps(outcome) + "\n")
                log(f"  {trial.label} seed {trial.seed}: {_describe(outcome)}")
        finally:
            ray.shutdown()
    rows = write_summary(trials, out / "summary.csv")
    ok = [t.run_dir for t, r in zip(trials, rows) if r["status"] == "ok"]
    if ok:
        from ddpg_robot.tools.plot import plot_runs

        plot_runs(ok, out / "curves.png")
    return rows


def write_summary(trials: list[Trial], path: Path) -> list[dict[str, Any]]:
    rows = []
    for t in trials:
        result_file = t.run_dir / "result.json"
        result = json.loads(result_file.read_text()) if result_file.is_file() else {}
        rows.append({
            "config": t.label, "seed": t.seed, "status": result.get("status", "not run"),
            "final_eval_return": result.get("final_eval_return"),
            "best_eval_return": result.get("best_eval_return"),
            "final_eval_saturation": result.get("final_eval_saturation"),
            "final_q_bias": result.get("final_q_bias"),
            "steps": result.get("steps"),
            "wall_time_s": result.get("wall_time_s"), "run_dir": str(t.run_dir),
            "error": result.get("error", ""),
        })  # fmt: skip
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def aggregate_by_config(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration, over its finished seeds: mean and std of the final and best
    evaluation returns, the mean final saturation (share of action components at a bound)
    and the mean final critic bias (Q - realized return, in discounted return units; over
    the seeds that measured it). Configurations keep their order in `rows`; `seeds` counts
    the finished ones."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["config"], [])
        if row["status"] == "ok" and row["final_eval_return"] is not None:
            groups[row["config"]].append(row)
    table = []
    for config, ok in groups.items():
        final = np.array([r["final_eval_return"] for r in ok], dtype=float)
        best = np.array([r["best_eval_return"] for r in ok], dtype=float)
        saturation = [r["final_eval_saturation"] for r in ok]
        saturation = [value for value in saturation if value is not None]
        q_bias = [r.get("final_q_bias") for r in ok]
        q_bias = [value for value in q_bias if value is not None]
        table.append({
            "config": config, "seeds": len(ok),
            "final_mean": float(final.mean()) if len(ok) else None,
            "final_std": float(final.std()) if len(ok) else None,
            "best_mean": float(best.mean()) if len(ok) else None,
            "saturation_mean": float(np.mean(saturation)) if saturation else None,
            "q_bias_mean": float(np.mean(q_bias)) if q_bias else None,
        })  # fmt: skip
    return table


def _final_saturation(run_dir: Path) -> float | None:
    """Share of action components at a bound in the run's last evaluation (metrics.csv)."""
    from ddpg_robot.logger import read_metrics

    evals = [r for r in read_metrics(run_dir / "metrics.csv") if r.get("eval_saturation")]
    return float(evals[-1]["eval_saturation"]) if evals else None


def _final_q_bias(run_dir: Path) -> float | None:
    """The critic's bias (q_bias) at the run's last evaluation; None where that evaluation
    had no state to measure it on, or the metrics.csv predates the column."""
    from ddpg_robot.logger import read_metrics

    evals = [r for r in read_metrics(run_dir / "metrics.csv") if r.get("eval_return_mean")]
    return float(evals[-1]["q_bias"]) if evals and evals[-1].get("q_bias") else None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise SweepError(
            'sweeps run on Ray, which is not installed: pip install "ddpg-robot[sweep]"'
        ) from None
    return ray


def _init_ray(ray, address: str | None) -> None:
    kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address is not None:
        _check_reachable(address)
    try:
        if address is None:  # a private instance, even where `ray start` runs one already
            ray.init(address="local", **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise SweepError(
            f"cannot connect to {where} ({first}); start one with `ray start --head` "
            "and pass its address as --address HOST:PORT"
        ) from None


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a HOST:PORT that does not answer: ray.init would retry for minutes."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", "ray://..." and other forms are left to Ray
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise SweepError(
            f"cannot connect to the Ray cluster at {address} ({exc.strerror or exc}); start "
            "one with `ray start --head` and pass its address as --address HOST:PORT"
        ) from None


def _describe(outcome: dict[str, Any]) -> str:
    text = outcome["status"]
    if outcome.get("best_eval_return") is not None:
        text += f" (best eval {outcome['best_eval_return']:.1f})"
    if outcome.get("error"):
        text += f": {outcome['error']}"
    return text


def _typed(key: str, annotation: Any, raw: str) -> Any:
    kind = str(annotation)
    try:
        if key == "hidden_sizes":
            return parse_hidden_sizes(raw.replace("-", ","))
        if "bool" in kind:
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
        return raw
    except ValueError:
        raise ConfigError(f"--grid {key}: {raw!r} is not a valid value") from None


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value)
    return str(value)
