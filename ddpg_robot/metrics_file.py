"""metrics.csv: its columns, how a run continues it, and how it is read back.

The file only ever grows. A run resumed from a checkpoint at step c appends a marker row
(`step` = c, `resumed` = 1) instead of deleting what the killed process logged after c: those
rows stay in the file, and `read_metrics` reads them as superseded by the marker. Nothing a
run wrote is lost, and a reader sees one history. Before a run appends, `prepare` checks the
file: a torn last line (a kill mid-write) is cut off, an older header gains the new columns
(every row kept), and a file it cannot understand stops the run before anything changes.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from ddpg_robot.atomic import atomic_write
from ddpg_robot.errors import DDPGRobotError

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
    "resumed",
)
"""One row per finished training episode and one per evaluation (blank where not
applicable), and a marker row (`resumed` = 1) where a run continued from a checkpoint."""


class MetricsFileError(DDPGRobotError):
    """metrics.csv cannot be understood, so a run will not append to it."""


def prepare(path: Path, *, continue_from: int) -> None:
    """Make `path` ready for appending rows of a run that continues from step `continue_from`
    (0 for a new run); create it with the header when it does not exist.

    Raises `MetricsFileError`, before changing anything, when a line other than a torn last
    one cannot be read. Rows logged after `continue_from` by an earlier process are kept and
    marked superseded (a marker row), never deleted.
    """
    if not path.exists() or path.stat().st_size == 0:
        with atomic_write(path, "w", newline="") as f:
            csv.writer(f).writerow(CSV_COLUMNS)
        return
    data = path.read_bytes()
    torn = b"" if data.endswith(b"\n") else data[data.rfind(b"\n") + 1 :]
    header, rows = _parse(data[: len(data) - len(torn)].decode("utf-8", "replace"), path)
    if header != list(CSV_COLUMNS):  # an older version's file: the same rows, more columns
        with atomic_write(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(dict(zip(header, row)) for row in rows)
    elif torn:  # the last row was being written when the process died: cut off its fragment
        with open(path, "rb+") as f:
            f.truncate(len(data) - len(torn))
            os.fsync(f.fileno())
    if any(int(row[0]) > continue_from for row in rows):
        with open(path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=CSV_COLUMNS).writerow(
                {"step": continue_from, "resumed": 1}
            )


def check(path: Path) -> None:
    """Raise `MetricsFileError` when `prepare` would refuse `path`; change nothing."""
    if path.exists() and path.stat().st_size > 0:
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1] if not data.endswith(b"\n") else data
        _parse(complete.decode("utf-8", "replace"), path)


def read_metrics(path: Path) -> list[dict[str, str]]:
    """The rows of one history, as dicts of strings (blank = not applicable).

    Rows superseded by a resume (logged after the step a later marker names) are left out,
    and so are the markers and a torn last line.
    """
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows: list[dict[str, str]] = []
        for row in reader:
            if None in row or None in row.values() or not row["step"].isdigit():
                continue  # a torn line (too many or too few fields)
            if row.get("resumed"):
                resumed_from = int(row["step"])
                rows = [r for r in rows if int(r["step"]) <= resumed_from]
                continue
            rows.append(row)
    return rows


def _parse(text: str, path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the file's complete lines; `MetricsFileError` on anything else."""
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or not lines[0] or lines[0][0] != "step" or set(lines[0]) - set(CSV_COLUMNS):
        first = text.split("\n", 1)[0][:80]
        raise MetricsFileError(
            f"{path} does not start with a ddpg-robot metrics header (its first line is "
            f"{first!r}); nothing was changed: restore the header, or move the file away "
            "to start a new one"
        )
    header, rows = lines[0], lines[1:]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header) or not row[0].isdigit():
            raise MetricsFileError(
                f"line {number} of {path} is not a metrics row ({','.join(row)[:80]!r}); "
                "nothing was changed: fix or delete that line, then resume"
            )
    return header, rows
