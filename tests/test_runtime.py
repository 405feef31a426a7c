"""ddpg_robot.runtime.Controller: torch-free loading, guards, and the safety property."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
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
from ddpg_robot.runtime import REQUIRED_KEYS, Controller
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
    assert c.stats == {"calls": 0, "held": 0, "nonfinite_output": 0}


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
    assert c.stats == {"calls": 4, "held": 3, "nonfinite_output": 0}


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


def _with_metadata(policy: Path, out: Path, changes: dict[str, str | None]) -> Path:
    """A copy of `policy` with metadata keys set (or removed, for None)."""
    model = onnx.load(str(policy))
    props = {p.key: p.value for p in model.metadata_props}
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(out))
    return out


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("obs_dim", "5", "metadata says obs_dim=5"),
        ("obs_dim", "0", "obs_dim must be a positive integer, got '0'"),
        ("obs_dim", "{oops", "not valid JSON"),
        ("act_dim", "3", "action_low has 2 entries but act_dim is 3"),
        ("act_dim", "true", "act_dim must be a positive integer, got 'true'"),
        ("act_dim", "-2", "act_dim must be a positive integer"),
        ("act_dim", "2.0", "act_dim must be a positive integer"),
        ("act_dim", '"2"', "act_dim must be a positive integer"),
        ("action_low", "[-1.0, 6.0]", "action_low[1] = 6 is above action_high[1] = 5"),
        ("action_low", "[-1.0]", "action_low has 1 entries but act_dim is 2"),
        ("action_high", "[1.0, NaN]", "action_high must be finite"),
        ("action_high", '[1.0, "5"]', "action_high must be a list of numbers"),
        ("action_high", "5.0", "action_high must be a list of numbers"),
        ("control_dt", "-0.1", "control_dt must be a finite positive number"),
        ("control_dt", "0", "control_dt must be a finite positive number"),
        (
            "control_dt",
            "true",
            "control_dt must be a finite positive number of seconds, got 'true'",
        ),
        ("control_dt", '"Infinity"', "control_dt must be a finite positive number"),
        ("control_dt", "Infinity", "control_dt must be a finite positive number"),
        ("control_dt", "NaN", "control_dt must be a finite positive number"),
        ("control_dt", "null", "control_dt must be a finite positive number"),
        ("control_dt", None, "lacks required control_dt"),
        ("action_high", None, "lacks required action_high"),
        ("ddpg_robot.schema", "2", "schema"),
    ],
)
def test_each_bad_required_value_is_one_clear_line(
    tmp_path: Path, policy: Path, key: str, value: str | None, message: str
) -> None:
    bad = _with_metadata(policy, tmp_path / "bad.onnx", {key: value})
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        Controller(bad)
    assert len(str(error.value).splitlines()) == 1


def test_the_six_required_keys_are_enough(tmp_path: Path, policy: Path) -> None:
    model = onnx.load(str(policy))
    kept = {p.key: p.value for p in model.metadata_props if p.key in REQUIRED_KEYS}
    assert len(kept) == 6
    changes = {p.key: None for p in model.metadata_props if p.key not in REQUIRED_KEYS}
    c = Controller(_with_metadata(policy, tmp_path / "minimal.onnx", changes))
    assert set(c.metadata) == set(REQUIRED_KEYS)
    action = c.act([0.1, 0.2, 0.3])
    np.testing.assert_array_equal(action, Controller(policy).act([0.1, 0.2, 0.3]))
    assert "env_id=None" in repr(c)


def test_unknown_and_malformed_informational_keys_are_ignored(tmp_path: Path, policy) -> None:
    changes = {
        "written_by": "another-tool 3.1",  # a key this runtime has never heard of
        "action_names": '["hip", "knee"]',  # one a later version writes
        "train_steps": "not json",  # informational: kept as text, not fatal
        "env_id": None,
    }
    c = Controller(_with_metadata(policy, tmp_path / "extra.onnx", changes))
    assert c.metadata["written_by"] == "another-tool 3.1"
    assert c.metadata["train_steps"] == "not json"
    assert (c.obs_dim, c.act_dim) == (OBS_DIM, ACT_DIM)


def test_names_are_read_where_well_formed(tmp_path: Path, policy: Path) -> None:
    """action_names / observation_names: lists of act_dim / obs_dim strings, else None."""
    named = Controller(
        _with_metadata(policy, tmp_path / "named.onnx",
                       {"action_names": '["hip", "knee"]', "observation_names": '["a", "b", "c"]'})
    )  # fmt: skip
    assert named.action_names == ["hip", "knee"]
    assert named.observation_names == ["a", "b", "c"]
    for bad in ('["hip"]', '["hip", 3]', '"hip, knee"', "[hip", None):
        c = Controller(_with_metadata(policy, tmp_path / "bad.onnx", {"action_names": bad}))
        assert c.action_names is None
        np.testing.assert_array_equal(c.act([0.1, 0.2, 0.3]), named.act([0.1, 0.2, 0.3]))


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


@pytest.mark.parametrize("value", [1e300, -1e300, 3.5e38, 1e39, np.finfo(np.float64).max])
def test_huge_finite_observations_act_silently_in_bounds(policy: Path, value: float) -> None:
    c = _controller(policy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning (overflow in cast) fails
        single = c.act(np.full(OBS_DIM, value))
        batch = c.act(np.array([[value, 0.0, -value], [0.0, 0.0, 0.0]]))
    for action in (single, *batch):
        assert np.isfinite(action).all() and (action >= LOW).all() and (action <= HIGH).all()


def test_observations_that_are_not_numbers_are_refused(policy: Path) -> None:
    c = _controller(policy)
    for bad in (np.array(["a", "b", "c"]), np.array([1, 2, 3], dtype=object), np.ones(3) * 1j):
        with pytest.raises(ValueError, match="must be real numbers"):
            c.act(bad)


@pytest.fixture(scope="module")
def nan_policy(tmp_path_factory: pytest.TempPathFactory, policy: Path) -> Path:
    """A conforming file (same metadata) whose graph returns NaN for every observation."""
    import torch

    from ddpg_robot.export import torch_to_onnx

    class Broken(torch.nn.Module):
        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return obs[:, :ACT_DIM] * float("nan")

    folder = tmp_path_factory.mktemp("nan")
    torch_to_onnx(Broken(), OBS_DIM, folder / "graph.onnx")
    graph = onnx.load(str(folder / "graph.onnx"))
    graph.metadata_props.extend(onnx.load(str(policy)).metadata_props)
    onnx.save(graph, str(folder / "nan.onnx"))
    return folder / "nan.onnx"


def test_a_graph_that_outputs_nan_raises(nan_policy: Path) -> None:
    c = Controller(nan_policy)
    with pytest.raises(RuntimeError, match="non-finite action for a finite observation"):
        c.act([0.1, 0.2, 0.3])
    with pytest.raises(RuntimeError, match=r"finite observation rows \[0, 1\]"):
        c.act([[0.1, 0.2, 0.3], [0.0, 0.0, 0.0]])


def test_a_graph_that_outputs_nan_is_held_and_counted(nan_policy: Path) -> None:
    c = Controller(nan_policy, on_nonfinite="hold")
    np.testing.assert_array_equal(c.act([0.1, 0.2, 0.3]), (LOW + HIGH) / 2)
    batch = c.act([[0.1, 0.2, 0.3], [np.nan, 0.0, 0.0]])
    np.testing.assert_array_equal(batch, np.tile((LOW + HIGH) / 2, (2, 1)))
    assert c.stats == {"calls": 2, "held": 3, "nonfinite_output": 2}


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


def test_control_loop_needs_a_rate() -> None:
    class PeriodlessController:  # any object with act(); ddpg-robot files always have one
        control_dt = None

        def act(self, obs):
            return obs

    with pytest.raises(ValueError, match="pass hz="):
        ControlLoop(PeriodlessController(), lambda: None, lambda a: None)


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


# --------------------------------------------------------------- opt-in guards: rate limit

SAFE = np.array([-1.5, 4.0], dtype=np.float32)  # inside [LOW, HIGH], far from the middle


class ManualClock:
    """Seconds that move only when the test says so (the watchdog's injectable clock)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


events = st.lists(
    st.tuples(
        st.sampled_from(["act", "act", "act", "nan", "tick"]),
        arrays(np.float64, (OBS_DIM,), elements=st.floats(-50, 50)),
        st.floats(0.0, 0.05),  # seconds since the previous event
    ),
    min_size=2,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    events=events,
    max_delta=st.floats(1e-6, 8.0) | arrays(np.float64, (ACT_DIM,), elements=st.floats(1e-6, 8.0)),
    start=st.none() | st.just(np.array([0.5, 0.5], dtype=np.float32)),
    safe=st.just("hold") | st.just(SAFE),
)
def test_the_rate_limit_is_never_exceeded(policy: Path, events, max_delta, start, safe) -> None:
    """Every action act() or tick() returns (policy, late, NaN, expired: all kinds) stays
    within max_delta of the one before, measured exactly, and inside the bounds."""
    clock = ManualClock()
    c = Controller(policy, max_delta=max_delta, start_action=start, watchdog_timeout=0.03,
                   safe_action=safe, clock=clock)  # fmt: skip
    limit = np.broadcast_to(np.asarray(max_delta, dtype=np.float64), (ACT_DIM,))
    previous = None if start is None else start.astype(np.float64)
    for kind, obs, dt in events:
        clock.now += dt
        if kind == "tick":
            action = c.tick()
        else:
            action = c.act(np.where(np.arange(OBS_DIM) == 0, np.nan, obs) if kind == "nan" else obs)
        assert action.dtype == np.float32 and (action >= LOW).all() and (action <= HIGH).all()
        if previous is not None:
            assert (np.abs(action.astype(np.float64) - previous) <= limit).all()
        previous = action.astype(np.float64)


def test_the_rate_limit_leaves_actions_within_it_alone(policy: Path) -> None:
    plain, limited = Controller(policy), Controller(policy, max_delta=HIGH - LOW)
    rng = np.random.default_rng(0)
    for obs in rng.standard_normal((50, OBS_DIM)) * 10:
        np.testing.assert_array_equal(limited.act(obs), plain.act(obs))
    assert limited.stats["rate_limited"] == 0


def test_the_rate_limit_moves_at_most_max_delta_from_the_start_action(policy: Path) -> None:
    start = np.array([-2.0, 0.0], dtype=np.float32)  # LOW: the policy's actions are above
    c = Controller(policy, max_delta=[0.25, 0.5], start_action=start)
    target = Controller(policy).act([0.1, 0.2, 0.3])
    first = c.act([0.1, 0.2, 0.3])
    expected = np.minimum(target, start + np.array([0.25, 0.5], dtype=np.float32))
    assert (first <= expected).all()  # never past the limit; short of it by one float32
    np.testing.assert_allclose(first, expected, rtol=0, atol=np.spacing(np.float32(5.0)))
    assert c.stats == {"calls": 1, "held": 0, "nonfinite_output": 0, "rate_limited": 1}


# ------------------------------------------------------------------ opt-in guards: watchdog


def test_a_missed_deadline_yields_the_safe_action_and_is_counted(policy: Path) -> None:
    clock = ManualClock()
    c = Controller(policy, watchdog_timeout=0.1, safe_action=SAFE, clock=clock)
    obs = [0.1, 0.2, 0.3]
    good = Controller(policy).act(obs)
    np.testing.assert_array_equal(c.tick(), SAFE)  # no observation yet: safe, nothing late
    np.testing.assert_array_equal(c.act(obs), good)  # t = 0
    clock.now = 0.05
    np.testing.assert_array_equal(c.tick(), good)  # within the timeout: the last action
    clock.now = 0.15
    np.testing.assert_array_equal(c.tick(), SAFE)  # past it: the safe action, counted
    clock.now = 0.25
    np.testing.assert_array_equal(c.tick(), SAFE)
    clock.now = 0.30
    np.testing.assert_array_equal(c.act(obs), SAFE)  # 0.3 s after the last act(): late
    clock.now = 0.35
    np.testing.assert_array_equal(c.act(obs), good)  # on time again: the policy's action
    expected = {"ticks": 4, "watchdog_late": 1, "watchdog_expired": 2, "watchdog_nonfinite": 0}
    assert c.stats == {"calls": 3, "held": 0, "nonfinite_output": 0, **expected}


def test_the_hold_safe_action_repeats_the_last_action(policy: Path) -> None:
    clock = ManualClock()
    c = Controller(policy, watchdog_timeout=0.1, clock=clock)  # safe_action="hold"
    np.testing.assert_array_equal(c.tick(), (LOW + HIGH) / 2)  # before any: the midpoint
    good = c.act([0.3, 0.2, 0.1])
    clock.now = 1.0
    np.testing.assert_array_equal(c.tick(), good)
    np.testing.assert_array_equal(c.act([0.0, 0.0, 0.0]), good)  # late
    np.testing.assert_array_equal(c.act([np.nan, 0, 0]), good)
    assert (c.stats["watchdog_expired"], c.stats["watchdog_late"]) == (1, 1)
    assert c.stats["watchdog_nonfinite"] == 1


def test_a_nonfinite_observation_yields_the_safe_action_and_is_counted(policy: Path) -> None:
    c = Controller(policy, watchdog_timeout=10.0, safe_action=SAFE)  # on_nonfinite="raise"
    good = Controller(policy).act([0.1, 0.2, 0.3])
    for bad in ([np.nan, 0, 0], [0, np.inf, 0], [0, 0, -np.inf]):
        np.testing.assert_array_equal(c.act(bad), SAFE)
    np.testing.assert_array_equal(c.act([0.1, 0.2, 0.3]), good)
    assert c.stats["watchdog_nonfinite"] == 3 and c.stats["held"] == 0


def test_the_watchdog_runs_on_the_real_monotonic_clock(policy: Path) -> None:
    import time

    c = Controller(policy, watchdog_timeout=0.05, safe_action=SAFE)
    good = c.act([0.1, 0.2, 0.3])
    np.testing.assert_array_equal(c.tick(), good)
    time.sleep(0.1)
    np.testing.assert_array_equal(c.tick(), SAFE)
    assert c.stats["watchdog_expired"] == 1


def test_the_control_loop_ticks_when_no_observation_arrives(policy: Path) -> None:
    fake = FakeClock(work=[])
    c = Controller(policy, watchdog_timeout=0.025, safe_action=SAFE, clock=fake.clock)
    feed = iter([[0.1, 0.2, 0.3], None, None, None, [0.1, 0.2, 0.3]])  # 100 Hz loop
    written: list[np.ndarray] = []
    loop = ControlLoop(c, lambda: next(feed), written.append, clock=fake.clock, sleep=fake.sleep)
    stats = loop.run(max_steps=5)
    good = Controller(policy).act([0.1, 0.2, 0.3])
    for action, expected in zip(written, [good, good, good, SAFE, SAFE]):  # t = 0 .. 0.04
        np.testing.assert_array_equal(action, expected)  # the last: 0.04 s after the first
    assert stats.no_observation == 3 and "3 steps without an observation" in stats.summary()
    assert c.stats["watchdog_expired"] == 1 and c.stats["watchdog_late"] == 1


def test_tick_needs_a_watchdog_and_guards_refuse_a_batch(policy: Path) -> None:
    with pytest.raises(RuntimeError, match="tick\\(\\) needs a watchdog"):
        Controller(policy).tick()
    for kwargs in ({"max_delta": 0.1}, {"watchdog_timeout": 0.1}):
        with pytest.raises(ValueError, match=r"one observation \(3,\) at a time, not a batch"):
            Controller(policy, **kwargs).act(np.zeros((2, OBS_DIM)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_delta": 0}, "max_delta must be finite and positive (env units per control"),
        ({"max_delta": -0.1}, "max_delta must be finite and positive"),
        ({"max_delta": float("nan")}, "max_delta must be finite and positive"),
        ({"max_delta": float("inf")}, "max_delta must be finite and positive"),
        ({"max_delta": [0.1, 0.0]}, "max_delta must be finite and positive"),
        ({"max_delta": [0.1, 0.1, 0.1]}, "max_delta must be one number or 2 numbers"),
        ({"max_delta": "0.1"}, "max_delta must be numbers, got '0.1'"),
        ({"max_delta": True}, "max_delta must be numbers, got True"),
        ({"watchdog_timeout": 0}, "watchdog_timeout must be a finite positive number of s"),
        ({"watchdog_timeout": -1.0}, "watchdog_timeout must be a finite positive number"),
        ({"watchdog_timeout": float("nan")}, "watchdog_timeout must be a finite positive"),
        ({"watchdog_timeout": float("inf")}, "watchdog_timeout must be a finite positive"),
        ({"watchdog_timeout": True}, "watchdog_timeout must be a finite positive"),
        ({"watchdog_timeout": 1, "safe_action": [0.0]}, "safe_action must have 2 entries"),
        (
            {"watchdog_timeout": 1, "safe_action": [0.0, 6.0]},
            "safe_action[1] = 6 is outside the action bounds [0, 5]",
        ),  # fmt: skip
        ({"watchdog_timeout": 1, "safe_action": [np.nan, 1.0]}, "safe_action must be finite"),
        ({"watchdog_timeout": 1, "safe_action": "stop"}, "safe_action must be 'hold' or 2 n"),
        ({"safe_action": [0.0, 1.0]}, "safe_action needs watchdog_timeout=SECONDS"),
        ({"max_delta": 1, "start_action": [-3.0, 1.0]}, "start_action[0] = -3 is outside"),
        ({"start_action": [0.0, 1.0]}, "start_action needs max_delta= or watchdog_timeout="),
        ({"watchdog_timeout": 1, "clock": 5}, "clock must be a callable returning seconds"),
    ],
)
def test_each_bad_guard_argument_is_one_clear_line(policy: Path, kwargs, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        Controller(policy, **kwargs)
    assert len(str(error.value).splitlines()) == 1
