"""`ddpg-robot export` and `eval`: the ONNX file's contract, checked through onnxruntime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from ddpg_robot.checkpoint import load_checkpoint, save_checkpoint
from ddpg_robot.envs import make_env
from ddpg_robot.export import METADATA_KEYS, export_policy
from ddpg_robot.parity import float32_bound
from ddpg_robot.policy import load_actor, torch_policy
from ddpg_robot.runtime import Controller
from tests.helpers import run_main

FAST = [
    "--hidden-sizes", "32,32", "--batch-size", "32", "--learning-starts", "200",
    "--eval-episodes", "2", "--buffer-size", "10000", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two short InvertedPendulum runs with a tanh head (the linear head has its own test
    below): one with observation normalisation, one without."""
    root = tmp_path_factory.mktemp("export")
    dirs = {}
    for name, extra in (("plain", []), ("normalized", ["--normalize-obs"])):
        dirs[name] = root / name
        args = ["--run-dir", str(dirs[name]), "--total-steps", "600", "--eval-every", "300",
                "--action-bound", "tanh"]  # fmt: skip
        code, _, err = run_main(["train", "InvertedPendulum-v4", *args, *FAST, *extra])
        assert code == 0, err
    return dirs


@pytest.fixture(scope="module")
def exported(runs: dict[str, Path]) -> dict[str, Path]:
    return {name: export_policy(run_dir).path for name, run_dir in runs.items()}


