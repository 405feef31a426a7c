"""What a training run reports while it runs: progress events and the env-step rate."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


@dataclass
class Progress:
    """What a progress display needs, sent every few hundred steps."""

    step: int
    total_steps: int
    sps: float
    last_return: float | None
    last_eval: float | None
    best_eval: float | None
    event: str = "step"  # "step", or "eval" right after an evaluation


class ProgressReporter(Protocol):
    def __call__(self, progress: Progress) -> None: ...


class SpsMeter:
    """Env steps per second over the current window (restarted every TensorBoard window).

    Evaluation time counts against it: SPS is the rate at which the run really advances.
    Early in a window (under 50 steps) the previous window's rate is reported instead.
    """

    def __init__(self, step: int, now: float) -> None:
        self.start_step, self.start_time = step, now
        self.previous: float | None = None

    def restart(self, step: int) -> None:
        self.previous = self.value(step)
        self.start_step, self.start_time = step, time.perf_counter()

    def value(self, step: int) -> float:
        if step - self.start_step < 50 and self.previous is not None:
            return self.previous
        return (step - self.start_step) / max(time.perf_counter() - self.start_time, 1e-9)
