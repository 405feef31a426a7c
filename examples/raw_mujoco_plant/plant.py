"""HalfCheetah-v4 as a plant built on MuJoCo alone: no gymnasium import.

A robot stack has no gymnasium: it has a simulator or the hardware, and it builds the
observation itself. This module rebuilds what gymnasium's HalfCheetah-v4 does, operation
for operation, so that a policy trained on the gymnasium env scores the same here:

- the model: gymnasium's own MJCF file (`half_cheetah.xml`), found on disk through the
  import system's file lookup, which locates the package without running it;
- one control period: `frame_skip` = 5 MuJoCo steps of 0.01 s, so dt = 0.05 s;
- the observation: qpos[1:] then qvel (17 numbers; the x position is left out);
- the reward: forward velocity (weight 1.0) minus 0.1 * sum(action^2);
- the reset: mj_resetData, then qpos noise uniform in [-0.1, 0.1] and qvel noise
  0.1 * standard normal, drawn in that order from `np.random.Generator(PCG64(SeedSequence(seed)))`,
  the generator gymnasium's `reset(seed=seed)` makes;
- an episode ends after 1000 control periods (the env's registered time limit).
"""

from __future__ import annotations

import importlib.util
import os

import mujoco
import numpy as np

FRAME_SKIP = 5
FORWARD_REWARD_WEIGHT = 1.0
CTRL_COST_WEIGHT = 0.1
RESET_NOISE_SCALE = 0.1
EPISODE_STEPS = 1000
"""HalfCheetah-v4's time limit: after this many control periods an episode is cut."""


def half_cheetah_xml() -> str:
    """Path of gymnasium's HalfCheetah MJCF, found without importing gymnasium."""
    spec = importlib.util.find_spec("gymnasium")  # locates the package; runs none of it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "gymnasium's half_cheetah.xml not found (the package is not installed): "
            "pass --xml PATH to a copy of the MJCF"
        )
    folder = list(spec.submodule_search_locations)[0]
    return os.path.join(folder, "envs", "mujoco", "assets", "half_cheetah.xml")


class HalfCheetahPlant:
    """The simulated robot: `observation()`, `step(action) -> reward`, `reset()`.

    `HalfCheetahPlant(seed=S)` is in the state of `gymnasium.make("HalfCheetah-v4")` after
    `reset(seed=S)`; each `reset()` then continues the same random stream, as the env's plain
    `reset()` does.
    """

    def __init__(self, seed: int | None = None, xml_path: str | None = None) -> None:
        self.model = mujoco.MjModel.from_xml_path(xml_path or half_cheetah_xml())
        self.data = mujoco.MjData(self.model)
        self.init_qpos = self.data.qpos.copy()
        self.init_qvel = self.data.qvel.copy()
        self.dt = self.model.opt.timestep * FRAME_SKIP
        """Seconds per control period (0.05)."""
        ctrlrange = self.model.actuator_ctrlrange.astype(np.float32)
        self.action_low, self.action_high = ctrlrange[:, 0].copy(), ctrlrange[:, 1].copy()
        self.obs_dim = self.model.nq - 1 + self.model.nv
        self.act_dim = self.model.nu
        self._rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        self.reset()

    def reset(self) -> np.ndarray:
        """Start an episode near the standing pose; returns the first observation."""
        mujoco.mj_resetData(self.model, self.data)
        noise = RESET_NOISE_SCALE
        qpos = self.init_qpos + self._rng.uniform(low=-noise, high=noise, size=self.model.nq)
        qvel = self.init_qvel + noise * self._rng.standard_normal(self.model.nv)
        self.data.qpos[:] = qpos
        self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)
        return self.observation()

    def observation(self) -> np.ndarray:
        """float64 (17,): joint positions without the x position, then joint velocities."""
        return np.concatenate((self.data.qpos[1:], self.data.qvel))

    def step(self, action: np.ndarray) -> float:
        """Apply `action` (actuator units, float32 as a Controller returns it) for one
        control period; returns the reward earned over it."""
        x_before = self.data.qpos[0]
        self.data.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=FRAME_SKIP)
        x_velocity = (self.data.qpos[0] - x_before) / self.dt
        ctrl_cost = CTRL_COST_WEIGHT * np.sum(np.square(action))
        return float(FORWARD_REWARD_WEIGHT * x_velocity - ctrl_cost)
