"""The export's parity check: accepts float32 rounding, refuses a graph that computes otherwise.

Every wrong graph here is built from a *trained* policy: the shipped HalfCheetah-v4 and
Hopper-v4 actors (trained to 11,982 and 3,182; read back from their ONNX files), or short
runs on test envs with asymmetric bounds and wide observation scales.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import tests.envs  # noqa: F401  (registers the test envs)
from ddpg_robot.envs import env_info, make_env
from ddpg_robot.export import export_policy, torch_to_onnx
from ddpg_robot.networks import OBS_LIMIT, Actor, BoundedPolicy
from ddpg_robot.parity import ParityReport, Probes, check_parity, float32_bound, parity_probes
from ddpg_robot.policy import load_actor
from tests.helpers import actor_from_onnx, run_main

MODELS = Path(__file__).resolve().parents[1] / "models"
PROBES = 2048


@pytest.fixture(scope="module")
def shipped() -> dict[str, tuple[Actor, str]]:
    names = ("halfcheetah-v4", "hopper-v4")
    return {name: actor_from_onnx(MODELS / f"{name}.onnx") for name in names}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Short real runs: asymmetric bounds (scales 1.5 and 2.5), a linear head, and
    observations up to ~2e3 (TestWidePoint-v0), with and without normalisation."""
    root = tmp_path_factory.mktemp("parity")
    common = "--total-steps 800 --learning-starts 300 --batch-size 64 --hidden-sizes 64,64 "
    common += "--eval-every 800 --eval-episodes 1 --buffer-size 5000 --quiet"
    runs = {
        "wide": "TestWidePoint-v0",
        "wide-normalized": "TestWidePoint-v0 --normalize-obs",
        "linear": "TestPoint-v0 --action-bound invert-gradients",
    }
    dirs = {}
    for name, args in runs.items():
        dirs[name] = root / name
        argv = ["train", *args.split(), *common.split(), "--run-dir", str(dirs[name])]
        code, _, err = run_main(argv)
        assert code == 0, err
    return dirs


def _verdict(reference: Actor, graph: Callable[[torch.Tensor], torch.Tensor], env_id: str,
             tmp_path: Path) -> ParityReport:  # fmt: skip
    """Export `graph` (obs -> action) and judge it against the `reference` actor.

    The actors a graph closes over must not require gradients (the tracer then folds their
    weights in as constants): `_frozen` them."""

    class Graph(nn.Module):
        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return graph(obs)

    path = tmp_path / "graph.onnx"
    torch_to_onnx(Graph().eval(), reference.obs_dim, path)
    return check_parity(reference, path, parity_probes(reference, env_id, PROBES, seed=0))


def _frozen(actor: Actor) -> Actor:
    return actor.requires_grad_(False).eval()


def _clamped(obs: torch.Tensor) -> torch.Tensor:
    return torch.clamp(obs, -OBS_LIMIT, OBS_LIMIT)


def _trained_actor(run_dir: Path) -> tuple[Actor, str]:
    actor, state = load_actor(run_dir / "checkpoints" / "last.pt")
    return _frozen(actor), state["env"]["env_id"]


# ------------------------------------------------------------------------------ accepted


@pytest.mark.parametrize("name", ["halfcheetah-v4", "hopper-v4"])
def test_trained_mujoco_policies_are_accepted(shipped, name: str, tmp_path: Path) -> None:
    actor, env_id = shipped[name]
    report = _verdict(actor, BoundedPolicy(actor), env_id, tmp_path)
    assert report.ok, report.failures
    assert set(report.kinds) == {"real", "gaussian", "extreme"}
    assert report.kinds["gaussian"].max_ratio < 0.5  # a wide margin below the bound


@pytest.mark.parametrize("name", ["wide", "wide-normalized", "linear"])
def test_trained_runs_export(trained: dict[str, Path], name: str) -> None:
    report = export_policy(trained[name])
    assert report.parity.ok and report.real_note is None


MUJOCO_TASKS = ["Ant", "HalfCheetah", "Hopper", "Humanoid", "InvertedDoublePendulum",
                "InvertedPendulum", "Reacher", "Swimmer", "Walker2d"]  # fmt: skip


