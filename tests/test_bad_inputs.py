"""A careless operator's inputs: each ends in one line naming the problem and a non-zero exit.

The table runs the real command line in-process against real envs, files and policies;
tests/test_faults.py kills real trainers.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import tests.envs  # noqa: F401  (registers TestPoint-v0)
from ddpg_robot.export import export_policy
from tests.envs import PointEnv
from tests.helpers import mounted_tmpfs, run_main

QUICK = ["--learning-starts", "50", "--batch-size", "16", "--hidden-sizes", "16",
         "--eval-episodes", "1", "--buffer-size", "2000", "--quiet"]  # fmt: skip


class FixedActionEnv(PointEnv):
    """PointEnv with a second actuator whose range is a single value."""

    action_space = gym.spaces.Box(
        np.array([-1.0, 2.0], np.float32), np.array([1.0, 2.0], np.float32)
    )


class NoRenderModeEnv(PointEnv):
    """A user's env whose constructor takes no arguments at all."""

    def __init__(self) -> None:
        super().__init__()


class NaNObservationEnv(PointEnv):
    """PointEnv whose sensor drops out on the 6th step of every episode: NaN observations.
    It renders (a blank frame), so `eval --video` films it."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 100}

    def __init__(self, render_mode=None) -> None:
        self.render_mode = render_mode

    def render(self):
        return np.zeros((16, 16, 3), dtype=np.uint8)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.t += 1
        return (obs * np.nan if self.t >= 6 else obs), reward, terminated, truncated, info


for name, entry in (
    ("TestFixedAction-v0", FixedActionEnv),
    ("TestNoRenderMode-v0", NoRenderModeEnv),
    ("TestNaNObs-v0", NaNObservationEnv),
):
    if name not in gym.registry:
        gym.register(name, entry_point=entry, max_episode_steps=50)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished TestPoint-v0 run with an exported policy.onnx."""
    run_dir = tmp_path_factory.mktemp("bad") / "run"
    code, _, err = run_main(["train", "TestPoint-v0", "--run-dir", str(run_dir),
                             "--total-steps", "200", "--eval-every", "200", *QUICK])  # fmt: skip
    assert code == 0, err
    export_policy(run_dir)
    return run_dir


def _fails(args: list[str], *messages: str) -> str:
    code, _, err = run_main(args)
    assert code != 0, f"exit 0 for {args}"
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    for message in messages:
        assert message in err, err
    return err


def _point_run(tmp_path: Path, *extra: str) -> list[str]:
    return ["train", "TestPoint-v0", "--run-dir", str(tmp_path / "r"), "--total-steps", "100",
            *QUICK, *extra]  # fmt: skip


