"""`ddpg-robot train`: the run directory, checkpoints, determinism, resume after SIGKILL."""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ddpg_robot import runs
from ddpg_robot.checkpoint import load_checkpoint
from ddpg_robot.config import MIN_UPDATES_TO_COMPILE, resolve_config, resolve_resumed_config
from ddpg_robot.logger import CSV_COLUMNS, MetricsLogger, read_metrics
from tests.helpers import run_main

# Small networks and batches keep each of these runs to a few seconds on 2 cores.
FAST = [
    "--hidden-sizes", "32,32", "--batch-size", "32", "--learning-starts", "200",
    "--eval-episodes", "2", "--buffer-size", "10000",
]  # fmt: skip


def _train(run_dir: Path, *extra: str) -> tuple[int, str, str]:
    return run_main(["train", "InvertedPendulum-v4", "--run-dir", str(run_dir), *FAST, *extra])


def _tensorboard_tags(run_dir: Path) -> set[str]:
    """Scalar tags in the run's event files, read from the TFRecord framing directly."""
    from tensorboardX.proto import event_pb2

    tags = set()
    for path in run_dir.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        pos = 0
        while pos + 12 <= len(data):
            (length,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12 : pos + 12 + length])
            tags.update(value.tag for value in event.summary.value)
            pos += 12 + length + 4
    return tags


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "ip"
    code, out, err = _train(
        run_dir, "--total-steps", "700", "--eval-every", "300", "--checkpoint-every", "300"
    )
    assert code == 0, err
    assert "best eval return" in out and str(run_dir) in out
    return run_dir


def test_run_dir_layout_and_config(finished_run: Path) -> None:
    config = json.loads((finished_run / "config.json").read_text())
    assert config["env_id"] == "InvertedPendulum-v4"
    assert config["total_steps"] == 700 and config["hidden_sizes"] == [32, 32]
    assert config["noise"] == "ou"  # the generic default; the next two are the preset's
    assert config["action_bound"] == "invert-gradients"  # not the generic tanh
    assert config["lr_actor"] == 1e-3  # not the generic 3e-4
    assert config["compile"] is True  # asked for; 500 updates are too few for it to apply
    assert (finished_run / "checkpoints" / "last.pt").is_file()
    assert (finished_run / "checkpoints" / "best.pt").is_file()


def test_metrics_csv_rows(finished_run: Path) -> None:
    header = (finished_run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == list(CSV_COLUMNS)
    rows = read_metrics(finished_run / "metrics.csv")
    episodes = [r for r in rows if r["episode_return"]]
    evals = [r for r in rows if r["eval_return_mean"]]
    assert [int(r["step"]) for r in evals] == [300, 600, 700]
    assert len(episodes) > 5
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] == 700
    # Episode lengths add up to the steps of finished episodes.
    assert sum(int(r["episode_length"]) for r in episodes) == int(episodes[-1]["step"])
    # After learning starts, episode rows carry the mean losses since the previous row.
    late = [r for r in episodes if int(r["step"]) > 300]
    assert late and all(r["critic_loss"] and r["q_mean"] and r["actor_loss"] for r in late)
    assert all(float(r["sps"]) > 0 for r in rows[5:])


def test_tensorboard_has_the_same_scalars(finished_run: Path) -> None:
    tags = _tensorboard_tags(finished_run)
    for name in ("episode_return", "critic_loss", "actor_loss", "q_mean", "sps"):
        assert f"train/{name}" in tags
    assert {"eval/eval_return_mean", "eval/eval_return_std"} <= tags
    assert {"eval/q_estimate", "eval/q_realized", "eval/q_bias", "eval/q_bias_rel"} <= tags


