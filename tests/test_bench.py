"""`ddpg-robot bench train` runs end to end and prints every figure it promises.

Timings are printed, never asserted (docs/benchmarks.md): only the shape of the report is
checked here, on a run small enough for the fast suite.
"""

from __future__ import annotations

import re

from tests.helpers import run_main


def test_bench_train_prints_runs_ratio_and_components() -> None:
    code, out, err = run_main(["bench", "train", "InvertedPendulum-v4", "--rounds", "2",
                               "--random-steps", "300", "--updating-steps", "100"])  # fmt: skip
    assert code == 0, err
    rounds = re.findall(r"round (\d): reference +([\d.]+) s +ddpg-robot train +([\d.]+) s", out)
    assert [r[0] for r in rounds] == ["1", "2"]
    assert all(float(ref) > 0 and float(pkg) > 0 for _, ref, pkg in rounds)
    assert re.search(r"median ratio [\d.]+x", out)
    for name in ("ddpg-robot learner, compiled", "ddpg-robot learner, eager (--no-compile)",
                 "reference update"):  # fmt: skip
        assert re.search(re.escape(name) + r" alone: \d+ updates/s", out), out
    assert re.search(r"env alone: \d+ steps/s", out)
    assert re.search(r"one update: \d+ MFLOP; large matmul \d+ GFLOP/s", out)
