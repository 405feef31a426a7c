"""Inverting gradients: the formula by hand, and its sign convention through real actor steps."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import tests.envs  # noqa: F401  (registers TestPoint-v0)
from ddpg_robot.bounds import (
    explore,
    invert_gradients,
    saturation_rate,
)
from ddpg_robot.config import resolve_config
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.logger import read_metrics
from ddpg_robot.networks import Actor
from ddpg_robot.runs import start

LOW, HIGH = torch.tensor([-1.0]), torch.tensor([3.0])  # width 4


@pytest.mark.parametrize(
    ("p", "grad", "expected"),
    [
        (1.0, 2.0, 2.0 * (3 - 1) / 4),  # inside, wants up: scaled by room above
        (1.0, -2.0, -2.0 * (1 + 1) / 4),  # inside, wants down: scaled by room below
        (3.0, 2.0, 0.0),  # at high, wants up: no push
        (3.0, -2.0, -2.0),  # at high, wants down: full push
        (-1.0, -2.0, 0.0),  # at low, wants down: no push
        (-1.0, 2.0, 2.0),  # at low, wants up: full push
        (5.0, 2.0, -1.0),  # beyond high, wants up: inverted, points back down
        (5.0, -2.0, -3.0),  # beyond high, wants down: amplified
        (-3.0, -2.0, 1.0),  # beyond low, wants down: inverted, points back up
        (-3.0, 2.0, 3.0),  # beyond low, wants up: amplified
        (1.0, 0.0, 0.0),  # zero gradient stays zero
        (7.0, 0.0, 0.0),
    ],
)
def test_formula_against_hand_computed_values(p: float, grad: float, expected: float) -> None:
    out = invert_gradients(torch.tensor([[grad]]), torch.tensor([[p]]), LOW, HIGH)
    assert out.item() == pytest.approx(expected, abs=1e-12)


def test_asymmetric_bounds_per_dimension() -> None:
    low = torch.tensor([-2.0, 0.0, 10.0], dtype=torch.float64)
    high = torch.tensor([1.0, 5.0, 11.0], dtype=torch.float64)
    p = torch.tensor([[0.0, 4.0, 12.0], [-2.5, 1.0, 10.5]], dtype=torch.float64)
    g = torch.tensor([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]], dtype=torch.float64)
    expected = torch.tensor(
        [
            [1.0 * (1 - 0) / 3, -1.0 * (4 - 0) / 5, 1.0 * (11 - 12) / 1],
            [-1.0 * (-2.5 + 2) / 3, 1.0 * (5 - 1) / 5, -1.0 * (10.5 - 10) / 1],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(invert_gradients(g, p, low, high), expected, rtol=0, atol=1e-15)


class PrefersLargerActions(nn.Module):
    """Q(s, a) = sum(a): dQ/da = +1 everywhere, so plain DDPG pushes every action up."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # the learner's optimiser needs a parameter

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return action.sum(-1) + 0.0 * self.unused


def _linear_actor(start: float) -> Actor:
    """A bias-only linear-head actor whose output is `start` for every observation."""
    actor = Actor(2, 1, [-1.0], [1.0], hidden_sizes=(), head="linear")
    with torch.no_grad():
        actor.net[0].weight.zero_()
        actor.net[0].bias.fill_(start)
    return actor


def _after_steps(start: float, transform: bool, steps: int = 20) -> float:
    actor = _linear_actor(start)
    hook = partial(invert_gradients, low=actor.action_low, high=actor.action_high)
    learner = DDPGLearner(actor, PrefersLargerActions(), lr_actor=1e-2,
                          action_grad_transform=hook if transform else None)  # fmt: skip
    obs = torch.zeros(8, 2)
    for _ in range(steps):
        learner.actor_step(obs)
    return actor(obs[:1]).item()


def test_sign_convention_through_real_actor_steps() -> None:
    # Above `high`: inverting gradients moves the output down, back toward the box ...
    assert _after_steps(1.5, transform=True) < 1.5
    # ... where plain DDPG, following dQ/da = +1, pushes it further out.
    assert _after_steps(1.5, transform=False) > 1.5
    # Well inside: both move it up, toward what the critic prefers.
    assert _after_steps(0.0, transform=True) > 0.0
    # And it converges to the bound rather than past it.
    assert _after_steps(0.0, transform=True, steps=2_000) == pytest.approx(1.0, abs=0.02)


def test_explore_scales_noise_by_the_half_range_and_clips() -> None:
    low, high = np.array([-2.0, 0.0]), np.array([1.0, 5.0])
    inside = explore(np.array([0.0, 1.0]), np.array([0.2, -0.2]), low, high)
    np.testing.assert_allclose(inside, [0.3, 0.5], rtol=1e-6)  # 0.2 * 1.5, -0.2 * 2.5
    noisy = explore(np.array([0.9, 4.9]), np.array([1.0, 1.0]), low, high)
    np.testing.assert_array_equal(noisy, np.array([1.0, 5.0], dtype=np.float32))


def test_saturation_rate_counts_components_near_or_beyond_a_bound() -> None:
    low, high = np.array([-1.0, 0.0]), np.array([3.0, 10.0])  # 1 % margins: 0.04 and 0.1
    outputs = np.array(
        [
            [2.97, 5.0],  # within 0.04 of high; well inside
            [-0.95, 0.05],  # 0.05 above low (outside the margin); within 0.1 of low
            [9.0, 12.0],  # beyond high in both (a linear head before clipping)
            [1.0, -4.0],  # inside; beyond low
        ]
    )
    assert saturation_rate(outputs, low, high) == 5 / 8
    assert saturation_rate(outputs, low, high, tolerance=0.0) == 3 / 8
    assert saturation_rate(np.zeros((0, 2)), low, high) == 0.0


def test_trainer_logs_the_saturation_of_its_evaluation_actions(tmp_path: Path) -> None:
    """A head pinned at the top bound saturates on every component, one at the centre never."""
    for bias, expected in ((20.0, 1.0), (0.0, 0.0)):
        overrides = {"total_steps": 40, "eval_every": 40, "eval_episodes": 1,
                     "learning_starts": 40, "hidden_sizes": (8,), "buffer_size": 100}  # fmt: skip
        trainer = start(resolve_config("TestPoint-v0", overrides), tmp_path / f"bias{bias}")
        last_layer = trainer.actor.net[-1]
        with torch.no_grad():
            last_layer.weight.zero_()
            last_layer.bias.fill_(bias)
        trainer.run()
        evals = [r for r in read_metrics(tmp_path / f"bias{bias}" / "metrics.csv")
                 if r["eval_return_mean"]]  # fmt: skip
        assert [float(r["eval_saturation"]) for r in evals] == [expected]
