"""Names of an env's actions and observation entries, written into the exported file.

A controller maps action i to an actuator and reads observation entry j from the robot's
state. A policy is only right for the order it was trained with: reorder two actuators of
equal range in the MJCF and the file still loads, still fits the bounds, and drives the
wrong joints. Names in the file let a consumer check the order instead of trusting it
(`ddpg-robot eval` and `run` refuse an env whose names differ from the policy's).

Where names come from, the first that applies:

- the env's own `action_names` / `observation_names` attributes (on `env.unwrapped`): a
  sequence of one string per entry. A user's env says what it means (docs/own-robot.md);
- actions of a gymnasium `MujocoEnv` (which writes action i into `data.ctrl[i]`): the
  actuator's name, or for an unnamed actuator the joint, tendon or site it drives;
- observations of gymnasium's own MuJoCo tasks (v4, v5): derived from the model and the
  task's `_get_obs` layout, honouring the options that change it
  (`exclude_current_positions_from_observation`, contact forces, ...);
- otherwise none: no names rather than guessed ones. A derived list whose length is not the
  observation's width is dropped the same way.

Observation names say which array of `MjData` an entry is read from: `qpos.<joint>` and
`qvel.<joint>` (a free joint's coordinates as `.x .y .z .qw .qx .qy .qz` and velocities as
`.vx .vy .vz .wx .wy .wz`, a ball joint's as `.qw .. .qz` and `.wx .wy .wz`),
`sin(qpos.<joint>)` and `cos(...)`, `qfrc_actuator.<dof>`, `qfrc_constraint.<dof>`,
`cinert.<body>[k]` (k 0-9), `cvel.<body>[k]` and `cfrc_ext.<body>[k]` (k 0-5, rotational
part first, as MuJoCo stores them), `xpos.<body>.x` for a body's position. Unnamed joints
and bodies are `joint<id>` and `body<id>`, their MuJoCo ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym

from ddpg_robot.errors import EnvError

_GYMNASIUM_MUJOCO = "gymnasium.envs.mujoco."
_QPOS_PARTS = {0: (".x", ".y", ".z", ".qw", ".qx", ".qy", ".qz"), 1: (".qw", ".qx", ".qy", ".qz")}
_QVEL_PARTS = {0: (".vx", ".vy", ".vz", ".wx", ".wy", ".wz"), 1: (".wx", ".wy", ".wz")}
"""Suffixes of a free (type 0) and a ball (type 1) joint's coordinates; hinge and slide have
one coordinate and no suffix."""


def action_names(env: gym.Env) -> tuple[str, ...] | None:
    """One name per action, in action order, or None when the env cannot tell them."""
    unwrapped = env.unwrapped
    act_dim = int(env.action_space.shape[0])
    declared = _declared(unwrapped, "action_names", act_dim)
    if declared is not None:
        return declared
    if not _is_mujoco_env(unwrapped) or unwrapped.model.nu != act_dim:
        return None
    return _unique(_actuator_names(unwrapped.model))


def observation_names(env: gym.Env) -> tuple[str, ...] | None:
    """One name per observation entry, in order, or None when the env cannot tell them."""
    unwrapped = env.unwrapped
    obs_dim = int(env.observation_space.shape[0])
    declared = _declared(unwrapped, "observation_names", obs_dim)
    if declared is not None:
        return declared
    module = type(unwrapped).__module__  # a subclass elsewhere may observe otherwise
    layout = (
        _LAYOUTS.get(module.removeprefix(_GYMNASIUM_MUJOCO))
        if module.startswith(_GYMNASIUM_MUJOCO)
        else None
    )
    if layout is None or not _is_mujoco_env(unwrapped):
        return None
    try:
        names = layout(unwrapped, _Model(unwrapped.model))
    except AttributeError:  # a gymnasium whose env keeps its options under other names
        return None
    if len(names) != obs_dim:
        return None
    return _unique(names)


def _declared(unwrapped: Any, attribute: str, width: int) -> tuple[str, ...] | None:
    """The env's own names, checked: one string per entry (one EnvError line if not)."""
    value = getattr(unwrapped, attribute, None)
    if value is None:
        return None
    name = type(unwrapped).__name__
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise EnvError(f"{name}.{attribute} must be a list of {width} strings, got {value!r}")
    names = tuple(value)
    if len(names) != width or not all(isinstance(n, str) and n for n in names):
        raise EnvError(
            f"{name}.{attribute} has {len(names)} entries ({list(names)[:4]}...) but the env "
            f"has {width}: give one non-empty string per entry, in order"
        )
    if len(set(names)) != len(names):
        raise EnvError(f"{name}.{attribute} names an entry twice: {list(names)}")
    return names


