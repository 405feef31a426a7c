"""metrics.csv and TensorBoard scalars for a run, continued cleanly on resume."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from tensorboardX import SummaryWriter

CSV_COLUMNS = (
    "step",
    "wall_time",
    "episode_return",
    "episode_length",
    "eval_return_mean",
    "eval_return_std",
    "eval_saturation",
    "q_estimate",
    "q_realized",
    "q_bias",
    "q_bias_rel",
    "q_bias_states",
    "critic_loss",
    "actor_loss",
    "q_mean",
    "sps",
)
"""One row per finished training episode and one per evaluation; blank where not applicable."""

_EVAL_SCALARS = frozenset({"q_estimate", "q_realized", "q_bias", "q_bias_rel", "q_bias_states"})
"""Evaluation columns without the `eval_` prefix (the critic's bias): TensorBoard's eval/ group."""


class MetricsLogger:
    """Appends rows to `metrics.csv` and the same scalars to TensorBoard event files.

    `resume_step`: rows and events logged after this step (by a run killed after its last
    checkpoint) are dropped, so a resumed run does not repeat steps.
    """

    def __init__(self, run_dir: Path, *, resume_step: int | None = None) -> None:
        self.csv_path = run_dir / "metrics.csv"
        # A new run (resume_step None) starts from step 0: rows a dead, never-checkpointed run
        # left in this directory are dropped, like a resumed run's rows after its checkpoint.
        keep_until = resume_step or 0
        if self.csv_path.exists():
            _truncate_after(self.csv_path, keep_until)
        new_file = not self.csv_path.exists() or self.csv_path.stat().st_size == 0
        self._file = open(self.csv_path, "a", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
        if new_file:
            self._csv.writeheader()
            self._file.flush()
        # purge_step hides events logged after `keep_until` by an earlier process in this dir.
        self._tb = SummaryWriter(str(run_dir), purge_step=keep_until, flush_secs=30)

    def log_row(self, step: int, **values: float | int | None) -> None:
        """Write one CSV row (missing columns blank) and every finite value to TensorBoard."""
        row = {"step": step, **{k: _fmt(v) for k, v in values.items()}}
        self._csv.writerow(row)
        self._file.flush()
        for name, value in values.items():
            if name != "wall_time" and value is not None and math.isfinite(value):
                self._tb.add_scalar(_tb_tag(name), value, step)

    def log_scalars(self, step: int, **values: float) -> None:
        """TensorBoard only: frequent training scalars that would flood the CSV."""
        for name, value in values.items():
            self._tb.add_scalar(_tb_tag(name), value, step)

    def close(self) -> None:
        self._file.close()
        self._tb.close()


def read_metrics(path: Path) -> list[dict[str, str]]:
    """Rows of a metrics.csv as dicts of strings (blank = not applicable)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _truncate_after(path: Path, step: int) -> None:
    """Rewrite `path` with the current columns (older files gain new ones), rows <= `step`."""
    rows = read_metrics(path)
    kept = [row for row in rows if row.get("step") and int(row["step"]) <= step]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fmt(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _tb_tag(name: str) -> str:
    group = "eval" if name.startswith("eval_") or name in _EVAL_SCALARS else "train"
    return f"{group}/{name}"


class LossAverager:
    """Running means of the learner's metrics between two log rows."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.count += 1

    def pop(self) -> dict[str, float]:
        """The means since the last pop (empty when nothing was added), and start over."""
        means = (
            {name: total / self.count for name, total in self.sums.items()} if self.count else {}
        )
        self.sums, self.count = {}, 0
        return means
