"""ddpg_robot.runtime.Controller: torch-free loading, guards, and the safety property."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tests.envs  # noqa: F401  (registers TestPoint-v0)
from ddpg_robot.control_loop import ControlLoop
from ddpg_robot.export import export_policy
from ddpg_robot.runtime import Controller
from tests.envs import HIGH, LOW
from tests.helpers import run_main

OBS_DIM, ACT_DIM = 3, 2


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A briefly trained TestPoint-v0 policy (asymmetric bounds) exported to ONNX."""
    run_dir = tmp_path_factory.mktemp("runtime") / "point"
    code, _, err = run_main(["train", "TestPoint-v0", "--run-dir", str(run_dir),
                             "--total-steps", "300", "--learning-starts", "100",
                             "--batch-size", "32", "--hidden-sizes", "32,32",
                             "--eval-every", "300", "--eval-episodes", "1", "--quiet"])  # fmt: skip
    assert code == 0, err
    return export_policy(run_dir).path


def test_runtime_import_loads_no_torch_gymnasium_or_mujoco(policy: Path) -> None:
    code = (
        "import sys\n"
        "from ddpg_robot.runtime import Controller\n"
        f"c = Controller({str(policy)!r})\n"
        "c.act([0.0, 0.0, 0.0])\n"
        "print(sorted(m for m in ('torch', 'gymnasium', 'mujoco') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_properties_come_from_the_metadata(policy: Path) -> None:
    c = Controller(policy)
    assert (c.obs_dim, c.act_dim) == (OBS_DIM, ACT_DIM)
    np.testing.assert_array_equal(c.action_low, LOW)
    np.testing.assert_array_equal(c.action_high, HIGH)
    assert c.control_dt == pytest.approx(0.01)
    assert c.metadata["env_id"] == "TestPoint-v0" and c.metadata["actor_head"] == "tanh"
    assert c.stats == {"calls": 0, "held": 0}


def test_act_shapes_dtypes_and_inputs(policy: Path) -> None:
    c = Controller(policy)
    single = c.act(np.array([0.1, -0.2, 0.3]))
    assert single.shape == (ACT_DIM,) and single.dtype == np.float32
    np.testing.assert_array_equal(c.act([0.1, -0.2, 0.3]), single)  # a list
    np.testing.assert_array_equal(c.act(np.array([0.1, -0.2, 0.3], dtype=np.float32)), single)
    assert c.act(np.array([1, 2, 3], dtype=np.int64)).dtype == np.float32
    batch = c.act(np.array([[0.1, -0.2, 0.3]] * 5))
    assert batch.shape == (5, ACT_DIM) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, np.tile(single, (5, 1)), rtol=0, atol=1e-6)
    assert c.stats["calls"] == 5


def test_returned_actions_are_not_overwritten_by_later_calls(policy: Path) -> None:
    c = Controller(policy)
    first = c.act([1.0, 0.0, 0.0])
    kept = first.copy()
    c.act([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("shape", [(2,), (4,), (1, 2), (2, 4), (3, 3, 1), ()])
def test_wrong_shape_names_the_expected_one(policy: Path, shape: tuple) -> None:
    with pytest.raises(ValueError, match=r"expected \(3,\) or \(batch, 3\)"):
        Controller(policy).act(np.zeros(shape))


def test_nonfinite_raises_by_default(policy: Path) -> None:
    c = Controller(policy)
    for bad in ([np.nan, 0, 0], [0, np.inf, 0], [0, 0, -np.inf]):
        with pytest.raises(ValueError, match="NaN or inf"):
            c.act(bad)
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        c.act([[0, 0, 0], [np.nan, 0, 0]])


def test_nonfinite_hold_returns_last_good_action_and_counts(policy: Path) -> None:
    c = Controller(policy, on_nonfinite="hold")
    np.testing.assert_array_equal(c.act([np.nan, 0, 0]), (LOW + HIGH) / 2)  # before any good one
    good = c.act([0.3, 0.2, 0.1])
    np.testing.assert_array_equal(c.act([0, np.inf, 0]), good)
    batch = c.act([[0.5, 0.5, 0.5], [np.nan, 1, 1]])
    np.testing.assert_array_equal(batch[1], good)
    assert c.stats == {"calls": 4, "held": 3}


def test_not_a_ddpg_robot_file(tmp_path: Path, policy: Path) -> None:
    model = onnx.load(str(policy))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "bare.onnx"))
    with pytest.raises(ValueError, match="is not a ddpg-robot policy"):
        Controller(tmp_path / "bare.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ValueError, match="is not a loadable ONNX model"):
        Controller(tmp_path / "junk.onnx")
    with pytest.raises(FileNotFoundError):
        Controller(tmp_path / "missing.onnx")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("obs_dim", "5", "metadata says obs_dim=5"),
        ("act_dim", "3", "action bounds do not have act_dim=3"),
        ("action_low", "[-1.0, 6.0]", "high > low"),
        ("control_dt", "-0.1", "control_dt must be a positive"),
        ("ddpg_robot.schema", "2", "schema"),
        ("obs_dim", "{oops", "not valid JSON"),
    ],
)
def test_metadata_that_contradicts_the_graph(
    tmp_path: Path, policy: Path, key: str, value: str, message: str
) -> None:
    model = onnx.load(str(policy))
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
    onnx.save(model, str(tmp_path / "bad.onnx"))
    with pytest.raises(ValueError, match=message):
        Controller(tmp_path / "bad.onnx")