@pytest.mark.parametrize("family", MUJOCO_TASKS)
def test_fresh_actors_of_every_mujoco_tasks_size_are_accepted(family: str, tmp_path: Path) -> None:
    env = make_env(f"{family}-v4")
    info = env_info(env)
    env.close()
    for seed in range(2):
        torch.manual_seed(seed)
        actor = _frozen(Actor(info.obs_dim, info.act_dim, info.action_low, info.action_high))
        report = _verdict(actor, BoundedPolicy(actor), info.env_id, tmp_path)
        assert report.ok, (family, seed, report.failures)


# ------------------------------------------------------------------------------- refused


def _weight_that_matters_most(actor: Actor, layer: int, probes: Probes) -> tuple[int, int]:
    """(row, column) of the weight of Linear layer `layer` whose 1e-3 change moves the
    actions most, relative to float32's bound, on the real and Gaussian probes.

    A weight the probes barely exercise (into a unit that never fires, or an action that
    stays saturated) moves no action by more than float32's rounding, and no parity check
    can see it; the candidates are the 32 weights with the largest mean |w * input|.
    """
    obs = probes.obs[probes.kinds != "extreme"]
    linear = [m for m in actor.net if isinstance(m, nn.Linear)][layer]
    bound = float32_bound(actor, obs)
    with torch.no_grad():
        h = torch.from_numpy(obs)
        for module in actor.net:
            if module is linear:
                break
            h = module(h)
        influence = (linear.weight.abs()[None] * h.abs()[:, None, :]).mean(0)  # (out, in)
        policy = BoundedPolicy(actor)
        before = policy(torch.from_numpy(obs)).numpy()
        best, best_effect = (0, 0), -1.0
        for flat in influence.flatten().argsort(descending=True)[:32].tolist():
            row, col = divmod(flat, influence.shape[1])
            original = linear.weight[row, col].item()
            linear.weight[row, col] = original * (1 + 1e-3)
            effect = (np.abs(policy(torch.from_numpy(obs)).numpy() - before) / bound).max()
            linear.weight[row, col] = original
            if effect > best_effect:
                best, best_effect = (row, col), effect
    return best


@pytest.mark.parametrize("name", ["halfcheetah-v4", "hopper-v4"])
@pytest.mark.parametrize("layer", [0, -1])
def test_one_weight_changed_by_1e_3_is_refused(shipped, name, layer, tmp_path: Path) -> None:
    actor, env_id = shipped[name]
    wrong = _frozen(copy.deepcopy(actor))
    row, col = _weight_that_matters_most(actor, layer, parity_probes(actor, env_id, PROBES, 0))
    with torch.no_grad():
        [m for m in wrong.net if isinstance(m, nn.Linear)][layer].weight[row, col] *= 1 + 1e-3
    report = _verdict(actor, BoundedPolicy(wrong), env_id, tmp_path)
    assert not report.ok and "times what float32 allows" in report.failures[0]


def test_final_clip_left_out_is_refused(trained: dict[str, Path], tmp_path: Path) -> None:
    actor, env_id = _trained_actor(trained["linear"])  # a linear head: the clip bounds it
    report = _verdict(actor, lambda obs: actor(_clamped(obs)), env_id, tmp_path)
    assert not report.ok and "outside [" in report.failures[0]


def test_low_and_high_swapped_is_refused(shipped, tmp_path: Path) -> None:
    actor, env_id = shipped["hopper-v4"]
    swapped = lambda obs: torch.clamp(actor(_clamped(obs)), actor.action_high, actor.action_low)  # noqa: E731
    assert not _verdict(actor, swapped, env_id, tmp_path).ok


def test_normalizer_left_out_is_refused(trained: dict[str, Path], tmp_path: Path) -> None:
    actor, env_id = _trained_actor(trained["wide-normalized"])
    wrong = copy.deepcopy(actor)
    wrong.obs_normalizer = None
    assert not _verdict(actor, BoundedPolicy(wrong), env_id, tmp_path).ok


