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
}


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
    returns = evaluate_policy(controller.act, env, episodes)
    env.close()
    assert returns.mean() >= floor, f"{name}: mean return {returns.mean():.1f} < {floor}"