def _ort(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_default_output_and_cli_report(
    runs: dict[str, Path], exported: dict[str, Path], tmp_path: Path
) -> None:
    assert exported["plain"] == runs["plain"] / "policy.onnx"  # the default output
    umask = os.umask(0)
    os.umask(umask)
    for written in (exported["plain"], runs["plain"] / "checkpoints" / "last.pt"):
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    out = tmp_path / "p.onnx"
    code, stdout, err = run_main(["export", str(runs["plain"]), "-o", str(out)])
    assert code == 0, err
    assert out.is_file() and "worst |diff|" in stdout and "best.pt" in stdout
    assert "of the bound" in stdout and "note:" not in stdout  # real observations were probed
    code, stdout, _ = run_main(
        ["export", str(runs["plain"]), "--checkpoint", "last", "-o", str(out)]
    )
    assert code == 0 and "last.pt" in stdout


def test_graph_interface_and_checker(exported: dict[str, Path]) -> None:
    model = onnx.load(str(exported["plain"]))
    onnx.checker.check_model(model, full_check=True)
    (inp,), (out,) = model.graph.input, model.graph.output
    assert inp.name == "obs" and out.name == "action"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    in_dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    assert in_dims == ["batch", 4] and out_dims == ["batch", 1]
    assert not list(exported["plain"].parent.glob("*.data"))  # no external-data side file


def test_onnxruntime_matches_torch(runs: dict[str, Path], exported: dict[str, Path]) -> None:
    for name in ("plain", "normalized"):
        actor, _ = load_actor(runs[name] / "checkpoints" / "best.pt")
        obs = np.random.default_rng(0).standard_normal((3000, 4)).astype(np.float32) * 3
        (onnx_actions,) = _ort(exported[name]).run(["action"], {"obs": obs})
        with torch.no_grad():
            torch_actions = actor(torch.from_numpy(obs)).numpy()
        assert (np.abs(onnx_actions - torch_actions) <= float32_bound(actor, obs)).all()


def test_batch_one_and_batch_n_agree(exported: dict[str, Path]) -> None:
    session = _ort(exported["normalized"])
    obs = np.random.default_rng(1).standard_normal((64, 4)).astype(np.float32)
    (batch,) = session.run(["action"], {"obs": obs})
    singles = np.concatenate([session.run(["action"], {"obs": o[None]})[0] for o in obs])
    np.testing.assert_allclose(singles, batch, rtol=0, atol=1e-6)


def test_bounds_hold_for_extreme_inputs(exported: dict[str, Path]) -> None:
    extremes = [1e3, -1e3, 1e9, -1e9, 1e30, -1e30, 3.4e38, -3.4e38]
    obs = np.concatenate([np.full((1, 4), v) for v in extremes] + [np.eye(4) * 1e38])
    for path in exported.values():
        (actions,) = _ort(path).run(["action"], {"obs": obs.astype(np.float32)})
        assert np.isfinite(actions).all()
        assert (actions >= -3.0).all() and (actions <= 3.0).all()


def test_metadata_complete_and_correct(runs: dict[str, Path], exported: dict[str, Path]) -> None:
    for name, path in exported.items():
        meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert set(meta) == set(METADATA_KEYS)
        state = load_checkpoint(runs[name] / "checkpoints" / "best.pt")
        assert meta["ddpg_robot.schema"] == "1"
        assert meta["env_id"] == "InvertedPendulum-v4"
        assert json.loads(meta["obs_dim"]) == 4 and json.loads(meta["act_dim"]) == 1
        assert json.loads(meta["action_low"]) == [-3.0] and json.loads(meta["action_high"]) == [3.0]
        assert json.loads(meta["control_dt"]) == pytest.approx(0.04, abs=1e-12)
        assert meta["actor_head"] == "tanh"
        assert json.loads(meta["obs_normalization"]) is (name == "normalized")
        assert json.loads(meta["train_steps"]) == state["step"]
        assert json.loads(meta["eval_return_mean"]) == state["last_eval"]
        assert meta["torch_version"] == torch.__version__
        assert json.loads(meta["env_kwargs"]) == {}
        assert json.loads(meta["action_names"]) == ["slide"]  # the MJCF's actuator
        assert json.loads(meta["observation_names"]) == [
            "qpos.slider", "qpos.hinge", "qvel.slider", "qvel.hinge"
        ]  # fmt: skip


def test_metadata_keeps_full_float_precision(tmp_path: Path, runs: dict[str, Path]) -> None:
    """Bounds that are not round numbers survive the JSON round trip bit for bit."""
    state = load_checkpoint(runs["plain"] / "checkpoints" / "best.pt")
    low = np.float32(-2.9999998)
    state["env"]["action_low"] = [float(low)]
    state["learner"]["actor"]["action_low"] = torch.tensor([low])
    state["learner"]["actor"]["action_scale"] = (torch.tensor([3.0]) - low) / 2
    state["learner"]["actor"]["action_bias"] = (torch.tensor([3.0]) + low) / 2
    ckpt = save_checkpoint(
        tmp_path / "odd.pt", {k: v for k, v in state.items() if k != "format_version"}
    )
    report = export_policy(ckpt, tmp_path / "odd.onnx")
    assert np.float32(json.loads(report.metadata["action_low"])[0]) == low
    assert json.loads(report.metadata["action_low"])[0] == float(low)


def test_normalization_applied_exactly_once(tmp_path: Path, runs: dict[str, Path]) -> None:
    actor, state = load_actor(runs["normalized"] / "checkpoints" / "best.pt")
    norm = actor.obs_normalizer
    assert norm is not None and norm.count > 0
    # Make the statistics far from identity so applying them twice would be obvious.
    state["learner"]["actor"]["obs_normalizer.mean"] = torch.tensor([0.5, -1.0, 2.0, 0.1])
    state["learner"]["actor"]["obs_normalizer.var"] = torch.tensor([4.0, 0.25, 9.0, 1.0])
    ckpt = save_checkpoint(
        tmp_path / "n.pt", {k: v for k, v in state.items() if k != "format_version"}
    )
    path = export_policy(ckpt, tmp_path / "n.onnx").path
    actor, _ = load_actor(ckpt)
    obs = np.random.default_rng(2).standard_normal((256, 4)).astype(np.float32)
    (onnx_actions,) = _ort(path).run(["action"], {"obs": obs})
    with torch.no_grad():
        x = torch.from_numpy(obs)
        once = actor.action_bias + actor.action_scale * torch.tanh(actor.net(norm_apply(actor, x)))
        twice = actor.action_bias + actor.action_scale * torch.tanh(
            actor.net(norm_apply(actor, norm_apply(actor, x)))
        )
    assert (np.abs(onnx_actions - once.numpy()) <= float32_bound(actor, obs)).all()
    assert np.abs(onnx_actions - twice.numpy()).max() > 1e-2
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert ops.count("Sub") == 1  # (obs - mean), once


def norm_apply(actor, x: torch.Tensor) -> torch.Tensor:
    n = actor.obs_normalizer
    return torch.clamp((x - n.mean) / torch.sqrt(n.var + n.eps), -n.clip, n.clip)


def test_plain_export_has_no_normalization(exported: dict[str, Path]) -> None:
    ops = [node.op_type for node in onnx.load(str(exported["plain"])).graph.node]
    assert "Sub" not in ops


def test_same_seed_same_episodes_for_onnx_and_checkpoint(
    runs: dict[str, Path], exported: dict[str, Path]
) -> None:
    """Both evaluate the same episodes; ONNX and torch actions agree within float32's bound."""
    code_a, out_a, _ = run_main(["eval", str(exported["plain"]), "--env", "InvertedPendulum-v4",
                                 "--episodes", "3", "--seed", "5"])  # fmt: skip
    code_b, out_b, _ = run_main(["eval", str(exported["plain"]), "--env", "InvertedPendulum-v4",
                                 "--episodes", "3", "--seed", "5"])  # fmt: skip
    assert code_a == code_b == 0 and out_a == out_b  # the same seed repeats exactly
    code_c, out_c, _ = run_main(["eval", str(runs["plain"]), "--env", "InvertedPendulum-v4",
                                 "--episodes", "3", "--seed", "5"])  # fmt: skip
    assert code_c == 0 and "torch policy" in out_c and "onnx policy" in out_a
    onnx_mean = float(out_a.split("return ")[1].split()[0])
    torch_mean = float(out_c.split("return ")[1].split()[0])
    # Float32 kernels differ in the last bits; an unstable pendulum can amplify that by a
    # step or two, so returns agree within 5% rather than exactly.
    assert abs(onnx_mean - torch_mean) <= 0.05 * abs(torch_mean)

    controller = Controller(exported["plain"])
    actor, _ = load_actor(runs["plain"] / "checkpoints" / "best.pt")
    policy = torch_policy(actor)
    env = make_env("InvertedPendulum-v4", seed=5)
    obs, _ = env.reset()
    for _ in range(200):
        a_onnx, a_torch = controller.act(obs), policy(obs)
        bound = float32_bound(actor, obs[None].astype(np.float32))[0]
        assert (np.abs(a_onnx - a_torch) <= bound).all()
        obs, _, terminated, truncated, _ = env.step(a_torch)
        if terminated or truncated:
            obs, _ = env.reset()


def _fails(args: list[str], message: str) -> None:
    code, _, err = run_main(args)
    assert code != 0 and "Traceback" not in err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_export_bad_inputs(tmp_path: Path, runs: dict[str, Path]) -> None:
    _fails(["export", str(tmp_path / "missing")], "does not exist")
    (tmp_path / "empty_run").mkdir()
    _fails(["export", str(tmp_path / "empty_run")], "has no checkpoints/best.pt")
    good = (runs["plain"] / "checkpoints" / "best.pt").read_bytes()
    rng = np.random.default_rng(0)
    corruptions = {
        "random": rng.integers(0, 256, 256, dtype=np.uint8).tobytes(),
        "truncated": good[: len(good) // 2],
        "flipped": good[:1000] + bytes(255 - b for b in good[1000:1400]) + good[1400:],
        "empty": b"",
    }
    for name, data in corruptions.items():
        corrupt = tmp_path / f"{name}.pt"
        corrupt.write_bytes(data)
        _fails(["export", str(corrupt)], "ddpg-robot checkpoint")
    _fails(["export", str(runs["plain"]), "-o", str(tmp_path / "no" / "such" / "p.onnx")],
           "does not exist; create it first")  # fmt: skip


def test_eval_bad_inputs(tmp_path: Path, exported: dict[str, Path]) -> None:
    foreign = tmp_path / "foreign.onnx"
    node = onnx.helper.make_node("Identity", ["obs"], ["action"])
    info = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph([node], "g", [info("obs", onnx.TensorProto.FLOAT, ["b", 4])],
                                   [info("action", onnx.TensorProto.FLOAT, ["b", 4])])  # fmt: skip
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(foreign))
    _fails(["eval", str(foreign), "--env", "InvertedPendulum-v4"], "is not a ddpg-robot policy")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00" * 64)
    _fails(["eval", str(garbage), "--env", "InvertedPendulum-v4"], "is not a loadable ONNX model")
    _fails(["eval", str(tmp_path / "nope.onnx"), "--env", "InvertedPendulum-v4"], "no policy file")
    _fails(["eval", str(exported["plain"]), "--env", "HalfCheetah-v4"],
           "the policy was trained on InvertedPendulum-v4 (obs_dim 4, act_dim 1")  # fmt: skip
    _fails(["eval", str(exported["plain"]), "--env", "InvertedPendulum-v4", "--video",
            str(tmp_path / "missing" / "v.mp4")], "video folder")  # fmt: skip


def test_eval_video_writes_an_mp4(tmp_path: Path, exported: dict[str, Path]) -> None:
    """Offscreen MuJoCo rendering (EGL) into an MP4; in a subprocess so MUJOCO_GL applies."""
    video = tmp_path / "episode.mp4"
    env = {**os.environ, "MUJOCO_GL": "egl"}
    result = subprocess.run(
        [sys.executable, "-c", "from ddpg_robot.cli.app import main; main()", "eval",
         str(exported["plain"]), "--env", "InvertedPendulum-v4", "--episodes", "1",
         "--video", str(video)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    import imageio.v3 as iio

    frames = iio.imread(video, index=None)
    assert frames.ndim == 4 and frames.shape[0] >= 2 and frames.shape[-1] == 3
    assert frames.std() > 1.0  # a rendered scene, not a blank image
    # The filmed episode counts in the summary like the others: its length is the frames'.
    steps = frames.shape[0] - 1  # the reset's frame, then one per step
    summary = f"every episode lasted {steps} steps; {int(steps < 1000)} of 1 ended by the env"
    assert summary in result.stdout, result.stdout


def test_eval_reports_how_long_episodes_lasted_and_how_many_the_env_ended(
    exported: dict[str, Path],
) -> None:
    """The pendulum of these short runs falls: `eval` counts each fall (termination) and
    each episode's steps, the same as stepping the same episodes by hand."""
    code, out, err = run_main(["eval", str(exported["plain"]), "--env", "InvertedPendulum-v4",
                               "--episodes", "4", "--seed", "5"])  # fmt: skip
    assert code == 0, err
    from ddpg_robot.evaluation import record_episodes

    records = record_episodes(Controller(exported["plain"]).act, make_env(
        "InvertedPendulum-v4", seed=5), 4)  # fmt: skip
    lengths = [len(record.rewards) for record in records]
    falls = sum(record.terminated for record in records)
    assert falls >= 1  # the case worth reporting happens here
    assert f"{falls} of 4 ended by the env (terminated)" in out
    if len(set(lengths)) > 1:
        assert f"{np.mean(lengths):.0f} steps on average ({min(lengths)}-{max(lengths)})" in out
    else:
        assert f"every episode lasted {lengths[0]} steps" in out


def test_invert_gradients_run_exports_a_linear_head_that_stays_in_bounds(tmp_path: Path) -> None:
    run_dir = tmp_path / "ig"
    code, _, err = run_main(["train", "InvertedPendulum-v4", "--run-dir", str(run_dir),
                             "--total-steps", "400", "--eval-every", "400",
                             "--action-bound", "invert-gradients", *FAST])  # fmt: skip
    assert code == 0, err
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["actor_head"] == "linear" and state["config"]["action_bound"] == "invert-gradients"
    report = export_policy(run_dir)
    assert report.metadata["actor_head"] == "linear"
    # A linear head's raw output leaves [-3, 3] for large inputs; the graph's clip holds it.
    actor, _ = load_actor(run_dir / "checkpoints" / "best.pt")
    obs = np.random.default_rng(0).standard_normal((512, 4)).astype(np.float32) * 1e4
    with torch.no_grad():
        assert actor(torch.from_numpy(obs)).abs().max() > 3.0
    (actions,) = _ort(report.path).run(["action"], {"obs": obs})
    assert (np.abs(actions) <= 3.0).all()


def test_control_dt_from_the_env_or_the_command_line(tmp_path: Path, runs: dict[str, Path]) -> None:
    """A controller needs its period: an env without `dt` exports only with --control-dt."""
    state = load_checkpoint(runs["plain"] / "checkpoints" / "best.pt")
    state["env"]["control_dt"] = None  # as an env without a `dt` attribute records it
    ckpt = save_checkpoint(tmp_path / "nodt.pt", state)
    out = tmp_path / "nodt.onnx"
    _fails(["export", str(ckpt), "-o", str(out)], "pass --control-dt SECONDS")
    assert not out.exists()
    for bad in ("0", "-0.02", "nan", "inf"):
        _fails(["export", str(ckpt), "-o", str(out), "--control-dt", bad], "--control-dt")
    code, _, err = run_main(["export", str(ckpt), "-o", str(out), "--control-dt", "0.02"])
    assert code == 0, err
    assert Controller(out).control_dt == 0.02
    code, _, err = run_main(["export", str(runs["plain"]), "-o", str(out), "--control-dt", "0.1"])
    assert code == 0, err
    assert Controller(out).control_dt == 0.1  # the command line overrides the env's 0.04
