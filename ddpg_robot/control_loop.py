"""A fixed-rate control loop for embedding a Controller: read -> act -> write, paced.

Stdlib and numpy only, like the runtime: this is what runs on the robot computer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LoopStats:
    """Latency of whole steps (read + act + write), in seconds, and deadline misses."""

    steps: int
    period: float
    """Seconds per step; 0.0 for an unpaced loop."""
    p50: float
    p99: float
    max: float
    deadline_misses: int
    """Steps that ended after their deadline (start of the step + one period)."""
    no_observation: int = 0
    """Steps where `read_obs` returned None, so the action came from `controller.tick()`."""

    def summary(self) -> str:
        rate = f"at {1 / self.period:.1f} Hz" if self.period > 0 else "unpaced"
        missing = (
            f"; {self.no_observation} steps without an observation" if self.no_observation else ""
        )
        return (
            f"{self.steps} steps {rate}: step latency p50 "
            f"{self.p50 * 1e6:.0f} us, p99 {self.p99 * 1e6:.0f} us, max {self.max * 1e6:.0f} us; "
            f"{self.deadline_misses} deadline misses{missing}"
        )


class ControlLoop:
    """Call `read_obs`, `controller.act` and `write_action` once per period.

    The period is `1 / hz`, or the policy's `control_dt` when `hz` is None. Deadlines are
    absolute (start + k * period), so jitter does not accumulate; after an overrun of more
    than a whole period the schedule restarts from now instead of bursting to catch up.
    `stop()` (from another thread or a callback) or Ctrl-C ends the loop after the current
    step; `hz=float("inf")` runs unpaced (useful for benchmarks and simulation).

    `read_obs` may return None when no new observation arrived this period (a bus read that
    timed out, say): the loop then writes `controller.tick()`, which a Controller with a
    watchdog answers with the last action and, past its timeout, with its safe action.
    """

    def __init__(
        self,
        controller: Any,
        read_obs: Callable[[], Any],
        write_action: Callable[[np.ndarray], None],
        *,
        hz: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
        max_records: int = 1_000_000,
    ) -> None:
        if hz is None:
            dt = getattr(controller, "control_dt", None)
            if not dt:
                raise ValueError("the policy has no control_dt in its metadata: pass hz=")
            self.period = float(dt)
        elif not hz > 0:  # NaN too
            raise ValueError(f"hz must be positive, got {hz}")
        else:
            self.period = 0.0 if hz == float("inf") else 1.0 / hz
        self.controller = controller
        self.read_obs = read_obs
        self.write_action = write_action
        self._clock = clock
        self._sleep = sleep
        self._latencies = np.zeros(max_records)  # preallocated: no allocation while running
        self._steps = 0
        self._misses = 0
        self._no_obs = 0
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end after the step in progress (thread-safe)."""
        self._stop.set()

    def run(self, max_steps: int | None = None, duration: float | None = None) -> LoopStats:
        """Run until `stop()`, Ctrl-C, `max_steps` steps or `duration` seconds; return stats."""
        self._stop.clear()
        clock, period = self._clock, self.period
        start = clock()
        deadline = start + period
        try:
            while not self._stop.is_set():
                if max_steps is not None and self._steps >= max_steps:
                    break
                if duration is not None and clock() - start >= duration:
                    break
                step_start = clock()
                obs = self.read_obs()
                if obs is None:
                    self._no_obs += 1
                    self.write_action(self.controller.tick())
                else:
                    self.write_action(self.controller.act(obs))
                now = clock()
                self._record(now - step_start)
                if period == 0.0:
                    continue
                if now > deadline:
                    self._misses += 1
                if now > deadline + period:  # fell behind a whole period: restart the schedule
                    deadline = now + period
                    continue
                if deadline > now:
                    self._sleep(deadline - now)
                deadline += period
        except KeyboardInterrupt:
            pass
        return self.stats()

    def stats(self) -> LoopStats:
        n = min(self._steps, len(self._latencies))
        lat = self._latencies[:n] if n else np.zeros(1)
        p50, p99 = np.percentile(lat, [50, 99])
        return LoopStats(
            steps=self._steps,
            period=self.period,
            p50=float(p50),
            p99=float(p99),
            max=float(lat.max()),
            deadline_misses=self._misses,
            no_observation=self._no_obs,
        )

    def _record(self, latency: float) -> None:
        self._latencies[self._steps % len(self._latencies)] = latency
        self._steps += 1
