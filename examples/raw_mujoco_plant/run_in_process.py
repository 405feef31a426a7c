"""The raw-MuJoCo plant driven by an exported policy in one process, through Controller.

    python examples/raw_mujoco_plant/run_in_process.py --realtime --steps 1200
    python examples/raw_mujoco_plant/run_in_process.py --episodes 2 --seed 0 --json

No gymnasium is imported: MuJoCo simulates, the plant builds the observation, and
ddpg_robot.runtime (onnxruntime + numpy) acts, paced by ddpg_robot.control_loop.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from plant import EPISODE_STEPS, HalfCheetahPlant
from rollout import Rollout
from timing import Durations, step_figures

from ddpg_robot.control_loop import ControlLoop
from ddpg_robot.runtime import Controller


class TimedController:
    """A Controller whose act() and tick() calls are timed (what the loop spends acting)."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.control_dt = controller.control_dt
        self.act_time = Durations()

    def act(self, obs):
        start = time.perf_counter()
        action = self.controller.act(obs)
        self.act_time.add(time.perf_counter() - start)
        return action

    def tick(self):
        return self.controller.tick()


def check_interface(controller: Controller, plant: HalfCheetahPlant) -> None:
    """Refuse a policy made for another robot, in one line."""
    if (controller.obs_dim, controller.act_dim) != (plant.obs_dim, plant.act_dim):
        raise SystemExit(
            f"policy takes {controller.obs_dim} observations and gives {controller.act_dim} "
            f"actions; the plant has {plant.obs_dim} and {plant.act_dim}"
        )
    if (controller.action_low < plant.action_low).any() or (
        controller.action_high > plant.action_high
    ).any():
        raise SystemExit("the policy's action bounds reach outside the actuators' ctrlrange")


def guards(args: argparse.Namespace) -> dict:
    """Controller keyword arguments for the opt-in rate limit and watchdog."""
    kwargs: dict = {}
    if args.max_delta is not None:
        kwargs["max_delta"] = args.max_delta
    if args.watchdog_timeout is not None:
        kwargs["watchdog_timeout"] = args.watchdog_timeout
    if args.safe_action != "hold":  # without a watchdog, Controller says what is missing
        kwargs["safe_action"] = [float(v) for v in args.safe_action.split(",")]
    return kwargs


def add_guard_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-delta", type=float, help="rate limit, env units per period")
    parser.add_argument("--watchdog-timeout", type=float, help="seconds; enables the watchdog")
    parser.add_argument(
        "--safe-action", default="hold", help="'hold' or comma-separated numbers (watchdog)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="halfcheetah-v4", help="ONNX file or shipped name")
    parser.add_argument("--seed", type=int, default=0, help="seed of the plant's resets")
    parser.add_argument("--episodes", type=int, default=1, help="whole episodes to run")
    parser.add_argument("--steps", type=int, help="control periods to run (overrides episodes)")
    parser.add_argument("--realtime", action="store_true", help="pace to the file's control_dt")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_guard_options(parser)
    args = parser.parse_args(argv)

    try:
        controller = Controller(args.model, **guards(args))
    except ValueError as exc:
        raise SystemExit(f"run_in_process: {exc}") from None
    plant = HalfCheetahPlant(seed=args.seed)
    check_interface(controller, plant)
    rollout = Rollout(plant)
    timed = TimedController(controller)
    loop = ControlLoop(timed, rollout.read_obs, rollout.write_action,
                       hz=None if args.realtime else float("inf"))  # fmt: skip
    steps = args.steps if args.steps is not None else args.episodes * EPISODE_STEPS
    stats = loop.run(max_steps=steps)

    report = {
        "mode": "in-process",
        "control_dt": controller.control_dt,
        "period": stats.period,
        "step": step_figures(stats),
        "deadline_misses": stats.deadline_misses,
        "act": timed.act_time.summary_us(),
        "controller_stats": controller.stats,
        **rollout.report(),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(stats.summary())
    act = report["act"]
    print(f"act(): p50 {act['p50_us']:.0f} us, p99 {act['p99_us']:.0f} us")
    print(f"returns of finished episodes: {[round(r, 2) for r in rollout.returns]}")
    print(f"actions outside the actuators' ctrlrange: {rollout.outside_ctrlrange}")
    print(f"controller stats: {controller.stats}")
    print(f"gymnasium imported: {'gymnasium' in sys.modules}")


if __name__ == "__main__":
    main()