@pytest.mark.parametrize("mean", ["zero", "rolled"])
def test_normalizer_with_the_wrong_mean_is_refused(trained, mean: str, tmp_path: Path) -> None:
    actor, env_id = _trained_actor(trained["wide-normalized"])
    wrong = copy.deepcopy(actor)
    with torch.no_grad():
        m = wrong.obs_normalizer.mean
        m.copy_(torch.zeros_like(m) if mean == "zero" else torch.roll(m, 1))
    assert not _verdict(actor, BoundedPolicy(wrong), env_id, tmp_path).ok


def test_tanh_scaling_off_by_one_action_scale_is_refused(trained, tmp_path: Path) -> None:
    actor, env_id = _trained_actor(trained["wide"])  # scales 1.5 and 2.5
    low, high = actor.action_low, actor.action_high
    shifted = lambda obs: torch.clamp(actor(_clamped(obs)) + actor.action_scale, low, high)  # noqa: E731
    assert not _verdict(actor, shifted, env_id, tmp_path).ok
    rolled = copy.deepcopy(actor)  # each action scaled by the other action's scale
    with torch.no_grad():
        rolled.action_scale.copy_(torch.roll(actor.action_scale, 1))
    assert not _verdict(actor, BoundedPolicy(rolled), env_id, tmp_path).ok


def test_a_head_that_falls_short_of_the_bounds_is_refused(shipped, tmp_path: Path) -> None:
    """tanh scaled by 1 - 1e-5 (a cheap tanh approximation, say): where the policy saturates
    its actions float32 is exact to a few ulps, so 1e-5 of the range there is refused."""
    actor, env_id = shipped["halfcheetah-v4"]  # saturates often: a fast runner pushes hard
    net = actor.net

    def graph(obs: torch.Tensor) -> torch.Tensor:
        squashed = torch.tanh(net(_clamped(obs))) * (1 - 1e-5)
        return actor.action_bias + actor.action_scale * squashed

    assert not _verdict(actor, graph, env_id, tmp_path).ok


def test_an_unsaturated_extreme_action_must_saturate_alike(shipped, tmp_path: Path) -> None:
    """On extreme inputs only the side matters: a graph that pins every action to the middle
    of its range for |obs| >= 1e3 differs from torch nowhere else, and is refused."""
    actor, env_id = shipped["halfcheetah-v4"]
    mid = (actor.action_low + actor.action_high) / 2

    def graph(obs: torch.Tensor) -> torch.Tensor:
        extreme = (obs.abs().amax(dim=1, keepdim=True) >= 1e3).float()
        return extreme * mid + (1 - extreme) * BoundedPolicy(actor)(obs)

    report = _verdict(actor, graph, env_id, tmp_path)
    assert not report.ok and "saturates action" in report.failures[0]


# ------------------------------------------------------------------------------ the bound


def test_the_bound_covers_torch_itself_against_float64(shipped) -> None:
    """torch in float32 is a correct program too: it must sit within the bound of the exact
    (float64) actions, or the bound would be refusing rounding."""
    actor, env_id = shipped["halfcheetah-v4"]
    probes = parity_probes(actor, env_id, PROBES, seed=1)
    numeric = probes.obs[probes.kinds != "extreme"]
    with torch.no_grad():
        float32 = BoundedPolicy(actor)(torch.from_numpy(numeric)).double()
        exact = BoundedPolicy(copy.deepcopy(actor).double())(torch.from_numpy(numeric).double())
    error = (float32 - exact).abs().numpy()
    bound = float32_bound(actor, numeric)
    assert (error <= bound).all()
    assert error.max() > 1e-6  # large activations: the bound is doing real work here


def test_env_that_cannot_be_made_is_said(trained: dict[str, Path], tmp_path: Path) -> None:
    from ddpg_robot.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(trained["linear"] / "checkpoints" / "last.pt")
    state["config"]["env_id"] = state["env"]["env_id"] = "no_such_module:Arm-v0"
    ckpt = save_checkpoint(tmp_path / "moved.pt", state)
    code, out, err = run_main(["export", str(ckpt), "-o", str(tmp_path / "p.onnx")])
    assert code == 0, err
    assert "note: no real observations were probed (the env cannot be made here" in out
