"""`ddpg-robot bench latency MODEL`: act() latency beside bare onnxruntime and torch eager.

All run the same weights at batch 1 on one thread, timed call by call with perf_counter_ns
in interleaved rounds (A B C, B C A, ...) so that machine noise hits each alike. Beside the
plain act(), three more Controllers show what each opt-in guard costs when on: the rate
limit, the watchdog, and both. Import time and peak RSS come from fresh subprocesses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class LatencyFigures:
    name: str
    p50_us: float
    p99_us: float
    max_us: float
    calls: int
    note: str = ""


GUARD_MAX_DELTA_FRACTION = 0.05
"""The benchmarked rate limit: 5 % of each action's range per call. Random observations
make most successive actions differ by more, so most calls take the limiting branch (the
costlier one)."""
GUARD_WATCHDOG_TIMEOUT = 60.0
"""Seconds: long enough never to trip between two timed calls, so the timed path is the
per-call clock reading and comparison, as in a healthy control loop."""


def guarded_controllers(model: str | Path) -> dict[str, Any]:
    """Controllers of `model` with each opt-in guard on, named as the bench prints them."""
    from ddpg_robot.runtime import Controller

    plain = Controller(model, threads=1)
    max_delta = GUARD_MAX_DELTA_FRACTION * (plain.action_high - plain.action_low)
    max_delta = np.where(max_delta > 0, max_delta, 1.0)  # an action with low == high
    return {
        "act + rate limit": Controller(model, threads=1, max_delta=max_delta),
        "act + watchdog": Controller(model, threads=1, watchdog_timeout=GUARD_WATCHDOG_TIMEOUT),
        "act + both": Controller(
            model, threads=1, max_delta=max_delta, watchdog_timeout=GUARD_WATCHDOG_TIMEOUT
        ),
    }


def measure_latency(
    model: str | Path, *, calls: int = 10_000, warmup: int = 1_000, rounds: int = 10
) -> list[LatencyFigures]:
    """p50/p99/max per call for Controller.act (plain, then with each guard on), bare
    InferenceSession.run and torch eager."""
    import onnxruntime as ort

    from ddpg_robot.runtime import Controller, session_options

    controller = Controller(model, threads=1)
    guarded = guarded_controllers(model)
    session = ort.InferenceSession(
        str(model), session_options(threads=1), providers=["CPUExecutionProvider"]
    )
    torch_fn = torch_eager_from_onnx(model)

    rng = np.random.default_rng(0)
    observations = rng.standard_normal((256, controller.obs_dim)).astype(np.float32)
    batch1 = [o[None].copy() for o in observations]  # what a bare run() caller passes

    check = observations[:16]
    reference = session.run(["action"], {"obs": check})[0]
    torch_out = np.stack([torch_fn(o[None])[0] for o in check])
    # Float32 programs that add in another order differ by a few 1e-4 of the action range
    # on trained policies (docs/export.md's parity table); a misread op, by much of it.
    tolerance = 1e-3 * (controller.action_high - controller.action_low)
    if (np.abs(torch_out - reference) > tolerance).any():
        raise RuntimeError("the torch re-implementation does not match the ONNX graph")

    # The four Controllers are called through the same lambda shape, so they pay alike.
    contenders: dict[str, Callable[[int], object]] = {
        name: (lambda i, c=c: c.act(observations[i]))
        for name, c in {"Controller.act": controller, **guarded}.items()
    }
    contenders |= {
        "InferenceSession.run": lambda i: session.run(["action"], {"obs": batch1[i]}),
        "torch eager": lambda i: torch_fn(batch1[i]),
    }
    for fn in contenders.values():
        for i in range(warmup):
            fn(i % 256)
    rounds = max(1, min(rounds, calls))  # `calls` timed calls, not more
    per_round = max(calls // rounds, 1)
    samples = {name: np.zeros(per_round * rounds) for name in contenders}
    names = list(contenders)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn, out = contenders[name], samples[name]
            for k in range(per_round):
                i = (r * per_round + k) % 256
                t0 = time.perf_counter_ns()
                fn(i)
                out[r * per_round + k] = time.perf_counter_ns() - t0
    limited = guarded["act + rate limit"].stats
    notes = {"act + rate limit": f"limit moved {limited['rate_limited'] / limited['calls']:.0%}"}
    figures = []
    for name, ns in samples.items():
        p50, p99 = np.percentile(ns, [50, 99]) / 1e3
        figures.append(LatencyFigures(name, float(p50), float(p99), float(ns.max() / 1e3),
                                      len(ns), notes.get(name, "")))  # fmt: skip
    return figures


def torch_eager_from_onnx(model: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """Run the exported graph's own weights with torch eager ops, one thread.

    The graphs ddpg-robot writes use a handful of ops; interpreting them keeps "torch eager
    on the same weights" true for any policy file, shipped ones included.
    """
    import onnx
    import torch
    from onnx import numpy_helper

    torch.set_num_threads(1)
    graph = onnx.load(str(model)).graph
    values = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    binary = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div,
              "Max": torch.maximum, "Min": torch.minimum}  # fmt: skip
    steps: list[tuple[Callable, list[str], str]] = []
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            values[node.output[0]] = torch.from_numpy(numpy_helper.to_array(attrs["value"]).copy())
            continue
        if node.op_type in binary:
            fn = binary[node.op_type]
        elif node.op_type == "Gemm":
            fn = partial(_gemm, transpose_b=bool(attrs.get("transB", 0)))
        elif node.op_type in ("Relu", "Tanh", "Identity"):
            fn = {"Relu": torch.relu, "Tanh": torch.tanh, "Identity": _identity}[node.op_type]
        elif node.op_type == "Clip":
            fn = torch.clamp
        elif node.op_type == "Sqrt":
            fn = torch.sqrt
        else:
            raise ValueError(f"op {node.op_type} is not in ddpg-robot's exported graphs")
        steps.append((fn, list(node.input), node.output[0]))

    @torch.no_grad()
    def run(obs: np.ndarray) -> np.ndarray:
        env = dict(values)
        env["obs"] = torch.from_numpy(obs)
        for fn, inputs, output in steps:
            env[output] = fn(*(env[name] for name in inputs if name))
        return env["action"].numpy()

    return run


def _gemm(x, w, b, *, transpose_b: bool):
    import torch

    return torch.addmm(b, x, w.t() if transpose_b else w)


def _identity(x):
    return x


_FOOTPRINT = """
import json, sys, time
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
{load}
for _ in range(1000):
    {call}
