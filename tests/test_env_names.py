"""Names of actions and observations: derived from MuJoCo for gymnasium's tasks, declared by a
user's env, checked against MuJoCo's own arrays, and enforced by `eval`."""

from __future__ import annotations

import re

import gymnasium as gym
import mujoco
import numpy as np
import onnx
import pytest

import tests.envs  # noqa: F401  (registers TestPoint-v0)
from ddpg_robot.env_names import action_names, observation_names
from ddpg_robot.errors import EnvError
from tests.envs import PointEnv
from tests.helpers import run_main

TASKS = [
    ("InvertedPendulum-v4", {}), ("InvertedPendulum-v5", {}),
    ("InvertedDoublePendulum-v4", {}), ("InvertedDoublePendulum-v5", {}),
    ("HalfCheetah-v4", {}), ("HalfCheetah-v5", {}),
    ("HalfCheetah-v5", {"exclude_current_positions_from_observation": False}),
    ("Hopper-v4", {}), ("Hopper-v5", {}), ("Walker2d-v4", {}), ("Walker2d-v5", {}),
    ("Swimmer-v4", {}), ("Swimmer-v5", {}),
    ("Ant-v4", {}), ("Ant-v4", {"use_contact_forces": True}), ("Ant-v5", {}),
    ("Humanoid-v4", {}), ("Humanoid-v5", {}),
    ("Humanoid-v5", {"include_cinert_in_observation": False, "include_cvel_in_observation": False}),
    ("HumanoidStandup-v4", {}), ("HumanoidStandup-v5", {}),
    ("Reacher-v4", {}), ("Reacher-v5", {}), ("Pusher-v5", {}),
]  # fmt: skip
FREE = ("x", "y", "z", "qw", "qx", "qy", "qz")
FREE_DOF = ("vx", "vy", "vz", "wx", "wy", "wz")
BALL, BALL_DOF = FREE[3:], FREE_DOF[3:]


def _coordinate(m: mujoco.MjModel, label: str, velocity: bool) -> int:
    """Index into qpos (or qvel) of `joint` or `joint.part`, by MuJoCo's documented layout."""
    joint, _, part = label.partition(".")
    j = m.joint(joint).id
    kind = int(m.jnt_type[j])
    parts = {0: FREE_DOF if velocity else FREE, 1: BALL_DOF if velocity else BALL}.get(kind, ("",))
    start = m.jnt_dofadr[j] if velocity else m.jnt_qposadr[j]
    return int(start) + parts.index(part)


def _body(m: mujoco.MjModel, name: str) -> int:
    return int(name[4:]) if re.fullmatch(r"body\d+", name) else m.body(name).id


def _value(name: str, m: mujoco.MjModel, d: mujoco.MjData) -> float:
    """What `name` says the observation entry is, read from MuJoCo's arrays."""
    if name[:4] in ("sin(", "cos("):
        return {"sin": np.sin, "cos": np.cos}[name[:3]](_value(name[4:-1], m, d))
    if match := re.fullmatch(r"\(xpos\.(\w+) - xpos\.(\w+)\)\.([xyz])", name):
        a, b, axis = match.groups()
        return d.body(a).xpos["xyz".index(axis)] - d.body(b).xpos["xyz".index(axis)]
    array, _, label = name.partition(".")
    if array in ("qpos", "qvel"):
        return getattr(d, array)[_coordinate(m, label, array == "qvel")]
    if array in ("qfrc_actuator", "qfrc_constraint"):
        return getattr(d, array)[_coordinate(m, label, True)]
    if array == "xpos":
        body, _, axis = label.rpartition(".")
        return d.body(body).xpos["xyz".index(axis)]
    body, k = re.fullmatch(r"(\w+)\[(\d+)\]", label).groups()
    return getattr(d, array)[_body(m, body), int(k)]


@pytest.mark.parametrize(("env_id", "kwargs"), TASKS, ids=[f"{t}{k or ''}" for t, k in TASKS])
def test_observation_names_read_the_observation_from_mujoco(env_id: str, kwargs: dict) -> None:
    """Each named entry equals what its name reads from MjData (after a few random steps);
    entries the task clips (velocities at +-10, contact forces at +-1) equal the clip."""
    env = gym.make(env_id, **kwargs)
    names = observation_names(env)
    assert names is not None and len(names) == env.observation_space.shape[0]
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(5):
        obs, *_ = env.step(env.action_space.sample())
    m, d = env.unwrapped.model, env.unwrapped.data
    expected = np.array([_value(name, m, d) for name in names])
    clipped = np.isin(np.abs(obs), [1.0, 10.0]) & (np.abs(expected) >= np.abs(obs))
    same = np.isclose(obs, expected, rtol=1e-12, atol=1e-12) | (
        clipped & (np.sign(obs) == np.sign(expected))
    )
    assert same.all(), [names[i] for i in np.flatnonzero(~same)]
    env.close()


