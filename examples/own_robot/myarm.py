"""MyArm-v0: the two-joint arm of arm.xml reaching for a random target, as a Gymnasium env.

Importing this module registers `MyArm-v0`, so `ddpg-robot train myarm:MyArm-v0` (run from
this folder, or with it on PYTHONPATH) imports it and makes the env. docs/own-robot.md walks
through what an env must provide; this one provides:

- `action_space`: one torque per motor, in N m, inside each motor's `ctrlrange` (MujocoEnv
  reads them from the MJCF: [-2, 6] and [-1, 3]);
- `observation_space`: a flat Box of the 10 entries named in `observation_names`;
- `dt`: seconds between two actions, `frame_skip` * the MJCF's timestep (0.02 s);
- `terminated` is never True: nothing ends an episode early (the arm cannot fall or break),
  and the 100-step time limit registered below truncates it, which training bootstraps
  through.

Keyword arguments (`--env-kwargs '{"xml_file": "arm.xml", "frame_skip": 2}'`): `xml_file`,
the MJCF (a relative path is taken from this folder, so any working directory finds it), and
`frame_skip`, MuJoCo steps per action.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco import MujocoEnv

HERE = Path(__file__).resolve().parent
EPISODE_STEPS = 100
"""2 s at the default 0.02 s per action: time to lift the arm and hold the tip there."""


class MyArmEnv(MujocoEnv):
    """Reward per step: minus the tip's distance to the target in metres, minus 0.001 times
    the squared torques (N m): reach, and do not waste effort."""

    metadata = {"render_modes": ["human", "rgb_array", "depth_array"]}
    observation_names = (
        "cos(qpos.shoulder)",
        "sin(qpos.shoulder)",
        "cos(qpos.elbow)",
        "sin(qpos.elbow)",
        "qvel.shoulder",
        "qvel.elbow",
        "target.x",
        "target.z",
        "(tip - target).x",
        "(tip - target).z",
    )
    """What each observation entry is, in order: exported into the ONNX file."""

    def __init__(self, xml_file: str = "arm.xml", frame_skip: int = 2, **kwargs) -> None:
        path = Path(xml_file).expanduser()
        path = path if path.is_absolute() else HERE / path
        observation_space = gym.spaces.Box(-np.inf, np.inf, (10,), np.float64)
        MujocoEnv.__init__(
            self,
            str(path),
            frame_skip,
            observation_space=observation_space,
            default_camera_config={
                "distance": 1.6,
                "azimuth": 90.0,
                "elevation": 0.0,
                "lookat": np.array([0.15, 0.0, 0.0]),
            },  # fmt: skip
            **kwargs,
        )
        self.metadata = {**self.metadata, "render_fps": int(round(1.0 / self.dt))}
        self._tip = self.model.site("tip").id
        self._target = self.model.body("target").mocapid[0]

    def step(self, action: np.ndarray):
        self.do_simulation(action, self.frame_skip)
        obs = self._get_obs()
        distance = float(np.linalg.norm(obs[8:10]))
        reward = -distance - 0.001 * float(np.square(action).sum())
        if self.render_mode == "human":
            self.render()
        return obs, reward, False, False, {"distance": distance}

    def reset_model(self) -> np.ndarray:
        # Start hanging down, near rest; the target anywhere in front, from a little below
        # the shoulder to above it, within reach (0.15 to 0.5 m of the 0.55 m arm).
        qpos = self.init_qpos + self.np_random.uniform(-0.1, 0.1, self.model.nq)
        qpos[0] -= np.pi / 2
        qvel = self.np_random.uniform(-0.1, 0.1, self.model.nv)
        radius = self.np_random.uniform(0.15, 0.5)
        angle = self.np_random.uniform(-0.5, 1.5)
        self.data.mocap_pos[self._target] = [radius * np.cos(angle), 0.0, radius * np.sin(angle)]
        self.set_state(qpos, qvel)
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        angles = self.data.qpos[:2]
        target = self.data.mocap_pos[self._target][[0, 2]]
        tip = self.data.site_xpos[self._tip][[0, 2]]
        return np.concatenate(
            [np.cos(angles), np.sin(angles), self.data.qvel[:2], target, tip - target]
        )


if "MyArm-v0" not in gym.registry:
    gym.register("MyArm-v0", entry_point=MyArmEnv, max_episode_steps=EPISODE_STEPS)