# VmHWM, not ru_maxrss: the latter carries the parent's peak across fork + exec.
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
rss_mb = int(hwm.split()[1]) / 1024
torch_loaded = "torch" in sys.modules
print(json.dumps({{"import_s": t1 - t0, "peak_rss_mb": rss_mb, "torch_loaded": torch_loaded}}))
"""


def obs_dim_of(model: str | Path) -> int:
    import onnx

    return onnx.load(str(model)).graph.input[0].type.tensor_type.shape.dim[1].dim_value


def process_footprint(model: str | Path) -> dict[str, dict[str, float]]:
    """Import time and peak RSS of a runtime-only process, and of a torch process for scale."""
    variants = {
        "runtime (onnxruntime + numpy)": (
            "from ddpg_robot.runtime import Controller\nimport numpy as np",
            f"c = Controller({str(model)!r}); o = np.zeros(c.obs_dim, np.float32)",
            "c.act(o)",
        ),
        "torch eager": (
            "import torch\nimport numpy as np\nimport ddpg_robot.tools.bench_latency as bl",
            f"f = bl.torch_eager_from_onnx({str(model)!r}); "
            f"o = np.zeros((1, bl.obs_dim_of({str(model)!r})), np.float32)",
            "f(o)",
        ),
    }
    results = {}
    for name, (imports, load, call) in variants.items():
        code = _FOOTPRINT.format(imports=imports, load=load, call=call)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=300)  # fmt: skip
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return results
