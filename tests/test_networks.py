"""Actor and critic: the bounded head, asymmetric bounds, buffers that travel with the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ddpg_robot.networks import Actor, Critic
from tests.conftest import ACT_DIM, HIGH, LOW, OBS_DIM

# Finite float32 observations up to 2^40 (~1e12) in magnitude: far beyond any MuJoCo state,
# and small enough that a 256-wide layer cannot overflow float32 to inf (then inf - inf = NaN).
huge_obs = arrays(
    np.float32,
    st.tuples(st.integers(1, 8), st.just(OBS_DIM)),
    elements=st.floats(-(2.0**40), 2.0**40, allow_nan=False, allow_infinity=False, width=32),
)


@pytest.fixture(scope="module")
def actor() -> Actor:
    torch.manual_seed(0)
    return Actor(OBS_DIM, ACT_DIM, LOW, HIGH, hidden_sizes=(256, 256))


@settings(max_examples=300, deadline=None)
@given(obs=huge_obs)
def test_actor_output_inside_asymmetric_bounds_for_any_input(actor: Actor, obs: np.ndarray) -> None:
    with torch.no_grad():
        action = actor(torch.from_numpy(obs)).numpy()
    assert action.shape == (obs.shape[0], ACT_DIM)
    assert np.all(np.isfinite(action))
    assert np.all(action >= LOW) and np.all(action <= HIGH)


def test_tanh_head_maps_affinely_onto_the_bounds() -> None:
    actor = Actor(OBS_DIM, ACT_DIM, LOW, HIGH, hidden_sizes=(8,))
    last = actor.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        for bias, expected in ((1e4, HIGH), (-1e4, LOW), (0.0, (LOW + HIGH) / 2)):
            last.bias.fill_(bias)
            action = actor(torch.zeros(1, OBS_DIM)).numpy()[0]
            np.testing.assert_allclose(action, expected, rtol=0, atol=1e-6)
        last.bias.fill_(0.5)  # tanh(0.5) = 0.4621...: low + (high - low) * (1 + t) / 2
        expected = LOW + (HIGH - LOW) * (1 + np.tanh(0.5)) / 2
        np.testing.assert_allclose(actor(torch.zeros(1, OBS_DIM)).numpy()[0], expected, atol=1e-6)


def test_bounds_are_buffers_in_the_state_dict() -> None:
    actor = Actor(OBS_DIM, ACT_DIM, LOW, HIGH)
    state = actor.state_dict()
    np.testing.assert_array_equal(state["action_low"].numpy(), LOW)
    np.testing.assert_array_equal(state["action_high"].numpy(), HIGH)
    assert all(not b.requires_grad for b in actor.buffers())
    assert {"action_low", "action_high"} <= {name for name, _ in actor.named_buffers()}


def test_hidden_sizes_are_configurable() -> None:
    actor = Actor(OBS_DIM, ACT_DIM, LOW, HIGH, hidden_sizes=(64, 32, 16))
    critic = Critic(OBS_DIM, ACT_DIM, hidden_sizes=(128,))
    widths = [m.out_features for m in actor.net if isinstance(m, torch.nn.Linear)]
    assert widths == [64, 32, 16, ACT_DIM]
    assert [m.in_features for m in critic.net if isinstance(m, torch.nn.Linear)] == [
        OBS_DIM + ACT_DIM,
        128,
    ]
    default = Actor(OBS_DIM, ACT_DIM, LOW, HIGH)
    assert [m.out_features for m in default.net if isinstance(m, torch.nn.Linear)][:-1] == [
        256,
        256,
    ]


def test_critic_returns_one_value_per_sample() -> None:
    critic = Critic(OBS_DIM, ACT_DIM)
    q = critic(torch.randn(9, OBS_DIM), torch.randn(9, ACT_DIM))
    assert q.shape == (9,)


def test_linear_head_is_unsquashed() -> None:
    torch.manual_seed(0)
    actor = Actor(OBS_DIM, ACT_DIM, LOW, HIGH, head="linear", hidden_sizes=(8,))
    with torch.no_grad():
        actor.net[-1].bias.fill_(100.0)
        assert torch.all(actor(torch.zeros(2, OBS_DIM)) > 50)


def test_invalid_bounds_and_head_are_rejected() -> None:
    with pytest.raises(ValueError, match="high > low"):
        Actor(2, 2, [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="actor head"):
        Actor(2, 2, [0.0, 0.0], [1.0, 1.0], head="sigmoid")


def test_critic_layer_norm_makes_q_blind_to_the_scale_of_each_hidden_layer() -> None:
    """LayerNorm after a hidden Linear removes that layer's scale: multiplying its weights
    and bias by 100 leaves Q unchanged with `layer_norm`, and changes it without."""
    obs, action = torch.randn(16, OBS_DIM), torch.randn(16, ACT_DIM)
    for layer_norm in (True, False):
        torch.manual_seed(0)
        critic = Critic(OBS_DIM, ACT_DIM, hidden_sizes=(32, 32), layer_norm=layer_norm)
        norms = [m for m in critic.net if isinstance(m, torch.nn.LayerNorm)]
        assert [m.normalized_shape for m in norms] == ([(32,), (32,)] if layer_norm else [])
        before = critic(obs, action)
        first, second = [m for m in critic.net if isinstance(m, torch.nn.Linear)][:2]
        with torch.no_grad():
            for linear in (first, second):
                linear.weight.mul_(100.0)
                linear.bias.mul_(100.0)
        after = critic(obs, action)
        if layer_norm:
            torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
        else:
            assert (after - before).abs().max() > 1.0
