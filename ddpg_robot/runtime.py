"""The deployable controller: an exported ddpg-robot policy run with onnxruntime and numpy only.

    from ddpg_robot.runtime import Controller
    controller = Controller("policy.onnx")
    action = controller.act(obs)          # float32 (act_dim,), finite, inside the bounds

Two opt-in guards protect the robot (docs/deployment.md): a rate limit on the action
(`max_delta=`) and a watchdog (`watchdog_timeout=`, `safe_action=`) that answers a late call,
a non-finite observation or `tick()` without an observation with a safe action.

This module must never import torch, gymnasium or mujoco (a robot computer installs
onnxruntime + numpy and nothing else); tests check that in a fresh interpreter.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnxruntime as ort

# The ONNX file's metadata contract (docs/export.md), shared with the exporter.
SCHEMA_VERSION = "1"
REQUIRED_KEYS = ("ddpg_robot.schema", "obs_dim", "act_dim", "action_low", "action_high",
                 "control_dt")  # fmt: skip
"""What the runtime needs to act safely; a file without any of them is refused."""
INFORMATIONAL_TEXT_KEYS = ("env_id", "actor_head", "ddpg_robot_version", "torch_version")
"""Plain-string keys the exporter writes for people and tools; absent is fine."""
INFORMATIONAL_JSON_KEYS = ("obs_normalization", "train_steps", "eval_return_mean", "env_kwargs",
                           "action_names", "observation_names")  # fmt: skip
"""JSON keys the exporter writes for people and tools; absent (or unparsable) is fine."""
NONFINITE_POLICIES = ("raise", "hold")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_DOWN = np.float32(-np.inf)


def session_options(threads: int = 1) -> ort.SessionOptions:
    """`threads` intra-op threads, one inter-op thread, sequential execution (see Controller)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


