"""Tiny Gymnasium envs for tests: fast, deterministic, with asymmetric action bounds."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

LOW = np.array([-2.0, 0.0], dtype=np.float32)
HIGH = np.array([1.0, 5.0], dtype=np.float32)


class PointEnv(gym.Env):
    """A point pushed by two asymmetric actuators; reward is closeness to the origin."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float64)
    action_space = gym.spaces.Box(LOW, HIGH, dtype=np.float32)
    dt = 0.01  # seconds per step, read as control_dt

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.np_random.uniform(-1.0, 1.0, 3)
        return self.state.copy(), {}

    def step(self, action):
        a = np.asarray(action, dtype=np.float64)
        self.state = 0.9 * self.state + 0.1 * np.array([a[0], a[1] - 2.5, a[0] - a[1] / 5])
        reward = -float(np.abs(self.state).sum())
        return self.state.copy(), reward, False, False, {}


if "TestPoint-v0" not in gym.registry:
    gym.register("TestPoint-v0", entry_point=PointEnv, max_episode_steps=50)


class WidePointEnv(PointEnv):
    """PointEnv observed in wide units (like raw encoder counts or pressures): the state's
    coordinates scaled by 1, 300 and 2,000, so a policy's first layer sees large inputs."""

    SCALE = np.array([1.0, 300.0, 2000.0])

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs * self.SCALE, info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs * self.SCALE, reward, terminated, truncated, info


if "TestWidePoint-v0" not in gym.registry:
    gym.register("TestWidePoint-v0", entry_point=WidePointEnv, max_episode_steps=50)
