"""The controller process: subscribes to observations, publishes actions, keeps a watchdog.

    python examples/raw_mujoco_plant/controller_process.py --safe-action 0,0,0,0,0,0

What a robot stack runs beside the robot's driver: ddpg_robot.runtime (onnxruntime + numpy)
and the middleware, nothing else (no MuJoCo, no gymnasium, no torch). Each observation gets
the policy's action, tagged with the observation's seq (or the safe action, tagged as such,
when it came later than the watchdog allows or held NaN). When no observation has arrived
for `--watchdog-timeout` seconds (the plant stalled, crashed or was unplugged), it publishes
`Controller.tick()`: the safe action, once per control period, counted in the controller's
stats, until observations come back or it is told to stop (SIGTERM or Ctrl-C: it closes
the session and prints its figures as JSON).

stdout, one JSON object a line: {"event": "ready", ...} once subscribed, {"event":
"stopped", ...} at the end.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import threading
import time

import wire
from timing import Durations

from ddpg_robot.runtime import Controller


def parse_safe_action(text: str) -> str | list[float]:
    return text if text == "hold" else [float(v) for v in text.split(",")]


def serve(
    controller: Controller, timeout: float, session, prefix: str, stop: threading.Event
) -> dict:
    """Answer observations until `stop` is set; returns the figures to report.

    `timeout` is the controller's watchdog_timeout: after an observation, the loop waits
    that long for the next before it asks the controller for its tick() action."""
    out = wire.publisher(session, f"{prefix}/action")
    _subscriber, inbox = wire.inbox(session, f"{prefix}/observation")
    period = controller.control_dt
    act_time = Durations()
    counts = {"observations": 0, "skipped_stale": 0, "malformed": 0,
              "published": {name: 0 for name in wire.KIND_NAMES.values()}}  # fmt: skip
    seen_any = False
    print(json.dumps({"event": "ready", "prefix": prefix, "control_dt": period,
                      "watchdog_timeout": timeout}), flush=True)  # fmt: skip
    next_tick = time.monotonic() + period
    while not stop.is_set():
        # Wait at most one period at a time, so that a stop request is seen within one.
        wait = min(max(next_tick - time.monotonic(), 0.0), period)
        try:
            payload = inbox.get(timeout=wait)
        except queue.Empty:
            if time.monotonic() < next_tick or stop.is_set():
                continue
            expired_before = controller.stats["watchdog_expired"]
            action = controller.tick()
            expired = controller.stats["watchdog_expired"] > expired_before
            kind = wire.SAFE if expired or not seen_any else wire.HOLD
            out.put(wire.encode_action(wire.NO_OBSERVATION, kind, action))
            counts["published"][wire.KIND_NAMES[kind]] += 1
            next_tick = time.monotonic() + period  # no observation: one action per period
            continue
        while True:  # act on the newest observation only
            try:
                payload = inbox.get_nowait()
                counts["skipped_stale"] += 1
            except queue.Empty:
                break
        message = wire.decode_observation(payload, controller.obs_dim)
        if message is None:
            counts["malformed"] += 1
            continue
        seq, _sent, obs = message
        seen_any = True
        counts["observations"] += 1
        served_before = _watchdog_answers(controller)
        start = time.perf_counter()
        action = controller.act(obs)
        act_time.add(time.perf_counter() - start)
        kind = wire.SAFE if _watchdog_answers(controller) > served_before else wire.POLICY
        out.put(wire.encode_action(seq, kind, action))
        counts["published"][wire.KIND_NAMES[kind]] += 1
        # Measured after act(), so by then the controller's own watchdog has expired too.
        next_tick = time.monotonic() + timeout
    return {"event": "stopped", **counts, "act": act_time.summary_us(),
            "controller_stats": controller.stats}  # fmt: skip


def _watchdog_answers(controller: Controller) -> int:
    """Observations the watchdog answered with the safe action (late or non-finite)."""
    stats = controller.stats
    return stats["watchdog_late"] + stats["watchdog_nonfinite"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="halfcheetah-v4", help="ONNX file or shipped name")
    parser.add_argument("--listen", default=wire.DEFAULT_ENDPOINT, help="Zenoh endpoint")
    parser.add_argument("--prefix", default=wire.DEFAULT_PREFIX, help="key expression prefix")
    parser.add_argument("--watchdog-timeout", type=float,
                        help="seconds without an observation before the safe action "
                        "(default: two control periods)")  # fmt: skip
    parser.add_argument("--safe-action", default="hold",
                        help="'hold' or comma-separated numbers inside the bounds")  # fmt: skip
    parser.add_argument("--max-delta", type=float, help="rate limit, env units per period")
    args = parser.parse_args(argv)

    probe = Controller(args.model)
    timeout = args.watchdog_timeout or 2 * probe.control_dt
    try:
        controller = Controller(args.model, watchdog_timeout=timeout,
                                safe_action=parse_safe_action(args.safe_action),
                                max_delta=args.max_delta)  # fmt: skip
    except ValueError as exc:
        raise SystemExit(f"controller_process: {exc}") from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    session = wire.open_session(listen=args.listen)
    try:
        report = serve(controller, timeout, session, args.prefix, stop)
    finally:
        session.close()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
