"""`ddpg-robot sweep` on a real local Ray: run dirs, summary, plot, resume after a kill."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ddpg_robot.errors import ConfigError
from ddpg_robot.logger import read_metrics
from ddpg_robot.tools.sweep import parse_grid, plan_trials
from tests.helpers import run_main

ray = pytest.importorskip("ray", reason='Ray is not installed: pip install "ddpg-robot[sweep]"')

TINY = """\
total-steps = 300
learning-starts = 200
batch-size = 32
hidden-sizes = [16, 16]
eval-every = 300
eval-episodes = 1
buffer-size = 1000
"""


def _sweep_cmd(out: Path, config: Path) -> list[str]:
    return ["sweep", "InvertedPendulum-v4", "--seeds", "2", "--grid", "lr_actor=1e-3,1e-4",
            "--config", str(config), "--out", str(out), "--cpus-per-trial", "1"]  # fmt: skip


def _summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_sweep_runs_every_trial_then_resume_skips_them(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "sweep"
    code, stdout, err = run_main(_sweep_cmd(out, config))
    assert code == 0, err
    rows = _summary(out)
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    assert {(r["config"], r["seed"]) for r in rows} == {
        (f"lr_actor={lr}", s) for lr in ("0.001", "0.0001") for s in ("0", "1")
    }
    assert all(int(r["steps"]) == 300 and r["best_eval_return"] for r in rows)
    for row in rows:  # saturation and critic bias are the last evaluation's in metrics.csv
        evals = [r for r in read_metrics(Path(row["run_dir"]) / "metrics.csv")
                 if r["eval_saturation"]]  # fmt: skip
        assert float(row["final_eval_saturation"]) == float(evals[-1]["eval_saturation"])
        assert 0.0 <= float(row["final_eval_saturation"]) <= 1.0
        assert float(row["final_q_bias"]) == float(evals[-1]["q_bias"])
    for label in ("lr_actor=0.001", "lr_actor=0.0001"):  # the per-config table it printed
        finals = np.array([float(r["final_eval_return"]) for r in rows if r["config"] == label])
        biases = [float(r["final_q_bias"]) for r in rows if r["config"] == label]
        line = next(x for x in stdout.splitlines() if x.startswith(label + " "))
        assert line.split()[1:5] == ["2", f"{finals.mean():.1f}", "±", f"{finals.std():.1f}"]
        assert line.split()[-1] == f"{np.mean(biases):+.2f}"
    run_dirs = sorted((out / "runs").iterdir())
    assert len(run_dirs) == 4
    assert all((d / "checkpoints" / "last.pt").is_file() for d in run_dirs)
    assert (out / "curves.png").stat().st_size > 10_000

    before = {d: (d / "metrics.csv").stat().st_mtime_ns for d in run_dirs}
    code, stdout, err = run_main(_sweep_cmd(out, config))
    assert code == 0, err
    assert "4 trials: 4 finished already (skipped)" in stdout
    assert {d: (d / "metrics.csv").stat().st_mtime_ns for d in run_dirs} == before


def test_killed_sweep_resumes_unfinished_trials(tmp_path: Path) -> None:
    config = tmp_path / "long.toml"
    longer = TINY.replace("total-steps = 300", "total-steps = 3000")
    config.write_text(
        longer.replace("eval-every = 300", "eval-every = 0") + "checkpoint-every = 200\n"
    )
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-c", "from ddpg_robot.cli.app import main; main()",
           *_sweep_cmd(out, config)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while not list(out.glob("runs/*/checkpoints/last.pt")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver, its local Ray and every worker
    proc.wait()
    time.sleep(1.0)
    interrupted = [d for d in (out / "runs").iterdir() if (d / "checkpoints" / "last.pt").exists()]
    assert interrupted and not any((d / "result.json").exists() for d in interrupted)

    code, stdout, err = run_main(_sweep_cmd(out, config))
    assert code == 0, err
    assert f"{len(interrupted)} to resume" in stdout
    rows = _summary(out)
    assert len(rows) == 4 and all(r["status"] == "ok" and r["steps"] == "3000" for r in rows)
    for d in interrupted:
        steps = [int(r["step"]) for r in read_metrics(d / "metrics.csv")]
        assert steps == sorted(steps)  # resumed: one history, the killed session's tail superseded


def test_a_failing_trial_is_reported_and_the_others_finish(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "sweep"
    # lr 1e30 diverges within a few updates: that trial fails, the other one completes.
    code, stdout, err = run_main(["sweep", "InvertedPendulum-v4", "--seeds", "1", "--grid",
                                  "lr_critic=1e-3,1e30", "--config", str(config),
                                  "--out", str(out)])  # fmt: skip
    assert code == 2 and "1 of 2 trials failed (first: TrainingDivergedError" in err, err
    assert "1 ok, 1 failed" in stdout  # the summary is printed before the error
    rows = {r["config"]: r for r in _summary(out)}
    assert rows["lr_critic=0.001"]["status"] == "ok"
    assert rows["lr_critic=1e+30"]["status"] == "failed"
    assert "diverged" in rows["lr_critic=1e+30"]["error"]


def test_unreachable_address_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    code, _, err = run_main(["sweep", "InvertedPendulum-v4", "--seeds", "1", "--config",
                             str(config), "--out", str(tmp_path / "s"),
                             "--address", "127.0.0.1:9"])  # fmt: skip
    assert code != 0 and "Traceback" not in err
    assert "cannot connect to the Ray cluster at 127.0.0.1:9" in err


def test_grid_parsing_and_validation(tmp_path: Path) -> None:
    grid = parse_grid(["lr-actor=1e-3,1e-4", "hidden_sizes=64-64,256-256", "noise=ou,gaussian"])
    assert grid == {"lr_actor": [1e-3, 1e-4], "hidden_sizes": [(64, 64), (256, 256)],
                    "noise": ["ou", "gaussian"]}  # fmt: skip
    assert len(plan_trials("Hopper-v4", grid, 3, {}, tmp_path)) == 2 * 2 * 2 * 3
    bad_grids = [("lr_actor", "key=v1"), ("seed=1,2", "not a setting that can be swept"),
                 ("batch_size=x", "not a valid value"), ("noise=pink", "--noise")]  # fmt: skip
    for bad, message in bad_grids:
        with pytest.raises(ConfigError, match=message):
            plan_trials("Hopper-v4", parse_grid([bad]), 1, {}, tmp_path)
