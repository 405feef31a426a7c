"""metrics.csv and TensorBoard scalars for a run, continued cleanly on resume."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from tensorboardX import SummaryWriter

from ddpg_robot.metrics_file import CSV_COLUMNS, prepare, read_metrics

__all__ = ["CSV_COLUMNS", "LossAverager", "MetricsLogger", "read_metrics"]

_EVAL_SCALARS = frozenset({"q_estimate", "q_realized", "q_bias", "q_bias_rel", "q_bias_states"})
"""Evaluation columns without the `eval_` prefix (the critic's bias): TensorBoard's eval/ group."""


class MetricsLogger:
    """Appends rows to `metrics.csv` and the same scalars to TensorBoard event files.

    `resume_step`: the step of the checkpoint a run continues from (None for a new run).
    Rows an earlier process logged after it stay in metrics.csv, marked superseded
    (ddpg_robot/metrics_file.py); TensorBoard hides its events after that step.
    """

    def __init__(self, run_dir: Path, *, resume_step: int | None = None) -> None:
        self.csv_path = run_dir / "metrics.csv"
        continue_from = resume_step or 0
        prepare(self.csv_path, continue_from=continue_from)
        self._file = open(self.csv_path, "a", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
        self._tb = SummaryWriter(str(run_dir), purge_step=continue_from, flush_secs=30)

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