class Controller:
    """Observation -> safe action, for a real-time control loop.

    threads: onnxruntime intra-op threads (1 by default: a batch-1 MLP gains nothing from
    more, and extra threads spin and hurt tail latency); inter-op is 1 and execution
    sequential. on_nonfinite: what to do when an observation holds NaN or inf, or the graph
    returns a non-finite action for a finite one (a broken file): "raise" (`ValueError` for
    the observation, `RuntimeError` for the graph) or "hold" (return the last good action,
    the bounds' midpoint before the first one, and count it in `stats`). One warm-up run
    happens at load.

    Opt-in guards for one stream of observations (a robot's control loop); with either on,
    act() takes one observation at a time, never a batch:

    max_delta: rate limit, in env units per control period (one number, or one per action):
    every action act() or tick() returns is within max_delta of the previous one, and inside
    the bounds. The first action is free, unless `start_action` (the actuators' state at
    start) is given.
    watchdog_timeout: seconds (time.monotonic, or `clock`) allowed between two act() calls.
    A later call, a non-finite observation, and tick() once that much time has passed since
    the last act() get the safe action instead of the policy's, each counted in `stats`.
    safe_action: "hold" (repeat the last returned action; `start_action` or the bounds'
    midpoint before any) or `act_dim` numbers inside the bounds (a stand or zero torque).
    clock: the watchdog's time source, monotonic seconds (pass a fake one to test).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        threads: int = 1,
        on_nonfinite: str = "raise",
        max_delta: float | Sequence[float] | np.ndarray | None = None,
        start_action: Sequence[float] | np.ndarray | None = None,
        watchdog_timeout: float | None = None,
        safe_action: str | Sequence[float] | np.ndarray = "hold",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if on_nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"on_nonfinite must be 'raise' or 'hold', got {on_nonfinite!r}")
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        path = os.fspath(path)
        if not os.path.isfile(path):
            shipped = shipped_model_path(path)
            if shipped is None:
                names = ", ".join(shipped_models()) or "none installed"
                raise FileNotFoundError(
                    f"no policy file at {path}, and no shipped model of that name ({names})"
                )
            path = shipped
        try:
            self._session = ort.InferenceSession(
                path, session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ValueError(f"{path} is not a loadable ONNX model ({first})") from None
        self.path = path
        self.on_nonfinite = on_nonfinite
        self._hold = on_nonfinite == "hold"
        self._metadata = _read_metadata(self._session, path)
        self.obs_dim: int = self._metadata["obs_dim"]
        self.act_dim: int = self._metadata["act_dim"]
        self._low = np.asarray(self._metadata["action_low"], dtype=np.float32)
        self._high = np.asarray(self._metadata["action_high"], dtype=np.float32)
        _check_graph(self._session, self.obs_dim, self.act_dim, path)
        self.control_dt: float = self._metadata["control_dt"]
        self._action_names = _names(self._metadata.get("action_names"), self.act_dim)
        self._observation_names = _names(self._metadata.get("observation_names"), self.obs_dim)

        # Hot path state, allocated once: batch-1 input and output bound to the session.
        self._obs1 = np.zeros((1, self.obs_dim), dtype=np.float32)
        self._act1 = np.zeros((1, self.act_dim), dtype=np.float32)
        self._binding = self._session.io_binding()
        self._binding.bind_cpu_input("obs", self._obs1)
        self._binding.bind_output(
            "action", "cpu", 0, np.float32, list(self._act1.shape), self._act1.ctypes.data
        )
        # The Python wrapper of run_with_iobinding checks WebGPU graph capture on every call;
        # on the CPU provider that is pure overhead, so call the bound C++ method directly
        # when this onnxruntime exposes it.
        native = getattr(self._session, "_sess", None)
        native_binding = getattr(self._binding, "_iobinding", None)
        if native is not None and native_binding is not None:
            self._run_bound = lambda: native.run_with_iobinding(native_binding, None)
        else:  # pragma: no cover - other onnxruntime builds
            self._run_bound = lambda: self._session.run_with_iobinding(self._binding)
        self._last_good = ((self._low + self._high) / 2).astype(np.float32)
        self._stats = {"calls": 0, "held": 0, "nonfinite_output": 0}
        self._setup_guards(max_delta, start_action, watchdog_timeout, safe_action, clock)
        self._run_bound()  # warm-up: first-run allocations happen at load, not in the loop

    def _setup_guards(self, max_delta, start_action, watchdog_timeout, safe_action, clock) -> None:
        """Validate the opt-in guards (one ValueError line each) and build their state."""
        n, low, high = self.act_dim, self._low, self._high
        self._limiter: RateLimiter | None = None
        self._watchdog: Watchdog | None = None
        self._safe: np.ndarray | None = None  # None: "hold"
        if max_delta is not None:
            self._limiter = RateLimiter(max_delta, low, high)
            self._stats["rate_limited"] = 0
        if watchdog_timeout is not None:
            self._watchdog = Watchdog(watchdog_timeout, clock)
            self._stats.update(ticks=0, watchdog_late=0, watchdog_expired=0,
                               watchdog_nonfinite=0)  # fmt: skip
        if not (isinstance(safe_action, str) and safe_action == "hold"):
            if isinstance(safe_action, str):
                raise ValueError(f"safe_action must be 'hold' or {n} numbers, got {safe_action!r}")
            if self._watchdog is None:
                raise ValueError(
                    "safe_action needs watchdog_timeout=SECONDS (the watchdog serves it)"
                )
            self._safe = _action_in_bounds(safe_action, "safe_action", low, high)
        self._previous: np.ndarray | None = None  # what the rate limit measures from
        if start_action is not None:
            if self._limiter is None and self._watchdog is None:
                raise ValueError("start_action needs max_delta= or watchdog_timeout=")
            start = _action_in_bounds(start_action, "start_action", low, high)
            self._last_good = self._previous = start
        self._guarded = self._limiter is not None or self._watchdog is not None

    # ------------------------------------------------------------------ properties

    @property
    def action_low(self) -> np.ndarray:
        return self._low.copy()

    @property
    def action_high(self) -> np.ndarray:
        return self._high.copy()

    @property
    def action_names(self) -> list[str] | None:
        """What each action drives, in order (for MuJoCo, the actuators' names); None when the
        file names none (or holds something other than `act_dim` strings: informational)."""
        return None if self._action_names is None else list(self._action_names)

    @property
    def observation_names(self) -> list[str] | None:
        """What each observation entry is, in order (`qpos.<joint>`, ...: docs/export.md);
        None when the file names none (or holds something other than `obs_dim` strings)."""
        return None if self._observation_names is None else list(self._observation_names)

    @property
    def metadata(self) -> dict[str, Any]:
        """The policy's metadata, parsed (numbers and lists as Python values)."""
        return dict(self._metadata)

    @property
    def stats(self) -> dict[str, int]:
        """`calls` to act(); `held`: actions replaced by the last good one (hold mode), for a
        non-finite observation or output; `nonfinite_output`: how many of those were the
        graph's fault (a finite observation that gave NaN or inf).

        With `max_delta`: `rate_limited`, actions the limit moved. With `watchdog_timeout`:
        `ticks` (tick() calls) and the safe actions served, by cause: `watchdog_late` (act()
        called more than the timeout after the previous act()), `watchdog_expired` (tick()
        past the timeout), `watchdog_nonfinite` (NaN or inf in the observation)."""
        return dict(self._stats)

    # --------------------------------------------------------------------- acting

    def act(self, obs: np.ndarray | Sequence[float]) -> np.ndarray:
        """One observation (obs_dim,) -> float32 action (act_dim,); or a batch (B, obs_dim)."""
        self._stats["calls"] += 1
        x = obs if isinstance(obs, np.ndarray) else np.asarray(obs)
        if x.shape == (self.obs_dim,):
            if self._guarded:
                return self._act_guarded(x)
            return self._act_one(x)
        if x.ndim == 2 and x.shape[1] == self.obs_dim:
            if self._guarded:
                raise ValueError(
                    f"with max_delta or watchdog_timeout, act() takes one observation "
                    f"({self.obs_dim},) at a time, not a batch of {x.shape[0]}"
                )
            return self._act_batch(x)
        raise ValueError(
            f"observation has shape {x.shape}; expected ({self.obs_dim},) or "
            f"(batch, {self.obs_dim})"
        )

    def _act_one(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind not in "biuf":
            raise ValueError(f"observation must be real numbers, got dtype {x.dtype}")
        peak = np.abs(x).max()  # NaN or inf when x holds one
        if not peak <= _FLOAT32_MAX:
            if not np.isfinite(peak):
                return self._nonfinite_observation(x)
            # Finite but beyond float32: the graph clamps at 1e9 anyway; clipping first
            # keeps the cast below from overflowing (and numpy from warning about it).
            x = np.clip(x, -_FLOAT32_MAX, _FLOAT32_MAX)
        self._obs1[0] = x  # cast into the input buffer bound to the session: no allocation
        self._run_bound()
        # Last guard (the graph clips too); maximum/minimum let a NaN through to be caught.
        action = np.minimum(np.maximum(self._act1[0], self._low), self._high)  # a new array
        if not np.isfinite(action).all():
            return self._nonfinite_output(x)
        if self._hold:
            self._last_good = action.copy()
        return action

    def _act_batch(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind not in "biuf":
            raise ValueError(f"observation must be real numbers, got dtype {x.dtype}")
        peak = np.abs(x).max(axis=1)  # (B,)
        finite = np.isfinite(peak)
        if not finite.all():
            if not self._hold:
                rows = np.flatnonzero(~finite)[:5].tolist()
                raise ValueError(f"NaN or inf in observation rows {rows}")
            self._stats["held"] += int((~finite).sum())
            x = np.where(finite[:, None], x, 0.0)
        if not (peak[finite] <= _FLOAT32_MAX).all():
            x = np.clip(x, -_FLOAT32_MAX, _FLOAT32_MAX)
        batch = np.ascontiguousarray(x, dtype=np.float32)
        (actions,) = self._session.run(["action"], {"obs": batch})
        np.minimum(np.maximum(actions, self._low, out=actions), self._high, out=actions)
        good_output = np.isfinite(actions).all(axis=1)
        broken = finite & ~good_output
        if broken.any():
            if not self._hold:
                rows = np.flatnonzero(broken)[:5].tolist()
                raise RuntimeError(
                    f"the policy returned a non-finite action for the finite observation "
                    f"rows {rows}: {self.path} is broken (re-export it)"
                )
            self._stats["held"] += int(broken.sum())
            self._stats["nonfinite_output"] += int(broken.sum())
        if self._hold:
            keep = finite & good_output
            actions[~keep] = self._last_good
            good = np.flatnonzero(keep)
            if len(good):
                self._last_good = actions[good[-1]].copy()
        return actions

    def tick(self) -> np.ndarray:
        """The action to command for a period in which no observation arrived.

        Needs the watchdog. Before the first act(): the safe action (nothing was late yet;
        not counted). Within `watchdog_timeout` of the last act(): the last returned action,
        as an actuator holds its command. Past it: the safe action, counted in
        `stats["watchdog_expired"]` once per call. The rate limit applies, as to act().
        """
        watchdog = self._watchdog
        if watchdog is None:
            raise RuntimeError("tick() needs a watchdog: Controller(..., watchdog_timeout=SECONDS)")
        self._stats["ticks"] += 1
        expired = watchdog.expired()
        if expired:
            self._stats["watchdog_expired"] += 1
        if expired or expired is None:
            return self._command(self._safe_action())
        return self._command(self._last_good.copy())

    def _act_guarded(self, x: np.ndarray) -> np.ndarray:
        if self._watchdog is not None and self._watchdog.observation():
            # Late: the observation may be as old as the gap (the caller stalled somewhere),
            # so it does not get the policy's action. Every call re-arms the watchdog.
            self._stats["watchdog_late"] += 1
            return self._command(self._safe_action())
        return self._command(self._act_one(x))  # a non-finite x: _nonfinite_observation

    def _safe_action(self) -> np.ndarray:
        return (self._last_good if self._safe is None else self._safe).copy()

    def _command(self, action: np.ndarray) -> np.ndarray:
        """Rate-limit `action` (when on) and keep it as the last action returned, which is
        what "hold" repeats and what the next action is limited against."""
        if self._limiter is not None and self._previous is not None:
            action, moved = self._limiter.limit(action, self._previous)
            self._stats["rate_limited"] += moved
        self._last_good = self._previous = action.copy()  # never mutated, only replaced
        return action

    def _nonfinite_observation(self, x: np.ndarray) -> np.ndarray:
        if self._watchdog is not None:
            self._stats["watchdog_nonfinite"] += 1
            return self._safe_action()
        if not self._hold:
            raise ValueError(f"NaN or inf in observation {np.array2string(x, precision=4)}")
        self._stats["held"] += 1
        return self._last_good.copy()

    def _nonfinite_output(self, x: np.ndarray) -> np.ndarray:
        if not self._hold:
            raise RuntimeError(
                f"the policy returned a non-finite action for a finite observation: "
                f"{self.path} is broken (re-export it)"
            )
        self._stats["held"] += 1
        self._stats["nonfinite_output"] += 1
        return self._last_good.copy()

    def __repr__(self) -> str:
        return (
            f"Controller({self.path!r}, env_id={self._metadata.get('env_id')!r}, "
            f"obs_dim={self.obs_dim}, act_dim={self.act_dim})"
        )


class RateLimiter:
    """Keeps an action within `max_delta` of the previous one and inside [low, high].

    Why: a policy may jump from one bound to the other between two control periods, which
    a gearbox or a hydraulic valve should not see. Units: env units per control period,
    one number for all actions or one per action. Exact for the float32 values returned:
    the limit is applied as a float32 clip to bounds computed with a step shortened by one
    float32 spacing at the bounds' magnitude, which absorbs the rounding of `previous +-
    step`; so |action - previous| <= max_delta always holds, and the step allowed is at most
    that one spacing (1.2e-7 for bounds of magnitude 1) short of max_delta.
    """

    def __init__(
        self, max_delta: float | Sequence[float] | np.ndarray, low: np.ndarray, high: np.ndarray
    ) -> None:
        n = len(low)
        delta = _real_array(max_delta, "max_delta")
        if delta.shape not in ((), (n,)):
            raise ValueError(
                f"max_delta must be one number or {n} numbers (one per action), got shape "
                f"{delta.shape}"
            )
        if not (np.isfinite(delta).all() and (delta > 0).all()):
            raise ValueError(
                f"max_delta must be finite and positive (env units per control period), "
                f"got {_show(max_delta)}"
            )
        self.max_delta = np.broadcast_to(delta, (n,)).astype(np.float64)
        self._low, self._high = low.astype(np.float32), high.astype(np.float32)
        spacing = np.spacing(np.maximum(np.abs(self._low), np.abs(self._high)))
        step = np.maximum(self.max_delta - spacing.astype(np.float64), 0.0)
        step32 = step.astype(np.float32)
        self._step = np.where(step32 > step, np.nextafter(step32, _DOWN), step32)
        """float32, at most max_delta minus one spacing: see the class docstring."""

    def limit(self, action: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, bool]:
        """(`action` moved to within the limit of `previous`, whether it moved); both are
        float32 (act_dim,) inside the bounds. Returns `action` itself when it did not move."""
        lo = np.maximum(previous - self._step, self._low)
        hi = np.minimum(previous + self._step, self._high)
        limited = np.minimum(np.maximum(action, lo), hi)
        if (limited != action).any():
            return limited, True
        return action, False


class Watchdog:
    """Seconds since the last observation, against a timeout (`clock` is monotonic seconds)."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not (_is_number(timeout) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(
                f"watchdog_timeout must be a finite positive number of seconds, got {timeout!r}"
            )
        if not callable(clock):
            raise ValueError(f"clock must be a callable returning seconds, got {clock!r}")
        self.timeout = float(timeout)
        self._clock = clock
        self._last: float | None = None

    def observation(self) -> bool:
        """An observation arrives now; True when it came more than `timeout` after the last."""
        now = self._clock()
        late = self._last is not None and now - self._last > self.timeout
        self._last = now
        return late

    def expired(self) -> bool | None:
        """No observation now: whether `timeout` has passed since the last (None: never one)."""
        if self._last is None:
            return None
        return self._clock() - self._last > self.timeout


def _real_array(value: Any, name: str) -> np.ndarray:
    """`value` as float64 numbers; text, booleans and objects are refused, not converted."""
    array = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(None)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numbers, got {_show(value)}")
    return array.astype(np.float64)


def _action_in_bounds(value: Any, name: str, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """`value` as a float32 action, or one ValueError line saying what is wrong with it."""
    array = _real_array(value, name)
    if array.shape != low.shape:
        raise ValueError(
            f"{name} must have {len(low)} entries (one per action), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got {_show(value)}")
    action = array.astype(np.float32)
    outside = np.flatnonzero((action < low) | (action > high))
    if len(outside):
        i = int(outside[0])
        raise ValueError(
            f"{name}[{i}] = {array[i]:g} is outside the action bounds [{low[i]:g}, {high[i]:g}]"
        )
    return action


def _show(value: Any) -> str:
    text = np.array2string(value, precision=4) if isinstance(value, np.ndarray) else repr(value)
    return " ".join(text.split())[:120]


def shipped_models() -> list[str]:
    """Names of the policies shipped inside the package (`ddpg_robot.models`)."""
    folder = _models_folder()
    if folder is None:
        return []
    return sorted(name[: -len(".onnx")] for name in os.listdir(folder) if name.endswith(".onnx"))


def shipped_model_path(name: str) -> str | None:
    """Path of the shipped policy called `name` (with or without `.onnx`), or None."""
    folder = _models_folder()
    if folder is None or os.sep in name or (os.altsep and os.altsep in name):
        return None
    filename = name if name.endswith(".onnx") else f"{name}.onnx"
    candidate = os.path.join(folder, filename)
    return candidate if os.path.isfile(candidate) else None


def _models_folder() -> str | None:
    try:
        from ddpg_robot import models
    except ImportError:
        return None
    return os.path.dirname(os.path.abspath(models.__file__))


def _read_metadata(session: ort.InferenceSession, path: str) -> dict[str, Any]:
    """The file's metadata, parsed: the required keys validated (one line for the first bad
    one), informational JSON keys parsed where they parse, every other key kept as text."""
    raw = session.get_modelmeta().custom_metadata_map
    if "ddpg_robot.schema" not in raw:
        raise ValueError(
            f"{path} is not a ddpg-robot policy (no ddpg_robot.schema metadata); "
            "export one with `ddpg-robot export RUN_DIR`"
        )
    if raw["ddpg_robot.schema"] != SCHEMA_VERSION:
        raise ValueError(
            f"{path} has ddpg-robot schema {raw['ddpg_robot.schema']!r}; this runtime reads "
            f"schema {SCHEMA_VERSION!r}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise ValueError(f"{path}: ddpg-robot metadata lacks required {', '.join(missing)}")
    metadata: dict[str, Any] = dict(raw)
    for key in INFORMATIONAL_JSON_KEYS:
        if key in raw:
            try:
                metadata[key] = json.loads(raw[key])
            except json.JSONDecodeError:
                pass  # informational: kept as the text it is
    obs_dim = _positive_int(raw, "obs_dim", path)
    act_dim = _positive_int(raw, "act_dim", path)
    low = _bound_list(raw, "action_low", act_dim, path)
    high = _bound_list(raw, "action_high", act_dim, path)
    if (low > high).any():
        i = int(np.flatnonzero(low > high)[0])
        raise ValueError(
            f"{path}: metadata action_low[{i}] = {low[i]:g} is above action_high[{i}] = {high[i]:g}"
        )
    dt = _json_value(raw, "control_dt", path)
    if not (_is_number(dt) and math.isfinite(dt) and dt > 0):
        raise ValueError(
            f"{path}: metadata control_dt must be a finite positive number of seconds, "
            f"got {raw['control_dt']!r}"
        )
    metadata.update(obs_dim=obs_dim, act_dim=act_dim, action_low=low.tolist(),
                    action_high=high.tolist(), control_dt=float(dt))  # fmt: skip
    return metadata


def _names(value: Any, width: int) -> tuple[str, ...] | None:
    """`width` strings parsed from an informational key, or None for anything else."""
    if isinstance(value, list) and len(value) == width and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _json_value(raw: dict[str, str], key: str, path: str) -> Any:
    try:
        return json.loads(raw[key])
    except json.JSONDecodeError:
        raise ValueError(f"{path}: metadata {key}={raw[key]!r} is not valid JSON") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_int(raw: dict[str, str], key: str, path: str) -> int:
    value = _json_value(raw, key, path)
    if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        raise ValueError(f"{path}: metadata {key} must be a positive integer, got {raw[key]!r}")
    return value


def _bound_list(raw: dict[str, str], key: str, act_dim: int, path: str) -> np.ndarray:
    value = _json_value(raw, key, path)
    if not (isinstance(value, list) and all(_is_number(v) for v in value)):
        raise ValueError(f"{path}: metadata {key} must be a list of numbers, got {raw[key]!r}")
    if len(value) != act_dim:
        raise ValueError(
            f"{path}: metadata {key} has {len(value)} entries but act_dim is {act_dim}"
        )
    bounds = np.asarray(value, dtype=np.float64)
    if not np.isfinite(bounds).all():
        raise ValueError(f"{path}: metadata {key} must be finite, got {raw[key]!r}")
    return bounds


def _check_graph(session: ort.InferenceSession, obs_dim: int, act_dim: int, path: str) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != ["obs"] or [o.name for o in outputs] != ["action"]:
        raise ValueError(
            f"{path}: graph has inputs {[i.name for i in inputs]} and outputs "
            f"{[o.name for o in outputs]}; a ddpg-robot policy has one input 'obs' and one "
            "output 'action'"
        )
    for node, dim, name in ((inputs[0], obs_dim, "obs_dim"), (outputs[0], act_dim, "act_dim")):
        if node.type != "tensor(float)":
            raise ValueError(f"{path}: '{node.name}' is {node.type}, expected tensor(float)")
        shape = node.shape
        if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != dim):
            raise ValueError(
                f"{path}: metadata says {name}={dim} but the graph's '{node.name}' has "
                f"shape {shape}"
            )