def test_every_evaluation_row_carries_the_critic_bias(finished_run: Path) -> None:
    """Early InvertedPendulum episodes end by termination: every state counts, all finite."""
    rows = read_metrics(finished_run / "metrics.csv")
    evals = [r for r in rows if r["eval_return_mean"]]
    assert len(evals) == 3
    for row in evals:
        estimate, realized, bias = (float(row[k]) for k in ("q_estimate", "q_realized", "q_bias"))
        assert all(math.isfinite(v) for v in (estimate, realized, bias, float(row["q_bias_rel"])))
        assert bias == pytest.approx(estimate - realized, rel=0, abs=1e-9)
        assert int(row["q_bias_states"]) > 0
    bias_columns = ("q_estimate", "q_realized", "q_bias", "q_bias_rel", "q_bias_states")
    assert all(not r[k] for r in rows if r["episode_return"] for k in bias_columns)


def test_checkpoints_hold_the_whole_state(finished_run: Path) -> None:
    last = load_checkpoint(finished_run / "checkpoints" / "last.pt")
    assert last["step"] == 700
    assert set(last["learner"]) >= {"actor", "critic", "actor_target", "critic_target"}
    assert {"actor_optimizer", "critic_optimizer"} <= set(last["learner"])
    assert last["buffer"]["size"] == 700
    assert set(last["rng"]) == {"torch", "env", "action_space", "eval_env"}
    assert "state" in last["noise"] and last["actor_head"] == "linear"
    best = load_checkpoint(finished_run / "checkpoints" / "best.pt")
    assert best["buffer"] is None  # best.pt is for export: weights, not the replay data
    assert best["step"] == best["best_eval_step"]
    rows = read_metrics(finished_run / "metrics.csv")
    evals = {int(r["step"]): float(r["eval_return_mean"]) for r in rows if r["eval_return_mean"]}
    assert best["best_eval"] == max(evals.values()) == evals[best["step"]]


def _untimed_metrics(run_dir: Path) -> list[dict[str, str]]:
    """metrics.csv without the columns that measure time."""
    rows = read_metrics(run_dir / "metrics.csv")
    return [{k: v for k, v in row.items() if k not in {"wall_time", "sps"}} for row in rows]


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    """As SB3's test_deterministic: two runs with one seed write identical numbers."""
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        code, _, err = _train(tmp_path / name, "--total-steps", "500", "--eval-every", "250",
                              "--seed", seed)  # fmt: skip
        assert code == 0, err
    a, b, c = (_untimed_metrics(tmp_path / name) for name in "abc")
    assert len(a) > 10 and a == b
    assert c != a


def test_acting_with_the_action_from_the_update_changes_nothing(tmp_path: Path) -> None:
    """The loop acts with mu(obs) computed inside the update (`act_in_update`), which moves
    the env reset before the update; against acting with a forward of its own, every
    action, logged number and weight is the same, bit for bit (eager learner)."""
    config = resolve_config("InvertedPendulum-v4", {
        "total_steps": 600, "learning_starts": 200, "batch_size": 32, "hidden_sizes": (32, 32),
        "eval_every": 0, "buffer_size": 1000, "seed": 5,
    })  # fmt: skip
    states = []
    for act_in_update in (True, False):
        run = runs.start(config, tmp_path / str(act_in_update))
        assert run.act_in_update  # the default, without observation normalisation
        run.act_in_update = act_in_update
        run.run()
        states.append(load_checkpoint(tmp_path / str(act_in_update) / "checkpoints" / "last.pt"))
    rows = _untimed_metrics(tmp_path / "True")
    assert sum(1 for r in rows if r["episode_return"] and int(r["step"]) > 200) > 3  # resets
    assert rows == _untimed_metrics(tmp_path / "False")
    fused, separate = states
    assert torch.equal(fused["buffer"]["actions"], separate["buffer"]["actions"])
    for net in ("actor", "critic_target"):
        for name, value in fused["learner"][net].items():
            assert torch.equal(value, separate["learner"][net][name]), (net, name)


