"""Progress display for training: a live bar on a terminal, plain lines in a log file."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:  # the trainer pulls in torch; --help must stay fast
    from ddpg_robot.progress import Progress as TrainProgress


class RichReporter:
    """Steps, SPS, last episode return and last evaluation on one live line."""

    def __init__(self) -> None:
        self._console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[sps]:>5.0f} sps"),
            TextColumn("return {task.fields[ret]}"),
            TextColumn("eval {task.fields[eval]}"),
            TimeRemainingColumn(),
            console=self._console,
        )
        self._task = None

    def __call__(self, p: TrainProgress) -> None:
        fields = {"sps": p.sps, "ret": _num(p.last_return), "eval": _num(p.last_eval)}
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(
                "train", total=p.total_steps, completed=p.step, **fields
            )
        self._bar.update(self._task, completed=p.step, **fields)

    def close(self) -> None:
        if self._task is not None:
            self._bar.stop()


class LineReporter:
    """For non-terminals (nohup, CI): one line per evaluation and every 10% of the run."""

    def __init__(self) -> None:
        self._next_mark = 0

    def __call__(self, p: TrainProgress) -> None:
        mark = p.step * 10 // max(p.total_steps, 1)
        if p.event == "eval" or mark >= self._next_mark:
            self._next_mark = mark + 1
            print(
                f"step {p.step:>9,}/{p.total_steps:,}  {p.sps:6.0f} sps  "
                f"return {_num(p.last_return)}  eval {_num(p.last_eval)}  "
                f"best {_num(p.best_eval)}",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        pass


def make_reporter() -> RichReporter | LineReporter:
    return RichReporter() if sys.stderr.isatty() else LineReporter()


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
