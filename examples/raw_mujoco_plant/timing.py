"""Durations measured in a control loop, summarised as percentiles in microseconds."""

from __future__ import annotations

import numpy as np

from ddpg_robot.control_loop import LoopStats


class Durations:
    """Seconds, kept in a preallocated ring so that recording allocates nothing mid-loop."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._values = np.zeros(capacity)
        self.count = 0

    def add(self, seconds: float) -> None:
        self._values[self.count % len(self._values)] = seconds
        self.count += 1

    def summary_us(self) -> dict[str, float]:
        """count, p50, p99 and max in microseconds (zeros when nothing was recorded)."""
        n = min(self.count, len(self._values))
        if n == 0:
            return microseconds(0.0, 0.0, 0.0, count=0)
        values = self._values[:n] * 1e6
        p50, p99 = np.percentile(values, [50, 99])
        return microseconds(p50, p99, values.max(), count=self.count)


def microseconds(p50: float, p99: float, peak: float, **extra: int) -> dict:
    """Percentiles already in microseconds, rounded to 0.1 us, as the reports print them."""
    return {**extra, "p50_us": round(float(p50), 1), "p99_us": round(float(p99), 1),
            "max_us": round(float(peak), 1)}  # fmt: skip


def step_figures(stats: LoopStats) -> dict:
    """A ControlLoop's step latency (seconds) as microsecond percentiles."""
    return microseconds(stats.p50 * 1e6, stats.p99 * 1e6, stats.max * 1e6)
