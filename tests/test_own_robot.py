"""examples/own_robot: a user's MJCF arm in a user's module, trained, exported, evaluated and
run with the README's commands, each in a fresh process started in the example's folder (as
a user types them: the console script has no current folder on sys.path); the one-line
error from another folder; and env keyword arguments kept from `train` to every rebuild."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddpg_robot.checkpoint import load_checkpoint
from ddpg_robot.export import export_policy
from ddpg_robot.runtime import Controller
from tests.helpers import run_main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_robot"
CLI = str(Path(sys.executable).parent / "ddpg-robot")
TINY = ["--total-steps", "300", "--learning-starts", "200", "--batch-size", "32",
        "--hidden-sizes", "32,32", "--eval-every", "300", "--eval-episodes", "1",
        "--buffer-size", "1000", "--quiet"]  # fmt: skip
ACTIONS = ["shoulder_motor", "elbow_motor"]


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**environ, **env})  # fmt: skip


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train -> export -> eval -> run, as examples/own_robot/README.md says, at a tiny budget."""
    run_dir = tmp_path_factory.mktemp("own_robot") / "run"
    steps = [
        [CLI, "train", "myarm:MyArm-v0", "--env-kwargs", '{"xml_file": "arm.xml"}',
         "--run-dir", str(run_dir), *TINY],
        [CLI, "export", str(run_dir)],
        [CLI, "eval", str(run_dir / "policy.onnx"), "--episodes", "1"],
        [sys.executable, "-m", "ddpg_robot.cli", "run", str(run_dir / "policy.onnx"), "--steps",
         "50"],
    ]  # fmt: skip
    outputs = []
    for args in steps:
        result = _run(args, EXAMPLE)
        assert result.returncode == 0, (args[1:3], result.stderr)
        outputs.append(result.stdout)
    assert "note:" not in outputs[1]  # export made the env: real observations were probed
    assert outputs[2].startswith("myarm:MyArm-v0: return ")
    assert "50 steps unpaced" in outputs[3]
    return run_dir


def test_example_trains_exports_evaluates_and_runs_from_its_folder(example_run: Path) -> None:
    """The id as given, and the env's keyword arguments, are kept wherever the env is made
    again; the file names the arm's motors and observations."""
    config = json.loads((example_run / "config.json").read_text())
    assert config["env_id"] == "myarm:MyArm-v0"
    assert config["env_kwargs"] == {"xml_file": "arm.xml"}
    state = load_checkpoint(example_run / "checkpoints" / "last.pt")
    assert state["env"]["env_id"] == "myarm:MyArm-v0"
    assert state["env"]["action_names"] == ACTIONS
    controller = Controller(example_run / "policy.onnx")
    assert controller.metadata["env_id"] == "myarm:MyArm-v0"
    assert controller.metadata["env_kwargs"] == {"xml_file": "arm.xml"}
    assert controller.action_names == ACTIONS
    assert controller.observation_names[-2:] == ["(tip - target).x", "(tip - target).z"]
    assert controller.action_low.tolist() == [-2.0, -1.0]  # the MJCF's asymmetric ranges
    assert controller.action_high.tolist() == [6.0, 3.0]


def test_another_folder_gets_one_line_naming_the_module(example_run: Path, tmp_path) -> None:
    policy = str(example_run / "policy.onnx")
    result = _run([CLI, "eval", policy, "--episodes", "1"], tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: cannot import module 'myarm' for env 'myarm:MyArm-v0': it is neither in the "
        f"current folder ({tmp_path}) nor on PYTHONPATH; run from the folder that holds "
        "myarm.py, or set PYTHONPATH=/path/to/that/folder\n"
    )
    fixed = _run([CLI, "eval", policy, "--episodes", "1"], tmp_path, PYTHONPATH=str(EXAMPLE))
    assert fixed.returncode == 0, fixed.stderr


def test_env_kwargs_rebuild_the_same_env_everywhere(tmp_path: Path, monkeypatch) -> None:
    """An arm with other motor ranges, given as --env-kwargs: eval of the checkpoint and of
    the file, export's probes and resume all make that arm again, not the default one."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    xml = tmp_path / "strong_arm.xml"
    xml.write_text((EXAMPLE / "arm.xml").read_text().replace('ctrlrange="-2 6"',
                                                             'ctrlrange="-3 8"'))  # fmt: skip
    run_dir = tmp_path / "run"
    kwargs = json.dumps({"xml_file": str(xml)})
    code, _, err = run_main(["train", "myarm:MyArm-v0", "--env-kwargs", kwargs,
                             "--run-dir", str(run_dir), *TINY])  # fmt: skip
    assert code == 0, err
    for model in (run_dir, run_dir / "checkpoints" / "best.pt"):
        code, out, err = run_main(["eval", str(model), "--episodes", "1"])
        assert code == 0 and out.startswith("myarm:MyArm-v0: return "), err
    code, _, err = run_main(["eval", str(run_dir), "--episodes", "1", "--env-kwargs", "{}"])
    assert code == 2 and "actions in [-3, -1, 8, 3]" in err and "[-2, -1, 6, 3]" in err
    report = export_policy(run_dir)
    assert report.real_note is None and report.parity.kinds["real"].count > 0
    assert json.loads(report.metadata["env_kwargs"]) == {"xml_file": str(xml)}
    code, out, err = run_main(["eval", str(report.path), "--episodes", "1"])
    assert code == 0, err
    code, _, err = run_main(["train", "myarm:MyArm-v0", "--resume", "--run-dir", str(run_dir),
                             "--total-steps", "350", "--quiet"])  # fmt: skip
    assert code == 0, err
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == 350
    code, _, err = run_main(["train", "myarm:MyArm-v0", "--resume", "--run-dir", str(run_dir),
                             "--total-steps", "400", "--env-kwargs", "{}", "--quiet"])  # fmt: skip
    assert code == 2 and "cannot change --env-kwargs when resuming" in err
