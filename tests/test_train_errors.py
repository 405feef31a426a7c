"""Every bad input to `ddpg-robot train` ends in one clear line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tests.test_envs  # noqa: F401  (registers TestUnboundedActions-v0)
from tests.helpers import run_main


def _fails_with(args: list[str], message: str) -> str:
    code, _, err = run_main(args)
    assert code != 0
    assert "Traceback" not in err
    assert message in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return err


def test_unknown_env_suggests_close_names(tmp_path: Path) -> None:
    err = _fails_with(["train", "HalfCheetah-v9", "--run-dir", str(tmp_path / "r")],
                      "cannot make env 'HalfCheetah-v9'")  # fmt: skip
    assert "Did you mean HalfCheetah-v" in err
    assert not (tmp_path / "r").exists()  # nothing written for a run that never started


def test_discrete_actions(tmp_path: Path) -> None:
    _fails_with(["train", "CartPole-v1", "--run-dir", str(tmp_path / "r")],
                "DDPG needs continuous actions")  # fmt: skip


def test_unbounded_actions(tmp_path: Path) -> None:
    _fails_with(["train", "TestUnboundedActions-v0", "--run-dir", str(tmp_path / "r")],
                "unbounded actions")  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--total-steps", "0", "--total-steps must be a positive integer"),
        ("--batch-size", "-4", "--batch-size must be a positive integer"),
        ("--buffer-size", "0", "--buffer-size must be a positive integer"),
        ("--eval-episodes", "0", "--eval-episodes must be a positive integer"),
        ("--learning-starts", "-1", "--learning-starts must be an integer >= 0"),
        ("--eval-every", "-10", "--eval-every must be an integer >= 0"),
        ("--checkpoint-every", "-1", "--checkpoint-every must be an integer >= 0"),
        ("--hidden-sizes", "256,-1", "--hidden-sizes must be positive"),
        ("--noise", "pink", "--noise must be one of ou, gaussian, none"),
        ("--tau", "0", "--tau must be in (0, 1]"),
    ],
)
def test_bad_numbers_and_choices(tmp_path: Path, flag: str, value: str, message: str) -> None:
    _fails_with(["train", "InvertedPendulum-v4", "--run-dir", str(tmp_path / "r"), flag, value],
                message)  # fmt: skip


def test_malformed_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("total-steps = = 5\n")
    _fails_with(["train", "InvertedPendulum-v4", "--config", str(bad)], "is not valid TOML")
    _fails_with(["train", "InvertedPendulum-v4", "--config", str(tmp_path / "none.toml")],
                "does not exist")  # fmt: skip
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("learning-rate = 0.001\n")
    _fails_with(["train", "InvertedPendulum-v4", "--config", str(unknown)],
                "unknown setting(s) learning_rate")  # fmt: skip


def test_config_file_values_apply_and_flags_override(tmp_path: Path) -> None:
    from ddpg_robot.config import load_config_file, resolve_config

    path = tmp_path / "c.toml"
    path.write_text('total-steps = 1234\nhidden_sizes = [64, 64]\nnoise = "gaussian"\n')
    config = resolve_config("Hopper-v4", {**load_config_file(path), "noise": "none"})
    assert (config.total_steps, config.hidden_sizes, config.noise) == (1234, (64, 64), "none")


def test_resume_without_checkpoint(tmp_path: Path) -> None:
    _fails_with(["train", "InvertedPendulum-v4", "--resume", "--run-dir", str(tmp_path)],
                "cannot resume")  # fmt: skip
    _fails_with(["train", "InvertedPendulum-v4", "--resume"], "--resume needs --run-dir")


def test_corrupt_checkpoint_on_resume(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint at all")
    _fails_with(["train", "InvertedPendulum-v4", "--resume", "--run-dir", str(tmp_path)],
                "is not a readable ddpg-robot checkpoint: truncated, damaged")  # fmt: skip


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(tmp_path: Path) -> None:
    _fails_with(["train", "InvertedPendulum-v4", "--device", "cuda", "--run-dir", str(tmp_path)],
                "CUDA is not available")  # fmt: skip


def test_existing_run_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"x")
    _fails_with(["train", "InvertedPendulum-v4", "--run-dir", str(tmp_path)],
                "already holds a run; add --resume")  # fmt: skip
    assert (tmp_path / "checkpoints" / "last.pt").read_bytes() == b"x"


def test_resume_refuses_to_change_the_algorithm(tmp_path: Path) -> None:
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(tmp_path),
                             "--total-steps", "60", "--learning-starts", "50", "--eval-every",
                             "0", "--quiet"])  # fmt: skip
    assert code == 0, err
    _fails_with(["train", "InvertedPendulum-v4", "--resume", "--run-dir", str(tmp_path),
                 "--lr-actor", "0.5"], "cannot change --lr-actor when resuming")  # fmt: skip
    _fails_with(["train", "Hopper-v4", "--resume", "--run-dir", str(tmp_path)],
                "is a InvertedPendulum-v4 run, not Hopper-v4")  # fmt: skip
