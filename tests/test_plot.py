"""`ddpg-robot plot`: curves from real run dirs, grouped by config, and clear errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from ddpg_robot.logger import read_metrics
from ddpg_robot.tools.plot import group_runs, load_run, summarize_groups
from tests.helpers import run_main

FAST = ["--total-steps", "300", "--learning-starts", "100", "--batch-size", "16",
        "--hidden-sizes", "16", "--eval-every", "100", "--eval-episodes", "1",
        "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("plot")
    dirs = []
    for seed, lr in ((0, "1e-3"), (1, "1e-3"), (0, "1e-4")):
        run_dir = root / f"lr{lr}-s{seed}"
        args = ["train", "InvertedPendulum-v4", "--run-dir", str(run_dir), "--seed", str(seed)]
        code, _, err = run_main([*args, "--lr-actor", lr, *FAST])
        assert code == 0, err
        dirs.append(run_dir)
    return dirs


def test_runs_sharing_a_config_form_one_group(run_dirs: list[Path]) -> None:
    groups = group_runs([load_run(d) for d in run_dirs])
    # InvertedPendulum's preset has lr_actor 1e-3: those two runs are at the preset.
    assert {label: len(runs) for label, runs in groups.items()} == {
        "preset": 2,
        "lr_actor=0.0001": 1,
    }
    named_by_env = group_runs([load_run(run_dirs[2]), load_run(run_dirs[0])])
    assert list(named_by_env) == ["lr_actor=0.0001", "preset"]
    same_config = group_runs([load_run(d) for d in run_dirs[:2]])
    assert {label: len(runs) for label, runs in same_config.items()} == {"InvertedPendulum-v4": 2}
    run = load_run(run_dirs[0])
    assert list(run.eval_steps) == [100, 200, 300]
    assert len(run.episode_steps) == len(run.episode_returns) > 5


def test_a_run_saved_before_a_setting_existed_groups_with_its_default(
    run_dirs: list[Path], tmp_path: Path
) -> None:
    """config.json of an older version lacks the newer settings; the run trained at their
    defaults, so it is a seed of the same config as a run that has them at the default."""
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(run_dirs[1] / "metrics.csv", old / "metrics.csv")
    config = json.loads((run_dirs[1] / "config.json").read_text())
    del config["critic_layer_norm"], config["n_step"], config["env_kwargs"]
    (old / "config.json").write_text(json.dumps(config))
    groups = group_runs([load_run(run_dirs[0]), load_run(old)])
    assert {label: len(runs) for label, runs in groups.items()} == {"InvertedPendulum-v4": 2}


def test_plot_writes_a_png(run_dirs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "curve.png"
    code, stdout, err = run_main(["plot", *map(str, run_dirs), "-o", str(out)])
    assert code == 0, err
    image = mpimg.imread(out)
    assert image.shape[0] > 300 and image.shape[1] > 800
    # The results table: a row per config, its numbers those of the seeds' metrics.csv.
    finals = [float(r["eval_return_mean"]) for d in run_dirs[:2]
              for r in read_metrics(d / "metrics.csv") if r["eval_return_mean"]][2::3]  # fmt: skip
    row = next(line for line in stdout.splitlines() if line.startswith("preset "))
    fields = row.split()
    assert fields[1:3] == ["2", "300"]
    assert float(fields[3]) == pytest.approx(sum(finals) / 2, abs=0.05)
    assert image[..., :3].std() > 0.05  # curves drawn, not a blank canvas


def test_plot_errors_are_one_line(tmp_path: Path, run_dirs: list[Path]) -> None:
    code, _, err = run_main(["plot", str(tmp_path), "-o", str(tmp_path / "c.png")])
    assert code != 0 and "is not a ddpg-robot run dir" in err and "Traceback" not in err
    code, _, err = run_main(["plot", str(run_dirs[0]), "-o", str(tmp_path / "no" / "c.png")])
    assert code != 0 and "does not exist" in err


def test_the_critic_panel_reads_the_bias_columns_and_old_runs_still_plot(
    run_dirs: list[Path], tmp_path: Path
) -> None:
    run = load_run(run_dirs[0])
    assert list(run.bias_steps) == [100, 200, 300]  # short episodes terminate: all measured
    assert len(run.q_estimates) == len(run.q_realized) == 3
    old = tmp_path / "old"  # a run whose metrics.csv predates the bias columns
    shutil.copytree(run_dirs[1], old)
    rows = read_metrics(old / "metrics.csv")
    columns = [c for c in rows[0] if not c.startswith("q_") or c == "q_mean"]
    with open(old / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    assert len(load_run(old).bias_steps) == 0
    out = tmp_path / "mixed.png"
    code, _, err = run_main(["plot", str(run_dirs[0]), str(old), str(run_dirs[2]), "-o", str(out)])
    assert code == 0, err
    assert out.stat().st_size > 10_000


def test_best_eval_counts_only_evaluations_after_learning_started() -> None:
    """Ant-v4 at the defaults (a campaign run, docs/results-runs): the untrained actor
    stands still and scores 987 at 10k steps, more than the learning policy ever did."""
    run_dir = Path(__file__).resolve().parents[1] / "docs/results-runs/ant-defaults-s0"
    rows = [r for r in read_metrics(run_dir / "metrics.csv") if r["eval_return_mean"]]
    starts = json.loads((run_dir / "config.json").read_text())["learning_starts"]
    learned = [float(r["eval_return_mean"]) for r in rows if int(r["step"]) > starts]
    untrained = [float(r["eval_return_mean"]) for r in rows if int(r["step"]) <= starts]
    assert max(untrained) > max(learned)  # the case this guards
    (row,) = summarize_groups([load_run(run_dir)])
    assert row.best_mean == pytest.approx(max(learned))
