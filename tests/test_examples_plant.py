"""examples/raw_mujoco_plant: a policy drives a MuJoCo plant built without gymnasium, in one
process through Controller, and as plant + controller processes over Zenoh on loopback.

Real parts throughout: MuJoCo, onnxruntime, and Zenoh sessions on 127.0.0.1 (each test its
own port and key prefix, so parallel runs do not collide; every wait has a timeout, so a
hang fails instead of blocking). The returns are compared with `ddpg-robot eval` on the
same seed: the plant repeats gymnasium's arithmetic operation for operation (checked step
by step below), so they agree to the last bit; the tolerance, 0.005, is only the rounding
of eval's printed mean (two decimals). A difference in the dynamics would not hide in it: a
1000-step HalfCheetah episode amplifies any change to whole units of return.
"""

from __future__ import annotations

import importlib.util
import json
import queue
import re
import select
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.helpers import run_main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "raw_mujoco_plant"
MODEL = ROOT / "models" / "halfcheetah-v4.onnx"
SEED = 3
STEPS = 1000  # one whole episode: what `ddpg-robot eval --episodes 1` runs


def _load(name: str) -> ModuleType:
    """An example module by path, under a name of its own (the scripts import each other by
    their plain file names, which may clash with other modules here)."""
    spec = importlib.util.spec_from_file_location(
        f"raw_mujoco_plant_{name}", EXAMPLE / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def eval_return() -> float:
    code, out, err = run_main(["eval", str(MODEL), "--env", "HalfCheetah-v4", "--seed",
                               str(SEED), "--episodes", "1"])  # fmt: skip
    assert code == 0, err
    return float(re.search(r"return (-?[\d.]+) \+-", out).group(1))


def _assert_in_ctrlrange(report: dict) -> None:
    low, high = (np.array(bound) for bound in report["ctrlrange"])
    assert report["outside_ctrlrange"] == 0
    assert (np.array(report["action_min"]) >= low).all()
    assert (np.array(report["action_max"]) <= high).all()


# ----------------------------------------------------------------------------- the plant


def test_the_plant_is_half_cheetah_v4_step_for_step() -> None:
    """Same MJCF, reset noise, observation and reward as gymnasium's env, bit for bit."""
    import gymnasium as gym

    plant = _load("plant").HalfCheetahPlant(seed=SEED)
    env = gym.make("HalfCheetah-v4")
    obs, _ = env.reset(seed=SEED)
    np.testing.assert_array_equal(plant.observation(), obs)
    for _ in range(2):  # later resets continue the same random stream
        np.testing.assert_array_equal(plant.reset(), env.reset()[0])
    rng = np.random.default_rng(0)
    for _ in range(100):
        action = rng.uniform(-1, 1, 6).astype(np.float32)
        obs, reward, *_ = env.step(action)
        assert plant.step(action) == reward
        np.testing.assert_array_equal(plant.observation(), obs)
    assert plant.dt == env.unwrapped.dt == 0.05
    np.testing.assert_array_equal(plant.action_low, env.action_space.low)
    env.close()


def _run_in_process(*args: str) -> tuple[dict, list[str]]:
    """Run run_in_process.py in a fresh interpreter; (its JSON report, heavy modules loaded)."""
    code = (
        "import json, runpy, sys\n"
        f"sys.path.insert(0, {str(EXAMPLE)!r})\n"
        f"sys.argv = ['run_in_process.py', *{list(args)!r}, '--json']\n"
        f"runpy.run_path({str(EXAMPLE / 'run_in_process.py')!r}, run_name='__main__')\n"
        "print(json.dumps(sorted(m for m in ('gymnasium', 'torch') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr
    report, modules = out.stdout.strip().splitlines()[-2:]
    return json.loads(report), json.loads(modules)


def test_in_process_without_gymnasium_matches_eval(eval_return: float) -> None:
    report, modules = _run_in_process("--model", str(MODEL), "--seed", str(SEED))
    assert modules == []  # neither gymnasium nor torch in the plant's process
    assert report["steps"] == STEPS and len(report["returns"]) == 1
    assert report["returns"][0] == pytest.approx(eval_return, abs=0.005)
    _assert_in_ctrlrange(report)
    assert report["controller_stats"]["calls"] == STEPS


def test_in_process_paces_to_the_files_control_dt() -> None:
    start = time.monotonic()
    report, _ = _run_in_process("--model", str(MODEL), "--realtime", "--steps", "10")
    assert report["period"] == report["control_dt"] == 0.05
    assert report["steps"] == 10 and time.monotonic() - start >= 0.45
    _assert_in_ctrlrange(report)


# ---------------------------------------------------------------------- over the middleware


@pytest.fixture
def zenoh_link() -> dict:
    """A free loopback port and a key prefix of this test's own."""
    pytest.importorskip("zenoh", reason='Zenoh is not installed: pip install "ddpg-robot[deploy]"')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {"endpoint": f"tcp/127.0.0.1:{port}", "prefix": f"ddpg_robot_test/{uuid.uuid4().hex}"}


def _start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(EXAMPLE / script), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _json_line(process: subprocess.Popen, timeout: float) -> dict:
    """The next line the process prints, as JSON; fails after `timeout` seconds."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no output from {process.args[1]} within {timeout} s"
    line = process.stdout.readline()
    assert line, f"{process.args[1]} exited: {process.stderr.read()}"
    return json.loads(line)


def _stop(process: subprocess.Popen) -> dict:
    """SIGTERM, as a robot stack stops a node; the process must exit 0 and report."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def processes():
    """Every process a test starts, killed at the end if still running."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def _controller(processes: list, link: dict, *args: str) -> subprocess.Popen:
    controller = _start("controller_process.py", "--model", str(MODEL), "--listen",
                        link["endpoint"], "--prefix", link["prefix"], *args)  # fmt: skip
    processes.append(controller)
    assert _json_line(controller, timeout=30)["event"] == "ready"
    return controller


def test_plant_and_controller_processes_match_eval(zenoh_link, processes, eval_return) -> None:
    # Lockstep simulation is not real time: a long watchdog timeout keeps a stall of this
    # shared machine from turning a policy action into a safe one (and the return with it).
    controller = _controller(processes, zenoh_link, "--watchdog-timeout", "30")
    plant = subprocess.run(
        [sys.executable, str(EXAMPLE / "plant_process.py"), "--connect", zenoh_link["endpoint"],
         "--prefix", zenoh_link["prefix"], "--lockstep", "--seed", str(SEED), "--json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert plant.returncode == 0, plant.stderr
    report = json.loads(plant.stdout.strip().splitlines()[-1])
    assert report["steps"] == STEPS and report["returns"][0] == pytest.approx(
        eval_return, abs=0.005
    )
    _assert_in_ctrlrange(report)
    assert report["round_trip"]["count"] == STEPS and report["late_replies"] == 0
    stopped = _stop(controller)
    assert stopped["event"] == "stopped" and stopped["published"]["policy"] >= STEPS
    assert stopped["controller_stats"]["watchdog_late"] == 0


def test_a_killed_plant_leaves_the_controller_publishing_its_safe_action(
    zenoh_link, processes
) -> None:
    wire = _load("wire")
    safe = np.zeros(6, dtype=np.float32)
    controller = _controller(processes, zenoh_link, "--watchdog-timeout", "0.1",
                             "--safe-action", "0,0,0,0,0,0")  # fmt: skip
    session = wire.open_session(connect=zenoh_link["endpoint"])  # the test listens in
    try:
        _subscriber, actions = wire.inbox(session, f"{zenoh_link['prefix']}/action")
        plant = _start("plant_process.py", "--connect", zenoh_link["endpoint"], "--prefix",
                       zenoh_link["prefix"], "--lockstep", "--steps", "1000000")  # fmt: skip
        processes.append(plant)
        policy_actions = 0
        deadline = time.monotonic() + 60
        while policy_actions < 200:  # the plant runs: the controller answers it
            message = wire.decode_action(
                actions.get(timeout=max(deadline - time.monotonic(), 0)), 6
            )
            policy_actions += message[1] == wire.POLICY
        plant.send_signal(signal.SIGKILL)
        plant.wait(timeout=10)
        safe_seen: list[np.ndarray] = []
        deadline = time.monotonic() + 10
        while len(safe_seen) < 5:
            try:
                payload = actions.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                pytest.fail(f"{len(safe_seen)} safe actions within 10 s of the plant's death")
            _seq, kind, action = wire.decode_action(payload, 6)
            if kind == wire.SAFE:
                safe_seen.append(action)
    finally:
        session.close()
    assert all((action == safe).all() for action in safe_seen)
    assert controller.poll() is None  # still running, waiting for observations
    stopped = _stop(controller)
    assert stopped["controller_stats"]["watchdog_expired"] >= 5
    assert stopped["published"]["safe"] >= 5 and stopped["observations"] >= 200
