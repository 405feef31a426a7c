"""Packaging and the command line: console script, help, and what lands in site-packages."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import tests.envs  # noqa: F401  (registers TestPoint-v0)

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """The `ddpg-robot` entry point in a new process; `columns` widens rich's help layout."""
    env = {**os.environ, "COLUMNS": str(columns)} if columns else None
    return subprocess.run(
        [sys.executable, "-c", "from ddpg_robot.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"^│ (\w+) ", result.stdout, flags=re.MULTILINE))
    commands = {"train", "export", "eval", "run", "plot", "sweep", "bench", "version"}
    assert commands <= listed, result.stdout


def test_version_prints_versions() -> None:
    result = run_cli("version")
    assert result.returncode == 0
    assert result.stdout.startswith("ddpg-robot 0.1.0")
    assert "torch " in result.stdout and "mujoco " in result.stdout


def test_unknown_command_fails_without_traceback() -> None:
    result = run_cli("fly")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "No such command" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "ddpg-robot"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Usage" in result.stdout


def test_wheel_installs_cli_under_ddpg_robot_only(tmp_path: Path) -> None:
    """cli/ must ship as ddpg_robot/cli/, never as a bare top-level `cli` package."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            "-q",
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("ddpg_robot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_levels = {name.split("/", 1)[0] for name in names}
    assert {t for t in top_levels if not t.endswith(".dist-info")} == {"ddpg_robot"}
    assert "ddpg_robot/cli/app.py" in names
    assert not any(name.startswith("cli/") for name in names)
    # Shipped policies ride along as package data, so Controller can open them by name.
    shipped = {p.name for p in (REPO / "models").glob("*.onnx")}
    assert shipped and {f"ddpg_robot/models/{name}" for name in shipped} <= set(names)


def test_train_options_are_generated_from_the_config_fields(tmp_path: Path) -> None:
    """Every TrainConfig field is a `train` option with its docstring as help, and a value
    given on the command line reaches config.json."""
    from ddpg_robot.config import TrainConfig, field_docs
    from tests.helpers import run_main

    result = run_cli("train", "--help", columns=400)
    assert result.returncode == 0, result.stderr
    docs = field_docs(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        if field.name == "env_id":
            continue
        flag = "--" + field.name.replace("_", "-")
        assert re.search(rf"│ {flag}\b", result.stdout), flag
        assert " ".join(docs[field.name].split()) in result.stdout, field.name
    run_dir = tmp_path / "run"
    code, _, err = run_main(["train", "TestPoint-v0", "--run-dir", str(run_dir), "--quiet",
                             "--total-steps", "60", "--learning-starts", "59", "--eval-every",
                             "0", "--noise-theta", "0.3", "--no-save-buffer"])  # fmt: skip
    assert code == 0, err
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["noise_theta"] == 0.3 and saved["save_buffer"] is False


def test_every_option_help_is_printed_whole() -> None:
    """Rich reads `[word: ...]` in a help text as markup and drops it; every option's help
    must reach `--help` intact (the defaults some options describe were lost that way)."""
    import typer
    from ddpg_robot.cli.app import app

    def commands(group, path: tuple[str, ...] = ()):
        if hasattr(group, "commands"):
            for name, sub in group.commands.items():
                yield from commands(sub, (*path, name))
        else:
            yield path, group

    checked = 0
    for path, command in commands(typer.main.get_command(app)):
        result = run_cli(*path, "--help", columns=400)
        assert result.returncode == 0, (path, result.stderr)
        printed = " ".join(result.stdout.split())
        for param in command.params:
            if getattr(param, "help", None):
                assert " ".join(param.help.split()) in printed, (path, param.name)
                checked += 1
    assert checked > 50
