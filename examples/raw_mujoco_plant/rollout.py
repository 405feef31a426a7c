"""Episodes of a plant driven by a control loop, with the figures a test checks."""

from __future__ import annotations

import numpy as np
from plant import EPISODE_STEPS, HalfCheetahPlant


class Rollout:
    """`read_obs()` / `write_action(action)` for a ControlLoop, episode after episode.

    Episode 1 starts with a plain `reset()` of the seeded plant, as `ddpg-robot eval` resets
    its seeded env before each episode; after EPISODE_STEPS periods the episode's return is
    recorded and the next one starts. Every action is checked against the actuators'
    ctrlrange (MuJoCo would clamp it silently).
    """

    def __init__(self, plant: HalfCheetahPlant) -> None:
        self.plant = plant
        self.returns: list[float] = []
        self.steps = 0
        self.outside_ctrlrange = 0
        self.action_min = np.full(plant.act_dim, np.inf)
        self.action_max = np.full(plant.act_dim, -np.inf)
        self._return = 0.0
        self._episode_step = 0
        self._obs = plant.reset()

    def read_obs(self) -> np.ndarray:
        return self._obs

    def write_action(self, action: np.ndarray) -> None:
        plant = self.plant
        if ((action < plant.action_low) | (action > plant.action_high)).any():
            self.outside_ctrlrange += 1
        np.minimum(self.action_min, action, out=self.action_min)
        np.maximum(self.action_max, action, out=self.action_max)
        self._return += plant.step(action)
        self.steps += 1
        self._episode_step += 1
        if self._episode_step == EPISODE_STEPS:
            self.returns.append(self._return)
            self._return, self._episode_step = 0.0, 0
            self._obs = plant.reset()
        else:
            self._obs = plant.observation()

    def report(self) -> dict:
        """Returns of finished episodes and the range of the actions applied."""
        return {
            "steps": self.steps,
            "returns": self.returns,
            "action_min": self.action_min.tolist(),
            "action_max": self.action_max.tolist(),
            "ctrlrange": [self.plant.action_low.tolist(), self.plant.action_high.tolist()],
            "outside_ctrlrange": self.outside_ctrlrange,
        }
