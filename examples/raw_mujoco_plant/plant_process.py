"""The plant process: the raw-MuJoCo HalfCheetah as a robot, its policy in another process.

    python examples/raw_mujoco_plant/plant_process.py --steps 1200          # real time, 20 Hz
    python examples/raw_mujoco_plant/plant_process.py --lockstep --episodes 1 --json

Each control period it publishes its observation and waits for the action that answers it
(same seq), then steps the physics with it. Real time (default): paced to the plant's own
period (0.05 s, the policy file's control_dt), and an action not back within one period is
a missed deadline: the plant applies its last command again, as a motor driver holds its
setpoint. `--lockstep`: unpaced, every observation waits for its answer (re-sent every
0.25 s in case the first was lost while the two processes were still finding each other),
so the run is deterministic and its return equals `ddpg-robot eval` on the same seed.
"""

from __future__ import annotations

import argparse
import json
import queue
import time

import numpy as np
import wire
from plant import EPISODE_STEPS, HalfCheetahPlant
from rollout import Rollout
from timing import Durations, step_figures

from ddpg_robot.control_loop import ControlLoop


class RemoteController:
    """The controller process, seen from the plant: act(obs) publishes the observation and
    waits for the action with its seq. Records the round trip of every answered step."""

    def __init__(
        self,
        session,
        prefix: str,
        plant: HalfCheetahPlant,
        *,
        reply_timeout: float,
        resend_every: float | None,
        hold_when_late: bool,
    ) -> None:
        self.control_dt = plant.dt
        self._act_dim = plant.act_dim
        self._out = wire.publisher(session, f"{prefix}/observation")
        self._subscriber, self._inbox = wire.inbox(session, f"{prefix}/action")
        self._reply_timeout, self._resend_every = reply_timeout, resend_every
        self._hold_when_late = hold_when_late
        self._last = ((plant.action_low + plant.action_high) / 2).astype(np.float32)
        self.seq = 0
        self.round_trip = Durations()
        self.late = 0
        self.answers = {name: 0 for name in wire.KIND_NAMES.values()}
        self.ignored = {"other_seq": 0, "malformed": 0}

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.seq += 1
        start = time.perf_counter()
        payload = wire.encode_observation(self.seq, time.monotonic(), obs)
        self._out.put(payload)
        deadline = start + self._reply_timeout
        resend = start + self._resend_every if self._resend_every else float("inf")
        while True:
            now = time.perf_counter()
            if now >= deadline:
                return self._late()
            if now >= resend:
                self._out.put(payload)
                resend += self._resend_every
            try:
                message = self._inbox.get(timeout=min(deadline, resend) - now)
            except queue.Empty:
                continue
            answer = wire.decode_action(message, self._act_dim)
            if answer is None:
                self.ignored["malformed"] += 1
                continue
            seq, kind, action = answer
            if seq != self.seq:
                self.ignored["other_seq"] += 1  # an answer that came too late, or a tick
                continue
            self.round_trip.add(time.perf_counter() - start)
            name = wire.KIND_NAMES.get(kind, f"kind {kind}")
            self.answers[name] = self.answers.get(name, 0) + 1
            self._last = action
            return action

    def _late(self) -> np.ndarray:
        self.late += 1
        if not self._hold_when_late:
            raise TimeoutError(
                f"no action for observation {self.seq} within {self._reply_timeout} s: "
                "is the controller process running?"
            )
        return self._last.copy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", default=wire.DEFAULT_ENDPOINT, help="Zenoh endpoint")
    parser.add_argument("--prefix", default=wire.DEFAULT_PREFIX, help="key expression prefix")
    parser.add_argument("--seed", type=int, default=0, help="seed of the plant's resets")
    parser.add_argument("--episodes", type=int, default=1, help="whole episodes to run")
    parser.add_argument("--steps", type=int, help="control periods to run (overrides episodes)")
    parser.add_argument("--lockstep", action="store_true",
                        help="unpaced; wait for every answer (deterministic)")  # fmt: skip
    parser.add_argument("--reply-timeout", type=float,
                        help="seconds to wait for an answer (default: one period in real "
                        "time, 10 s in lockstep)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    plant = HalfCheetahPlant(seed=args.seed)
    rollout = Rollout(plant)
    session = wire.open_session(connect=args.connect)
    try:
        remote = RemoteController(
            session, args.prefix, plant,
            reply_timeout=args.reply_timeout or (10.0 if args.lockstep else plant.dt),
            resend_every=0.25 if args.lockstep else None,
            hold_when_late=not args.lockstep,
        )  # fmt: skip
        loop = ControlLoop(remote, rollout.read_obs, rollout.write_action,
                           hz=float("inf") if args.lockstep else None)  # fmt: skip
        steps = args.steps if args.steps is not None else args.episodes * EPISODE_STEPS
        stats = loop.run(max_steps=steps)
    finally:
        session.close()

    report = {
        "mode": "lockstep" if args.lockstep else "realtime",
        "period": stats.period,
        "step": step_figures(stats),
        "deadline_misses": stats.deadline_misses,
        "round_trip": remote.round_trip.summary_us(),
        "late_replies": remote.late,
        "answers": remote.answers,
        "ignored_replies": remote.ignored,
        **rollout.report(),
    }
    if args.json:
        print(json.dumps(report))
        return
    rt = report["round_trip"]
    print(stats.summary())
    print(f"round trip: p50 {rt['p50_us']:.0f} us, p99 {rt['p99_us']:.0f} us; "
          f"{remote.late} replies later than {remote._reply_timeout} s")  # fmt: skip
    print(f"returns of finished episodes: {[round(r, 2) for r in rollout.returns]}")
    print(f"actions outside the actuators' ctrlrange: {rollout.outside_ctrlrange}")


if __name__ == "__main__":
    main()
