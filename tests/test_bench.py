"""`ddpg-robot bench train` and `bench latency` run end to end and print every figure promised.

Timings are printed, never asserted (docs/benchmarks.md): only the shape of the report is
checked here, on a run small enough for the fast suite.
"""

from __future__ import annotations

import re
from pathlib import Path

from ddpg_robot.config import MIN_UPDATES_TO_COMPILE
from ddpg_robot.tools.bench_train import BenchSettings, run_in_fresh_process, timed_run
from tests.helpers import run_main


def test_bench_train_prints_runs_ratio_and_components() -> None:
    code, out, err = run_main(["bench", "train", "InvertedPendulum-v4", "--rounds", "1",
                               "--random-steps", "300", "--updating-steps", "100"])  # fmt: skip
    assert code == 0, err
    assert "each run in a fresh process" in out
    rounds = re.findall(r"round (\d): reference +([\d.]+) s +ddpg-robot train +([\d.]+) s", out)
    assert [r[0] for r in rounds] == ["1"]
    assert all(float(ref) > 0 and float(pkg) > 0 for _, ref, pkg in rounds)
    assert re.search(r"median ratio [\d.]+x", out)
    for name in ("ddpg-robot learner, compiled", "ddpg-robot learner, eager (--no-compile)",
                 "reference update"):  # fmt: skip
        assert re.search(re.escape(name) + r" alone: \d+ updates/s", out), out
    assert re.search(r"env alone: \d+ steps/s", out)
    assert re.search(r"one update: \d+ MFLOP; large matmul \d+ GFLOP/s", out)


def test_a_run_in_a_fresh_process_reports_its_own_compile_time() -> None:
    """Both ways of timing a run give a wall time; a package run with enough updates to
    compile brings its compile seconds back from the child process, a reference run none."""
    small = BenchSettings(env_id="InvertedPendulum-v4", random_steps=300, batch_size=32,
                          updating_steps=MIN_UPDATES_TO_COMPILE, hidden_sizes=(32, 32))  # fmt: skip
    wall, compile_seconds = timed_run("reference", small)
    assert wall > 0 and compile_seconds is None
    wall, compile_seconds = run_in_fresh_process("package", small)
    assert compile_seconds is not None and wall > compile_seconds > 0


def test_bench_train_with_a_bad_env_id_is_one_line_before_any_run() -> None:
    code, out, err = run_main(["bench", "train", "NoSuchEnv-v0", "--rounds", "1"])
    assert code == 2
    assert err.strip().count("\n") == 0 and "NoSuchEnv-v0" in err
    assert out == "" and "Traceback" not in err  # nothing started, not even the header


def test_bench_latency_prints_the_cost_of_each_guard() -> None:
    model = Path(__file__).resolve().parents[1] / "models" / "halfcheetah-v4.onnx"
    code, out, err = run_main(["bench", "latency", str(model), "--calls", "300", "--warmup", "30"])
    assert code == 0, err
    for name in ("Controller.act", "act + rate limit", "act + watchdog", "act + both",
                 "InferenceSession.run", "torch eager"):  # fmt: skip
        assert re.search(rf"^  {re.escape(name)} +[\d.]+ +[\d.]+ +[\d.]+", out, re.M), out
    assert re.search(r"act \+ rate limit .*\(limit moved \d+%\)", out)
    for guard in ("rate limit", "watchdog", "both"):
        assert re.search(rf"guard cost, {guard}: median [+-][\d.]+ us \([\d.]+x", out), out
    assert "median ratio Controller.act / InferenceSession.run" in out