CASES = {
    # what the operator typed -> what the line must say
    "action dimension with low == high": (
        lambda t, p: ["train", "TestFixedAction-v0", "--run-dir", str(t / "r")],
        ["action 1 has low 2 and high 2"],
    ),
    "eval --video on an env whose constructor takes no render_mode": (
        lambda t, p: [
            "eval",
            str(p / "policy.onnx"),
            "--env",
            "TestNoRenderMode-v0",
            "--video",
            str(t / "v.mp4"),
        ],  # fmt: skip
        ["cannot create TestNoRenderMode-v0 with render_mode"],
    ),
    "run with a policy for another env": (
        lambda t, p: ["run", str(p / "policy.onnx"), "--env", "InvertedPendulum-v4"],
        ["the policy was trained on TestPoint-v0 (obs_dim 3"],
    ),
    "eval --seed -1": (
        lambda t, p: ["eval", str(p / "policy.onnx"), "--env", "TestPoint-v0", "--seed", "-1"],
        ["--seed must be an integer in [0, 2**32)"],
    ),
    "eval --seed 2**32": (
        lambda t, p: [
            "eval",
            str(p / "policy.onnx"),
            "--env",
            "TestPoint-v0",
            "--seed",
            str(2**32),
        ],  # fmt: skip
        ["--seed must be an integer in [0, 2**32)"],
    ),
    "run --seed -1": (
        lambda t, p: ["run", str(p / "policy.onnx"), "--env", "TestPoint-v0", "--seed", "-1"],
        ["--seed must be an integer in [0, 2**32)"],
    ),
    "train --seed 2**32": (
        lambda t, p: _point_run(t, "--seed", str(2**32)),
        ["--seed must be below 2**32"],
    ),
    "--run-dir is an existing file": (
        lambda t, p: ["train", "TestPoint-v0", "--run-dir", str(p / "metrics.csv"), *QUICK],
        ["is a file, not a folder"],
    ),
    "--buffer-size too large for memory": (
        lambda t, p: _point_run(t, "--buffer-size", str(10**12), "--batch-size", "16"),
        ["GiB", "for 1,000,000,000,000 transitions", "lower --buffer-size"],
    ),
    "--hidden-sizes too large for memory": (
        lambda t, p: _point_run(t, "--hidden-sizes", "200000,200000"),
        ["GiB for the networks"],
    ),
    "--total-steps below --learning-starts": (
        lambda t, p: [
            "train",
            "TestPoint-v0",
            "--run-dir",
            str(t / "r"),
            "--total-steps",
            "3000",
        ],  # fmt: skip
        ["--total-steps 3,000 is not above --learning-starts 10,000"],
    ),
    "--batch-size above --buffer-size": (
        lambda t, p: _point_run(t, "--batch-size", "512", "--buffer-size", "100"),
        ["--batch-size 512 is larger than --buffer-size 100"],
    ),
    "train on an env that emits NaN observations": (
        lambda t, p: [
            "train",
            "TestNaNObs-v0",
            "--run-dir",
            str(t / "r"),
            "--total-steps",
            "100",
            *QUICK,
        ],  # fmt: skip
        ["TestNaNObs-v0 returned a non-finite observation at step 6", "not the learner"],
    ),
    "eval on an env that emits NaN observations": (
        lambda t, p: ["eval", str(p / "policy.onnx"), "--env", "TestNaNObs-v0"],
        ["TestNaNObs-v0 returned a non-finite observation at step 6"],
    ),
    "eval --video on an env that emits NaN observations": (
        lambda t, p: [
            "eval",
            str(p / "policy.onnx"),
            "--env",
            "TestNaNObs-v0",
            "--video",
            str(t / "v.mp4"),
        ],  # fmt: skip
        ["TestNaNObs-v0 returned a non-finite observation at step 6"],
    ),
    "run on an env that emits NaN observations": (
        lambda t, p: ["run", str(p / "policy.onnx"), "--env", "TestNaNObs-v0"],
        ["TestNaNObs-v0 returned a non-finite observation at step 6"],
    ),
    "a config file's env_id disagrees with ENV_ID": (
        lambda t, p: _point_run(t, "--config", str(_toml(t, 'env_id = "Hopper-v4"'))),
        ["sets env_id 'Hopper-v4' but the command trains 'TestPoint-v0'"],
    ),
    "resume with a setting this version does not know": (
        lambda t, p: [
            "train",
            "TestPoint-v0",
            "--resume",
            "--run-dir",
            str(p),
            "--config",
            str(_toml(t, "learning-rate = 0.1")),
        ],  # fmt: skip
        ["unknown setting(s) learning_rate"],
    ),
    "resume with --total-steps below where the run is": (
        lambda t, p: [
            "train",
            "TestPoint-v0",
            "--resume",
            "--run-dir",
            str(p),
            "--total-steps",
            "150",
        ],  # fmt: skip
        ["is at step 200 already, past --total-steps 150"],
    ),
    "plot a run whose config.json is a list": (
        lambda t, p: ["plot", str(_run_with_list_config(t, p)), "-o", str(t / "c.png")],
        ["config.json holds a list, not settings"],
    ),
    "plot -o with an unknown image type": (
        lambda t, p: ["plot", str(p), "-o", str(t / "out.xyz")],
        ["cannot write a .xyz file", ".png"],
    ),
    "plot -o onto a folder": (
        lambda t, p: ["plot", str(p), "-o", str(t)],
        ["is a folder; give a file name"],
    ),
    "export -o onto a folder": (
        lambda t, p: ["export", str(p), "-o", str(t)],
        ["is a folder; give a file name"],
    ),
    "bench train --rounds 0": (
        lambda t, p: ["bench", "train", "TestPoint-v0", "--rounds", "0"],
        ["--rounds and --updating-steps must be at least 1"],
    ),
    "bench latency --calls 0": (
        lambda t, p: ["bench", "latency", str(p / "policy.onnx"), "--calls", "0"],
        ["--calls must be at least 1"],
    ),
    "run --hz nan": (
        lambda t, p: ["run", str(p / "policy.onnx"), "--env", "TestPoint-v0", "--hz", "nan"],
        ["--hz must be a positive number"],
    ),
    "sweep with an unknown env": (
        lambda t, p: ["sweep", "NoSuch-v0", "--seeds", "1", "--out", str(t / "s")],
        ["cannot make env 'NoSuch-v0'"],
    ),
}


def _toml(folder: Path, text: str) -> Path:
    path = folder / "settings.toml"
    path.write_text(text + "\n")
    return path


def _run_with_list_config(folder: Path, trained: Path) -> Path:
    run = folder / "listed"
    run.mkdir()
    (run / "metrics.csv").write_bytes((trained / "metrics.csv").read_bytes())
    (run / "config.json").write_text(json.dumps([1, 2, 3]))
    return run


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line(case: str, trained: Path, tmp_path: Path) -> None:
    make_args, messages = CASES[case]
    before = (trained / "metrics.csv").read_bytes()
    _fails(make_args(tmp_path, trained), *messages)
    assert (trained / "metrics.csv").read_bytes() == before  # nothing of the run changed


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A read-only file system (a tmpfs mounted ro): root ignores permission bits, not this."""
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        yield folder


def test_read_only_places_are_one_line(read_only_folder: Path, trained: Path) -> None:
    _fails(["export", str(trained), "-o", str(read_only_folder / "p.onnx")],
           f"cannot write {read_only_folder / 'p.onnx'}: Read-only file system")  # fmt: skip
    _fails(["train", "TestPoint-v0", "--run-dir", str(read_only_folder / "run"), *QUICK,
            "--total-steps", "100"], "cannot use", "Read-only file system")  # fmt: skip
    _fails(["plot", str(trained), "-o", str(read_only_folder / "c.png")],
           "read-only file system")  # fmt: skip
