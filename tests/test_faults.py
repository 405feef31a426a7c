"""What survives a crash: kills mid-checkpoint, two trainers on one folder, flipped bits,
torn and foreign metrics files, a full disk. docs/training.md states the promises."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ddpg_robot.checkpoint import load_checkpoint
from ddpg_robot.metrics_file import read_metrics
from tests.helpers import mounted_tmpfs, run_main

TRAIN = [sys.executable, "-c", "from ddpg_robot.cli.app import main; main()", "train",
         "InvertedPendulum-v4", "--learning-starts", "100", "--batch-size", "32",
         "--hidden-sizes", "64,64", "--eval-every", "300", "--eval-episodes", "1",
         "--buffer-size", "20000", "--no-compile"]  # fmt: skip


def _temp_files(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.rglob(".*.tmp")]


def _start(run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*TRAIN, "--run-dir", str(run_dir), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_for(condition, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"trainer ended early: {proc.stderr.read()}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


@pytest.mark.slow
def test_kills_during_checkpoint_writes_lose_nothing(tmp_path: Path) -> None:
    """24 SIGKILLs, half the moment a checkpoint's temp file appears (mid-write), half at
    random: every resume continues from the checkpoint on disk, metrics.csv only grows,
    and no temp file outlives the next start."""
    run_dir, rng = tmp_path / "run", random.Random(0)
    total, every = 30_000, 40  # frequent checkpoints with the buffer in them: long writes
    args = [
        "--total-steps",
        str(total),
        "--checkpoint-every",
        str(every),
        "--hidden-sizes",
        "256,256",
    ]  # ~5 MB of weights and Adam moments per checkpoint
    mid_write, most_orphans, previous_lines = 0, 0, 0
    for kill in range(24):
        resuming = (run_dir / "checkpoints" / "last.pt").exists()
        saved = load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] if resuming else 0
        proc = _start(run_dir, *args, *(["--resume"] if resuming else []))
        if kill % 2 == 0:  # the moment a checkpoint is being written
            _wait_for(lambda: bool(list((run_dir / "checkpoints").glob(".*.tmp"))), proc)
            time.sleep(rng.uniform(0, 0.002))
        else:  # any time: importing, making envs, taking the lock, training, evaluating
            time.sleep(rng.uniform(0.5, 8.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        orphans = len(_temp_files(run_dir))
        mid_write += orphans > 0
        most_orphans = max(most_orphans, orphans)  # cleared at each start: they never pile up
        lines = (run_dir / "metrics.csv").read_text().count("\n")
        assert lines >= previous_lines  # nothing logged before was removed
        previous_lines = lines
        if (run_dir / "checkpoints" / "last.pt").exists():
            state = load_checkpoint(run_dir / "checkpoints" / "last.pt")  # whole, checksum ok
            assert state["step"] >= saved and state["step"] % every == 0
        else:  # killed during the run's very first save: nothing to resume, start anew
            assert saved == 0
    assert mid_write >= 6  # the kills did land inside checkpoint writes
    assert most_orphans <= 2

    before = load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"]
    lines_before = (run_dir / "metrics.csv").read_text().count("\n")
    final = before + 200
    proc = _start(run_dir, "--resume", *args[4:], "--total-steps", str(final))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"from step {before:,}" in out  # continued from the checkpoint on disk
    assert _temp_files(run_dir) == []
    assert (run_dir / "metrics.csv").read_text().count("\n") >= lines_before
    steps = [int(r["step"]) for r in read_metrics(run_dir / "metrics.csv")]
    assert steps == sorted(steps) and steps[-1] == final  # one history, in order
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == final


def test_a_second_trainer_on_a_live_run_dir_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = _start(run_dir, "--total-steps", "100000", "--checkpoint-every", "200")
    try:
        _wait_for(lambda: (run_dir / "checkpoints" / "last.pt").exists(), first)
        metrics_before = (run_dir / "metrics.csv").read_bytes()
        for extra in ([], ["--resume"]):
            code, _, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(run_dir),
                                     "--total-steps", "500", "--learning-starts", "100",
                                     *extra])  # fmt: skip
            assert code != 0 and "Traceback" not in err
            assert f"is in use by another trainer (pid {first.pid})" in err, err
            assert len(err.strip().splitlines()) == 1
        assert (run_dir / "metrics.csv").read_bytes().startswith(metrics_before)
        assert first.poll() is None  # the first trainer carries on
    finally:
        first.kill()
        first.wait()
    # The lock dies with its process: no stale lock after a kill -9.
    step = load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"]
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(run_dir), "--quiet",
                             "--resume", "--total-steps", str(step + 10)])  # fmt: skip
    assert code == 0, err


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("faults") / "run"
    proc = _start(run_dir, "--total-steps", "400", "--quiet")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return run_dir


def _flip_a_weight_bit(checkpoint: Path, out: Path) -> None:
    """Flip one bit of the actor's first weight, where it lies in the file's bytes."""
    weight = load_checkpoint(checkpoint)["learner"]["actor"]["net.0.weight"]
    data = bytearray(checkpoint.read_bytes())
    where = bytes(data).find(weight.numpy().tobytes()[:64])
    assert where > 0
    data[where + 2] ^= 0x40  # an exponent bit: the weight becomes huge, not NaN-obvious
    out.write_bytes(bytes(data))


def test_a_flipped_bit_is_reported_as_corruption(finished: Path, tmp_path: Path) -> None:
    corrupted = tmp_path / "best.pt"
    _flip_a_weight_bit(finished / "checkpoints" / "best.pt", corrupted)
    for args in (["eval", str(corrupted), "--env", "InvertedPendulum-v4", "--episodes", "1"],
                 ["export", str(corrupted), "-o", str(tmp_path / "p.onnx")]):  # fmt: skip
        code, _, err = run_main(args)
        assert code != 0 and "Traceback" not in err
        assert "is corrupted (checksum mismatch)" in err, err
        assert "learning rate" not in err and "diverged" not in err
    assert not (tmp_path / "p.onnx").exists()


def test_a_file_that_is_not_a_checkpoint_never_suggests_unsafe_loading(tmp_path: Path) -> None:
    pickled = tmp_path / "model.pt"
    torch.save({"format_version": 1, "model": torch.nn.Linear(2, 2)}, pickled)  # a module
    zipped = tmp_path / "notes.pt"
    zipped.write_bytes(b"PK\x03\x04 not really a zip archive")
    for path, what in ((pickled, "holds Python objects"), (zipped, "not a readable")):
        code, _, err = run_main(["export", str(path)])
        assert code != 0 and what in err, err
        assert "weights_only" not in err and "Re-running" not in err
        assert len(err.strip().splitlines()) == 1


def test_resume_keeps_every_row_and_cuts_only_a_torn_last_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = _start(run_dir, "--total-steps", "400", "--checkpoint-every", "200", "--quiet")
    assert proc.wait(timeout=300) == 0
    metrics = run_dir / "metrics.csv"
    complete = metrics.read_text()
    metrics.write_text(complete + "401,12.5,3")  # a kill in the middle of writing a row
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--resume", "--run-dir",
                             str(run_dir), "--total-steps", "600", "--quiet"])  # fmt: skip
    assert code == 0, err
    text = metrics.read_text()
    assert text.startswith(complete) and "401,12.5,3\n" not in text and "401,12.5,3" not in text
    assert [int(r["step"]) for r in read_metrics(metrics)][-1] == 600


def _garbage_after_row_2(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join([*lines[:3], "garbage from an editor\n", *lines[3:]])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda text: text.split("\n", 1)[1], "does not start with a ddpg-robot metrics header"),
        (_garbage_after_row_2, "line 4 of"),
    ],
)
def test_a_metrics_file_that_cannot_be_understood_stops_resume_untouched(
    finished: Path, tmp_path: Path, damage, message: str
) -> None:
    run_dir = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(finished), str(run_dir)], check=True)
    metrics = run_dir / "metrics.csv"
    metrics.write_text(damage(metrics.read_text()))
    before = metrics.read_bytes()
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--resume", "--run-dir",
                             str(run_dir), "--total-steps", "600", "--quiet"])  # fmt: skip
    assert code != 0 and message in err and "nothing was changed" in err, err
    assert len(err.strip().splitlines()) == 1
    assert metrics.read_bytes() == before  # not one byte lost
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == 400


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 3 MB tmpfs: room for a run's files, not for a checkpoint with its buffer."""
    with mounted_tmpfs(tmp_path / "small", "size=3m") as folder:
        yield folder


def test_a_full_disk_is_one_line_and_leaves_no_temp_files(small_disk: Path) -> None:
    run_dir = small_disk / "run"
    proc = _start(run_dir, "--total-steps", "3000", "--checkpoint-every", "200",
                  "--buffer-size", "100000", "--hidden-sizes", "256,256", "--quiet")  # fmt: skip
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert "no space left" in err.lower(), err
    assert len(err.strip().splitlines()) == 1, err
    assert _temp_files(run_dir) == []
    if (run_dir / "checkpoints" / "last.pt").exists():
        load_checkpoint(run_dir / "checkpoints" / "last.pt")  # the previous one is whole