def _is_mujoco_env(unwrapped: Any) -> bool:
    try:
        from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
    except Exception:  # gymnasium without MuJoCo: no MuJoCo env can exist either
        return False
    return isinstance(unwrapped, MujocoEnv)


def _unique(names: list[str] | tuple[str, ...]) -> tuple[str, ...] | None:
    """The names, or None when two are the same: a name must pick out one entry."""
    return tuple(names) if len(set(names)) == len(names) and all(names) else None


def _actuator_names(model: Any) -> list[str]:
    import mujoco

    targets = {
        mujoco.mjtTrn.mjTRN_JOINT: mujoco.mjtObj.mjOBJ_JOINT,
        mujoco.mjtTrn.mjTRN_JOINTINPARENT: mujoco.mjtObj.mjOBJ_JOINT,
        mujoco.mjtTrn.mjTRN_TENDON: mujoco.mjtObj.mjOBJ_TENDON,
        mujoco.mjtTrn.mjTRN_SITE: mujoco.mjtObj.mjOBJ_SITE,
    }
    names = []
    for i in range(model.nu):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, i)
        if not name:  # unnamed: what it drives
            target = targets.get(int(model.actuator_trntype[i]))
            trn_id = int(model.actuator_trnid[i, 0])
            name = mujoco.mj_id2name(model, target, trn_id) if target is not None else None
        names.append(name or "")
    return names


class _Model:
    """Labels of a MuJoCo model's coordinates, velocities and bodies, in array order."""

    def __init__(self, model: Any) -> None:
        import mujoco

        self.model = model
        self.qpos = [""] * model.nq
        self.dof = [""] * model.nv
        for j in range(model.njnt):
            joint = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) or f"joint{j}"
            kind = int(model.jnt_type[j])
            for k, part in enumerate(_QPOS_PARTS.get(kind, ("",))):
                self.qpos[int(model.jnt_qposadr[j]) + k] = joint + part
            for k, part in enumerate(_QVEL_PARTS.get(kind, ("",))):
                self.dof[int(model.jnt_dofadr[j]) + k] = joint + part
        self.bodies = [
            mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) or f"body{b}"
            for b in range(model.nbody)
        ]

    def positions(self, start: int = 0, stop: int | None = None) -> list[str]:
        return [f"qpos.{label}" for label in self.qpos[start:stop]]

    def velocities(self, start: int = 0, stop: int | None = None) -> list[str]:
        return [f"qvel.{label}" for label in self.dof[start:stop]]

    def per_dof(self, array: str, start: int = 0, stop: int | None = None) -> list[str]:
        return [f"{array}.{label}" for label in self.dof[start:stop]]

    def per_body(self, array: str, width: int, start: int = 0) -> list[str]:
        return [f"{array}.{body}[{k}]" for body in self.bodies[start:] for k in range(width)]


def _planar(first_kept: int) -> Callable[[Any, _Model], list[str]]:
    """HalfCheetah, Hopper, Walker2d (x excluded) and Swimmer (x, y excluded): qpos, qvel."""

    def layout(env: Any, m: _Model) -> list[str]:
        start = first_kept if env._exclude_current_positions_from_observation else 0
        return m.positions(start) + m.velocities()

    return layout


