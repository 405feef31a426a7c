"""Every shipped policy: metadata against its env, the card's sha256, and a real evaluation."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from ddpg_robot.envs import env_info, make_env
from ddpg_robot.evaluation import evaluate_policy
from ddpg_robot.runtime import Controller, shipped_models

MODELS = Path(__file__).resolve().parents[1] / "models"
# name -> (env id, floor on the mean deterministic return over `episodes` episodes)
FLOORS = {
    "invertedpendulum-v4": ("InvertedPendulum-v4", 950.0, 5),
    "halfcheetah-v4": ("HalfCheetah-v4", 6000.0, 5),
    "hopper-v4": ("Hopper-v4", 2500.0, 5),
    "walker2d-v4": ("Walker2d-v4", 2500.0, 5),
    "ant-v4": ("Ant-v4", 3000.0, 5),
}


def test_halfcheetah_names_its_actions_as_mujoco_does() -> None:
    import mujoco

    model = make_env("HalfCheetah-v4").unwrapped.model
    actuators = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, i) for i in range(model.nu)]
    assert Controller("halfcheetah-v4").action_names == actuators


def test_relabelling_a_shipped_file_changes_nothing(tmp_path: Path) -> None:
    """The command that wrote the names is repeatable: run again it writes the same bytes."""
    from ddpg_robot.relabel import relabel_policy

    for name in FLOORS:
        out = relabel_policy(MODELS / f"{name}.onnx", tmp_path / f"{name}.onnx").path
        assert out.read_bytes() == (MODELS / f"{name}.onnx").read_bytes()


def test_every_shipped_file_has_a_floor_and_a_card() -> None:
    files = sorted(p.stem for p in MODELS.glob("*.onnx"))
    assert files and files == sorted(FLOORS)
    card = (MODELS / "README.md").read_text()
    for name in files:
        digest = hashlib.sha256((MODELS / f"{name}.onnx").read_bytes()).hexdigest()
        section = card.split(f"## {name}.onnx", 1)[1].split("\n## ", 1)[0]
        assert re.search(rf"sha256 \| `{digest}`", section), f"{name}: sha256 differs from card"
        size = (MODELS / f"{name}.onnx").stat().st_size
        assert f"{size:,} bytes" in section


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_shipped_model_matches_its_env_and_performs(name: str) -> None:
    env_id, floor, episodes = FLOORS[name]
    assert name in shipped_models()  # installed with the package, opened by name below
    controller = Controller(name)
    assert controller.metadata["env_id"] == env_id
    env = make_env(env_id, seed=123)
    info = env_info(env)
    assert (controller.obs_dim, controller.act_dim) == (info.obs_dim, info.act_dim)
    np.testing.assert_array_equal(controller.action_low, info.action_low)
    np.testing.assert_array_equal(controller.action_high, info.action_high)
    assert controller.control_dt == pytest.approx(info.control_dt)
    assert controller.action_names == list(info.action_names)  # derived from MuJoCo
    assert controller.observation_names == list(info.observation_names)
    returns = evaluate_policy(controller.act, env, episodes)
    env.close()
    assert returns.mean() >= floor, f"{name}: mean return {returns.mean():.1f} < {floor}"