def test_resume_after_sigkill_continues_the_step_count(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    cmd = [
        sys.executable, "-c", "from ddpg_robot.cli.app import main; main()",
        "train", "InvertedPendulum-v4", "--run-dir", str(run_dir), *FAST,
        "--total-steps", "100000", "--checkpoint-every", "400", "--eval-every", "400", "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = run_dir / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 180
    while not last.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.05)
    time.sleep(1.0)  # let it run past the checkpoint, so the kill loses some work
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    saved_step = load_checkpoint(last)["step"]
    assert saved_step > 0 and saved_step % 400 == 0
    total = saved_step + 600
    code, out, err = _train(run_dir, "--resume", "--total-steps", str(total))
    assert code == 0, err
    assert f"from step {saved_step:,}" in out
    assert f"resuming with total_steps: 100000 -> {total}" in err  # the change is said

    resumed = load_checkpoint(last)
    assert resumed["step"] == total
    assert resumed["learner"]["num_updates"] == total - 200  # one update per step after 200
    steps = [int(r["step"]) for r in read_metrics(run_dir / "metrics.csv")]
    assert steps == sorted(steps) and steps[-1] == total
    assert any(s <= saved_step for s in steps) and any(s > saved_step for s in steps)
    assert json.loads((run_dir / "config.json").read_text())["total_steps"] == total
    assert not list(run_dir.glob("checkpoints/*.tmp"))


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    # A learning rate of 1e30 makes Adam's first step push the critic's weights to ~1e30,
    # so the next forward pass overflows: the loss is inf or NaN within a few updates.
    run_dir = tmp_path / "diverge"
    code, _, err = _train(
        run_dir, "--total-steps", "2000", "--checkpoint-every", "100", "--eval-every", "0",
        "--lr-critic", "1e30", "--lr-actor", "1e30",
    )  # fmt: skip
    assert code != 0
    assert "training diverged: the " in err and " at update " in err
    assert "last good checkpoint" in err and "Try lower learning rates" in err
    assert "Traceback" not in err
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert 100 <= state["step"] <= 300
    for tensor in state["learner"]["critic"].values():
        assert torch.isfinite(tensor).all()


def test_metrics_file_of_an_older_version_gains_the_new_columns_on_resume(tmp_path: Path) -> None:
    old_columns = [c for c in CSV_COLUMNS if c != "eval_saturation"]
    lines = [",".join(old_columns), "100,1.0,-5.0,100" + "," * (len(old_columns) - 4),
             "200,2.0,-4.0,100" + "," * (len(old_columns) - 4)]  # fmt: skip
    (tmp_path / "metrics.csv").write_text("\n".join(lines) + "\n")
    logger = MetricsLogger(tmp_path, resume_step=150)
    logger.log_row(300, eval_return_mean=7.0, eval_saturation=0.25)
    logger.close()
    assert (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",") == list(CSV_COLUMNS)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [(r["step"], r["episode_return"], r["eval_saturation"]) for r in rows] == [
        ("100", "-5.0", ""),
        ("300", "", "0.25"),
    ]


def test_a_new_run_drops_rows_left_by_a_dead_run_in_its_directory(tmp_path: Path) -> None:
    logger = MetricsLogger(tmp_path)
    logger.log_row(100, episode_return=-5.0)
    logger.close()
    logger = MetricsLogger(tmp_path)  # a new run in the same dir, nothing to resume
    logger.log_row(50, episode_return=-6.0)
    logger.close()
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.csv")] == ["50"]


def test_compile_applies_to_runs_with_enough_updates_left(tmp_path: Path) -> None:
    """Compiling costs seconds: only runs with MIN_UPDATES_TO_COMPILE updates to go pay it."""
    base = {"hidden_sizes": "32,32", "batch_size": 32, "learning_starts": 200}

    def compiles(name: str, **overrides: object) -> bool:
        run = runs.start(resolve_config("InvertedPendulum-v4", {**base, **overrides}),
                            tmp_path / name)  # fmt: skip
        run.env.close()
        run.eval_env.close()
        return run.learner.compiled

    assert compiles("enough", total_steps=200 + MIN_UPDATES_TO_COMPILE)
    assert not compiles("one-short", total_steps=199 + MIN_UPDATES_TO_COMPILE)
    assert not compiles("off", total_steps=100_000, compile=False)


def test_no_compile_flag_reaches_the_config_and_a_resume_may_change_it(tmp_path: Path) -> None:
    """--no-compile on a run long enough to compile (tiny nets keep its updates cheap)."""
    steps = str(200 + MIN_UPDATES_TO_COMPILE)
    tiny = ["--hidden-sizes", "8", "--batch-size", "8", "--eval-every", "0"]
    code, out, err = _train(tmp_path / "nc", "--total-steps", steps, "--no-compile", *tiny)
    assert code == 0, err
    assert "best eval return" in out and "compiled in" not in out
    saved = json.loads((tmp_path / "nc" / "config.json").read_text())
    assert saved["compile"] is False
    config, changes = resolve_resumed_config(saved, {"compile": True})
    assert config.compile is True and changes == ["compile: False -> True"]


def test_best_pt_only_holds_weights_from_after_learning_started(tmp_path: Path) -> None:
    """The first evaluation (before --learning-starts) scores the untrained actor: it is
    logged, but it never becomes best.pt, which export takes by default (even when the
    untrained actor scored higher, as here: a large actor learning rate saturates it)."""
    code, _, err = _train(tmp_path / "r", "--total-steps", "500", "--learning-starts", "300",
                          "--eval-every", "250", "--lr-actor", "0.05", "--seed", "2",
                          "--quiet")  # fmt: skip
    assert code == 0, err
    rows = read_metrics(tmp_path / "r" / "metrics.csv")
    evals = {int(r["step"]): float(r["eval_return_mean"]) for r in rows if r["eval_return_mean"]}
    assert list(evals) == [250, 500] and evals[250] > evals[500]  # untrained scored higher
    best = load_checkpoint(tmp_path / "r" / "checkpoints" / "best.pt")
    assert best["best_eval_step"] == 500 and best["best_eval"] == evals[500]


def test_critic_layer_norm_trains_saves_and_resumes(tmp_path: Path) -> None:
    """--critic-layer-norm puts LayerNorms in the checkpoint's critic (and only there: the
    actor, which is exported, is unchanged) and a resume rebuilds the same critic."""
    run_dir = tmp_path / "ln"
    code, _, err = _train(run_dir, "--total-steps", "400", "--eval-every", "0",
                          "--critic-layer-norm", "--quiet")  # fmt: skip
    assert code == 0, err
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["config"]["critic_layer_norm"] is True
    learner = state["learner"]
    for critic in (learner["critic"], learner["critic_target"]):  # Linear, LayerNorm, ReLU, ...
        assert critic["net.1.weight"].shape == (32,) and critic["net.3.weight"].shape[1] == 32
    assert learner["actor"]["net.2.weight"].shape == (32, 32)  # Linear, ReLU, Linear: no norm
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--resume", "--run-dir",
                             str(run_dir), "--total-steps", "600", "--quiet"])  # fmt: skip
    assert code == 0, err
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == 600


def test_a_run_saved_before_a_setting_existed_resumes_as_it_trained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A setting added after a run was saved takes its generic default on resume, not a
    preset's value: the run's networks were built without it."""
    saved = resolve_config("InvertedPendulum-v4").to_dict()
    del saved["critic_layer_norm"]
    from ddpg_robot import config as config_module

    monkeypatch.setitem(
        config_module.PRESETS, "InvertedPendulum",
        {**config_module.PRESETS["InvertedPendulum"], "critic_layer_norm": True},
    )  # fmt: skip
    assert resolve_config("InvertedPendulum-v4").critic_layer_norm is True
    config, changes = resolve_resumed_config(saved, {})
    assert config.critic_layer_norm is False and changes == []