def _ant(version: int) -> Callable[[Any, _Model], list[str]]:
    def layout(env: Any, m: _Model) -> list[str]:
        start = 2 if env._exclude_current_positions_from_observation else 0
        names = m.positions(start) + m.velocities()
        if version == 4 and env._use_contact_forces:
            names += m.per_body("cfrc_ext", 6)
        if version == 5 and env._include_cfrc_ext_in_observation:
            names += m.per_body("cfrc_ext", 6, start=1)
        return names

    return layout


def _humanoid_v4(env: Any, m: _Model) -> list[str]:
    # HumanoidStandup-v4 has no option and always leaves out x, y.
    start = 2 if getattr(env, "_exclude_current_positions_from_observation", True) else 0
    return (m.positions(start) + m.velocities() + m.per_body("cinert", 10)
            + m.per_body("cvel", 6) + m.per_dof("qfrc_actuator")
            + m.per_body("cfrc_ext", 6))  # fmt: skip


def _humanoid_v5(env: Any, m: _Model) -> list[str]:
    start = 2 if env._exclude_current_positions_from_observation else 0
    names = m.positions(start) + m.velocities()
    if env._include_cinert_in_observation:
        names += m.per_body("cinert", 10, start=1)
    if env._include_cvel_in_observation:
        names += m.per_body("cvel", 6, start=1)
    if env._include_qfrc_actuator_in_observation:
        names += m.per_dof("qfrc_actuator", 6)
    if env._include_cfrc_ext_in_observation:
        names += m.per_body("cfrc_ext", 6, start=1)
    return names


def _inverted_pendulum(env: Any, m: _Model) -> list[str]:
    return m.positions() + m.velocities()


def _inverted_double_pendulum(version: int) -> Callable[[Any, _Model], list[str]]:
    def layout(env: Any, m: _Model) -> list[str]:
        angles = m.positions(1)
        constraint = m.per_dof("qfrc_constraint", 0, None if version == 4 else 1)
        return (m.positions(0, 1) + [f"sin({a})" for a in angles]
                + [f"cos({a})" for a in angles] + m.velocities() + constraint)  # fmt: skip

    return layout


def _reacher(version: int) -> Callable[[Any, _Model], list[str]]:
    def layout(env: Any, m: _Model) -> list[str]:
        arm = m.positions(0, 2)
        axes = ".x", ".y", ".z"
        tip = [f"(xpos.fingertip - xpos.target){a}" for a in axes[: 3 if version == 4 else 2]]
        return ([f"cos({a})" for a in arm] + [f"sin({a})" for a in arm] + m.positions(2)
                + m.velocities(0, 2) + tip)  # fmt: skip

    return layout


def _pusher(env: Any, m: _Model) -> list[str]:
    bodies = [f"xpos.{b}{a}" for b in ("tips_arm", "object", "goal") for a in (".x", ".y", ".z")]
    return m.positions(0, 7) + m.velocities(0, 7) + bodies


_LAYOUTS: dict[str, Callable[[Any, _Model], list[str]]] = {
    "inverted_pendulum_v4": _inverted_pendulum,
    "inverted_pendulum_v5": _inverted_pendulum,
    "inverted_double_pendulum_v4": _inverted_double_pendulum(4),
    "inverted_double_pendulum_v5": _inverted_double_pendulum(5),
    "half_cheetah_v4": _planar(1),
    "half_cheetah_v5": _planar(1),
    "hopper_v4": _planar(1),
    "hopper_v5": _planar(1),
    "walker2d_v4": _planar(1),
    "walker2d_v5": _planar(1),
    "swimmer_v4": _planar(2),
    "swimmer_v5": _planar(2),
    "ant_v4": _ant(4),
    "ant_v5": _ant(5),
    "humanoid_v4": _humanoid_v4,
    "humanoid_v5": _humanoid_v5,
    "humanoidstandup_v4": _humanoid_v4,
    "humanoidstandup_v5": _humanoid_v5,
    "reacher_v4": _reacher(4),
    "reacher_v5": _reacher(5),
    "pusher_v4": _pusher,
    "pusher_v5": _pusher,
}
"""Module of gymnasium.envs.mujoco -> the task's observation layout (its `_get_obs`)."""