@pytest.mark.parametrize(("env_id", "kwargs"), TASKS[::3], ids=[t for t, _ in TASKS[::3]])
def test_action_i_drives_the_joint_it_is_named_after(env_id: str, kwargs: dict) -> None:
    """Action i is the actuator MuJoCo calls names[i] (or, unnamed, the one driving the
    joint names[i]): a command on action i alone produces force on that joint alone."""
    env = gym.make(env_id, **kwargs)
    names = action_names(env)
    m, d = env.unwrapped.model, env.unwrapped.data
    assert names is not None and len(names) == m.nu
    for i, name in enumerate(names):
        d.qvel[:] = 0.0
        d.ctrl[:] = 0.0
        d.ctrl[i] = env.action_space.high[i]
        mujoco.mj_forward(m, d)
        try:
            joint = m.actuator(name).trnid[0]
        except KeyError:  # no actuator of that name: an unnamed one, named by its joint
            joint = m.joint(name).id
        moved = np.flatnonzero(d.qfrc_actuator)
        assert moved.tolist() == [m.jnt_dofadr[joint]], (i, name)
    env.close()


def test_halfcheetah_names_against_mujoco() -> None:
    """HalfCheetah-v4: action names are MuJoCo's actuator names in order, and moving one
    named joint's position or velocity moves exactly the observation entry of that name."""
    env = gym.make("HalfCheetah-v4")
    m = env.unwrapped.model
    names = action_names(env)
    assert names == tuple(m.actuator(i).name for i in range(m.nu))
    assert names == ("bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot")
    obs_names = observation_names(env)
    env.reset(seed=0)
    unwrapped = env.unwrapped
    qpos, qvel = unwrapped.data.qpos.copy(), unwrapped.data.qvel.copy()
    before = unwrapped._get_obs()
    for j in range(m.njnt):
        joint = m.joint(j).name
        for array, adr in (("qpos", m.jnt_qposadr[j]), ("qvel", m.jnt_dofadr[j])):
            moved_qpos, moved_qvel = qpos.copy(), qvel.copy()
            (moved_qpos if array == "qpos" else moved_qvel)[adr] += 0.1
            unwrapped.set_state(moved_qpos, moved_qvel)
            changed = np.flatnonzero(unwrapped._get_obs() != before).tolist()
            name = f"{array}.{joint}"
            # rootx is left out of the observation (the cheetah's position along the track)
            assert changed == ([obs_names.index(name)] if name != "qpos.rootx" else []), name
    env.close()


class _NamedPoint(PointEnv):
    action_names = ("push_x", "push_y")
    observation_names = ("x", "y", "z")


def test_a_users_env_declares_its_names() -> None:
    env = _NamedPoint()
    assert action_names(env) == ("push_x", "push_y")
    assert observation_names(env) == ("x", "y", "z")
    assert action_names(PointEnv()) is None and observation_names(PointEnv()) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [(("x", "y"), "has 2 entries"), ("xyz", "must be a list of 3 strings"),
     (("x", "x", "y"), "names an entry twice"), (("x", "", "z"), "non-empty string")],
)  # fmt: skip
def test_badly_declared_names_are_one_line(value: object, message: str) -> None:
    env = PointEnv()
    env.observation_names = value
    with pytest.raises(EnvError, match=message) as err:
        observation_names(env)
    assert "\n" not in str(err.value)


def test_eval_refuses_an_env_whose_actions_are_in_another_order(tmp_path) -> None:
    """A policy whose file names its actions in one order is not run on an env that has them
    in another: with symmetric bounds nothing else would tell."""
    model = onnx.load("models/halfcheetah-v4.onnx")
    for prop in model.metadata_props:
        if prop.key == "action_names":
            prop.value = prop.value.replace('"bthigh"', '"tmp"').replace('"fthigh"', '"bthigh"')
            prop.value = prop.value.replace('"tmp"', '"fthigh"')
    onnx.save(model, str(tmp_path / "swapped.onnx"))
    code, _, err = run_main(["eval", str(tmp_path / "swapped.onnx"), "--episodes", "1"])
    assert code == 2
    assert err.strip() == (
        "error: action 0 is 'fthigh' for the policy (trained on HalfCheetah-v4) but 'bthigh' in "
        "HalfCheetah-v4: the env's actions were reordered or renamed since training, and the "
        "policy would drive them wrongly"
    )
