"""make_env: real MuJoCo envs, seeding, and one clear error for envs DDPG cannot drive."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest

from ddpg_robot.envs import env_info, make_env
from ddpg_robot.errors import EnvError


class _UnboundedActionEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, False, {}


class _DictObsEnv(_UnboundedActionEnv):
    observation_space = gym.spaces.Dict({"x": gym.spaces.Box(-1.0, 1.0, (2,), np.float32)})
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)


gym.register("TestUnboundedActions-v0", entry_point=_UnboundedActionEnv)
gym.register("TestDictObs-v0", entry_point=_DictObsEnv)


def test_mujoco_env_info() -> None:
    env = make_env("InvertedPendulum-v4", seed=0)
    info = env_info(env)
    assert (info.obs_dim, info.act_dim) == (4, 1)
    np.testing.assert_array_equal(info.action_low, [-3.0])
    np.testing.assert_array_equal(info.action_high, [3.0])
    assert info.control_dt == pytest.approx(0.04)
    env.close()


def test_same_seed_same_trajectory() -> None:
    def rollout(seed: int) -> np.ndarray:
        env = make_env("HalfCheetah-v4", seed=seed)
        obs, _ = env.reset()
        trace = [obs]
        for _ in range(20):
            obs, *_ = env.step(env.action_space.sample())
            trace.append(obs)
        env.close()
        return np.stack(trace)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.allclose(rollout(3), rollout(4))


def test_unknown_env_suggests_close_names() -> None:
    with pytest.raises(EnvError, match="HalfCheetah-v4") as err:
        make_env("HalfCheeta-v4")
    assert "\n" not in str(err.value)
    assert "Did you mean" in str(err.value)


def test_discrete_actions_are_rejected() -> None:
    with pytest.raises(EnvError, match="Discrete action space; DDPG needs continuous"):
        make_env("CartPole-v1")


def test_unbounded_actions_are_rejected() -> None:
    with pytest.raises(EnvError, match="unbounded actions"):
        make_env("TestUnboundedActions-v0")


def test_non_flat_observations_are_rejected() -> None:
    with pytest.raises(EnvError, match="FlattenObservation"):
        make_env("TestDictObs-v0")


USER_MODULE = """
import sys

import gymnasium as gym
from tests.envs import PointEnv

gym.register("CwdPoint-v0", entry_point=PointEnv, max_episode_steps=5)
"""


def test_a_users_module_is_found_in_the_current_folder(tmp_path, monkeypatch) -> None:
    """A console script has no current folder on sys.path: make_env looks there too, and
    keeps the id as given (it is what makes the env again)."""
    (tmp_path / "cwdrobot.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "cwdrobot", raising=False)
    env = make_env("cwdrobot:CwdPoint-v0", seed=0)
    assert env_info(env, "cwdrobot:CwdPoint-v0").env_id == "cwdrobot:CwdPoint-v0"


@pytest.mark.parametrize(
    ("files", "env_id", "message"),
    [
        ({}, "nosuchrobot:Arm-v0", "cannot import module 'nosuchrobot' for env "
         "'nosuchrobot:Arm-v0': it is neither in the current folder"),
        ({"brokenrobot.py": "raise RuntimeError('no CAN bus')"}, "brokenrobot:Arm-v0",
         "importing module 'brokenrobot' for env 'brokenrobot:Arm-v0' failed: RuntimeError: "
         "no CAN bus"),
        ({"needsrobot.py": "import nosuchdriver"}, "needsrobot:Arm-v0",
         "a module it needs is missing (No module named 'nosuchdriver')"),
        ({"silentrobot.py": ""}, "silentrobot:Arm-v0", "Importing silentrobot did not "
         "register Arm-v0: call gymnasium.register('Arm-v0', entry_point=...) at the top"),
    ],
)  # fmt: skip
def test_a_users_module_that_fails_is_one_line(
    tmp_path, monkeypatch, files: dict, env_id: str, message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(EnvError) as err:
        make_env(env_id)
    assert message in str(err.value) and "\n" not in str(err.value)