finite_floats = st.floats(allow_nan=False, allow_infinity=False)  # float64, any magnitude


@settings(max_examples=300, deadline=None)
@given(obs=arrays(np.float64, (OBS_DIM,), elements=finite_floats))
def test_any_finite_observation_gives_a_finite_in_bounds_action(policy: Path, obs) -> None:
    action = _controller(policy).act(obs)
    assert action.shape == (ACT_DIM,) and np.isfinite(action).all()
    assert (action >= LOW).all() and (action <= HIGH).all()


@settings(max_examples=100, deadline=None)
@given(obs=arrays(np.float64, st.tuples(st.integers(1, 16), st.just(OBS_DIM)),
                  elements=finite_floats))  # fmt: skip
def test_any_finite_batch_gives_finite_in_bounds_actions(policy: Path, obs) -> None:
    actions = _controller(policy).act(obs)
    assert actions.shape == (len(obs), ACT_DIM) and np.isfinite(actions).all()
    assert (actions >= LOW).all() and (actions <= HIGH).all()


_CACHE: dict[Path, Controller] = {}


def _controller(path: Path) -> Controller:
    if path not in _CACHE:
        _CACHE[path] = Controller(path)
    return _CACHE[path]


class FakeClock:
    """Deterministic time: each step costs `work` seconds; sleep advances the clock."""

    def __init__(self, work: list[float]) -> None:
        self.now, self.work, self.slept = 0.0, work, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_control_loop_paces_and_counts_deadline_misses(policy: Path) -> None:
    c = Controller(policy)
    fake = FakeClock(work=[0.002, 0.002, 0.015, 0.002, 0.002])  # period 0.01 s (100 Hz)
    written: list[np.ndarray] = []

    def write(action: np.ndarray) -> None:
        fake.now += fake.work[len(written)]
        written.append(action)

    loop = ControlLoop(c, lambda: np.zeros(OBS_DIM), write, clock=fake.clock, sleep=fake.sleep)
    stats = loop.run(max_steps=5)
    assert stats.steps == 5 and len(written) == 5 and stats.period == pytest.approx(0.01)
    assert stats.deadline_misses == 1  # only the 15 ms step overran its 10 ms slot
    assert fake.slept[:2] == pytest.approx([0.008, 0.008])
    assert stats.max == pytest.approx(0.015) and stats.p50 == pytest.approx(0.002)
    assert all(((a >= LOW) & (a <= HIGH)).all() for a in written)


def test_control_loop_stops_on_request(policy: Path) -> None:
    c = Controller(policy)
    loop = ControlLoop(c, lambda: np.zeros(OBS_DIM), lambda a: None, hz=1000.0)

    count = {"n": 0}

    def write(action: np.ndarray) -> None:
        count["n"] += 1
        if count["n"] == 7:
            loop.stop()

    loop.write_action = write
    assert loop.run().steps == 7


def test_control_loop_needs_a_rate(tmp_path: Path, policy: Path) -> None:
    model = onnx.load(str(policy))
    for prop in model.metadata_props:
        if prop.key == "control_dt":
            prop.value = json.dumps(None)
    onnx.save(model, str(tmp_path / "nodt.onnx"))
    with pytest.raises(ValueError, match="pass hz="):
        ControlLoop(Controller(tmp_path / "nodt.onnx"), lambda: None, lambda a: None)


def test_run_command_drives_a_mujoco_env(tmp_path: Path) -> None:
    run_dir = tmp_path / "ip"
    fast = ["--learning-starts", "200", "--batch-size", "32", "--hidden-sizes", "16", "--quiet"]
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(run_dir),
                             "--total-steps", "250", "--eval-every", "0", *fast])  # fmt: skip
    assert code == 0, err
    path = export_policy(run_dir).path
    code, out, err = run_main(["run", str(path), "--env", "InvertedPendulum-v4", "--realtime",
                               "--steps", "10"])  # fmt: skip
    assert code == 0, err
    assert "10 steps at 25.0 Hz" in out and "10 act() calls, 0 held" in out


def test_controller_opens_a_shipped_model_by_name(
    tmp_path: Path, policy: Path, monkeypatch
) -> None:
    import shutil

    import ddpg_robot.runtime as runtime

    shutil.copy(policy, tmp_path / "point-v0.onnx")
    monkeypatch.setattr(runtime, "_models_folder", lambda: str(tmp_path))
    assert runtime.shipped_models() == ["point-v0"]
    for name in ("point-v0", "point-v0.onnx"):
        assert Controller(name).metadata["env_id"] == "TestPoint-v0"
    with pytest.raises(FileNotFoundError, match=r"no shipped model of that name \(point-v0\)"):
        Controller("cheetah-v9")
