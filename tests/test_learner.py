"""The DDPG update's math, checked with real numbers (docs/algorithm.md cites these tests)."""

from __future__ import annotations

import copy
import io
import warnings
from functools import partial

import pytest
import torch

from ddpg_robot.bounds import invert_gradients
from ddpg_robot.buffer import Batch
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.networks import Actor
from tests.conftest import ACT_DIM, HIGH, LOW, OBS_DIM, make_nets, random_batch


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("batch_size", [1, 64])
def test_chain_rule_actor_gradient_matches_autograd(batch_size: int) -> None:
    """The learner's chain-rule gradient (dQ/da pushed through the actor) equals autograd of
    -mean Q(s, mu(s)) w.r.t. the actor's weights, in value and in scale (the batch mean),
    and computing it puts no gradient on any critic weight."""
    actor, critic = make_nets()
    learner = DDPGLearner(actor, critic)
    obs = random_batch(batch_size=batch_size).obs
    critic_before = _params(critic)

    reference = torch.autograd.grad(-critic(obs, actor(obs)).mean(), list(actor.parameters()))
    reference_flat = torch.cat([g.reshape(-1) for g in reference])
    grads, q = learner.actor_gradient(obs)
    chain_rule_flat = torch.cat([g.reshape(-1) for g in grads])

    assert reference_flat.dtype == torch.float64
    assert reference_flat.abs().max() > 1e-3  # the comparison is not between two zeros
    relative = (chain_rule_flat - reference_flat).norm() / reference_flat.norm()
    assert relative <= 1e-6
    assert relative < 1e-12  # float64: exact up to rounding
    assert q.shape == (batch_size,)
    assert all(p.grad is None for p in critic.parameters())
    assert all(torch.equal(b, a) for b, a in zip(critic_before, critic.parameters()))


def test_actor_step_uses_the_chain_rule_gradient(learner: DDPGLearner, batch: Batch) -> None:
    """The parameters after `actor_step` are those of Adam's first step on the autograd gradient."""
    actor_copy = copy.deepcopy(learner.actor)
    optimizer = torch.optim.Adam(actor_copy.parameters(), lr=1e-3)
    loss = -learner.critic(batch.obs, actor_copy(batch.obs)).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    learner.actor_step(batch.obs)
    for mine, reference in zip(learner.actor.parameters(), actor_copy.parameters()):
        torch.testing.assert_close(mine, reference, rtol=0, atol=1e-10)


def test_actor_step_leaves_critic_bit_identical_and_gradient_free(
    learner: DDPGLearner, batch: Batch
) -> None:
    critic_before = _params(learner.critic)
    actor_before = _params(learner.actor)
    learner.actor_step(batch.obs)
    for before, after in zip(critic_before, learner.critic.parameters()):
        assert torch.equal(before, after)
    assert all(p.grad is None for p in learner.critic.parameters())
    # ... while the actor really moved.
    assert any(not torch.equal(b, a) for b, a in zip(actor_before, learner.actor.parameters()))


def test_critic_step_leaves_actor_unchanged(learner: DDPGLearner, batch: Batch) -> None:
    actor_before = _params(learner.actor)
    critic_before = _params(learner.critic)
    learner.critic_step(batch)
    for before, after in zip(actor_before, learner.actor.parameters()):
        assert torch.equal(before, after)
    assert all(p.grad is None for p in learner.actor.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(critic_before, learner.critic.parameters()))


def test_targets_stay_put_during_online_steps(learner: DDPGLearner, batch: Batch) -> None:
    actor_target_before = _params(learner.actor_target)
    critic_target_before = _params(learner.critic_target)
    learner.critic_step(batch)
    learner.actor_step(batch.obs)
    for before, after in zip(actor_target_before, learner.actor_target.parameters()):
        assert torch.equal(before, after)
    for before, after in zip(critic_target_before, learner.critic_target.parameters()):
        assert torch.equal(before, after)


def test_polyak_update_follows_the_rule_exactly(learner: DDPGLearner, batch: Batch) -> None:
    # Move the online nets away from the targets first, so the update has work to do.
    learner.critic_step(batch)
    learner.actor_step(batch.obs)
    tau = learner.tau
    pairs = ((learner.actor, learner.actor_target), (learner.critic, learner.critic_target))
    expected = [
        [
            tau * o.detach() + (1 - tau) * t.detach()
            for o, t in zip(on.parameters(), tg.parameters())
        ]
        for on, tg in pairs
    ]
    for online, target in pairs:
        gap = max((o - t).abs().max() for o, t in zip(online.parameters(), target.parameters()))
        assert gap > 1e-4
    learner.polyak_update()
    for (_, target), target_expected in zip(pairs, expected):
        for exp, got in zip(target_expected, target.parameters()):
            torch.testing.assert_close(got, exp, rtol=0, atol=1e-15)


def test_polyak_with_tau_one_copies_online_weights() -> None:
    actor, critic = make_nets()
    learner = DDPGLearner(actor, critic, tau=1.0)
    learner.critic_step(random_batch())
    learner.polyak_update()
    for o, t in zip(learner.critic.parameters(), learner.critic_target.parameters()):
        assert torch.equal(o, t)


def test_terminated_transition_does_not_bootstrap(learner: DDPGLearner) -> None:
    batch = random_batch(batch_size=8)
    terminated = torch.tensor([1, 0, 1, 0, 1, 0, 1, 0], dtype=torch.float64)
    batch = batch._replace(terminated=terminated)
    y = learner.td_target(batch)
    next_q = learner.critic_target(batch.next_obs, learner.actor_target(batch.next_obs)).detach()
    assert next_q.abs().min() > 1e-6  # bootstrapping would change y visibly
    done = terminated.bool()
    # Terminal: y is the reward alone.
    torch.testing.assert_close(y[done], batch.rewards[done], rtol=0, atol=0)
    # Not terminal (e.g. truncated by a time limit): y includes gamma * Q'(s', mu'(s')).
    torch.testing.assert_close(
        y[~done], batch.rewards[~done] + 0.99 * next_q[~done], rtol=0, atol=1e-12
    )


def test_action_grad_transform_is_applied_to_dq_da(batch: Batch) -> None:
    """The hook sees dQ/da and the actions; what it returns is what reaches the actor."""
    seen: dict[str, torch.Tensor] = {}

    def flip_sign(dq_da: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        seen["dq_da"], seen["actions"] = dq_da, actions
        return -dq_da

    actor, critic = make_nets()
    plain = DDPGLearner(copy.deepcopy(actor), copy.deepcopy(critic))
    flipped = DDPGLearner(actor, critic, action_grad_transform=flip_sign)
    # A zero-momentum SGD-like comparison: the first Adam step is -lr * sign(grad), so
    # flipping dQ/da must move every actor weight the opposite way by the same amount.
    before = _params(plain.actor)
    plain.actor_step(batch.obs)
    flipped.actor_step(batch.obs)
    assert seen["dq_da"].shape == seen["actions"].shape == (batch.obs.shape[0], ACT_DIM)
    for b, p, f in zip(before, plain.actor.parameters(), flipped.actor.parameters()):
        torch.testing.assert_close(p - b, -(f - b), rtol=0, atol=1e-12)


def test_update_returns_finite_metrics_and_counts(learner: DDPGLearner, batch: Batch) -> None:
    metrics = learner.update(batch)
    assert set(metrics) == {"critic_loss", "actor_loss", "q_mean"}
    assert all(isinstance(v, float) and torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert learner.num_updates == 1


def test_update_and_act_acts_with_the_updated_actor(batch: Batch) -> None:
    """`update_and_act` is `update`, then the actor's output under no_grad: eagerly, the
    same bits; and the actor it acts with is the updated one, not the one before."""
    actor, critic = make_nets()
    stale_actor = copy.deepcopy(actor)
    plain = DDPGLearner(copy.deepcopy(actor), copy.deepcopy(critic))
    acting = DDPGLearner(actor, critic)
    obs = random_batch(seed=1).obs[:3]
    metrics, actions = acting.update_and_act(batch, obs)
    assert metrics == plain.update(batch)
    assert acting.num_updates == 1
    with torch.no_grad():
        expected, stale = plain.actor(obs), stale_actor(obs)
    assert actions.shape == (3, ACT_DIM) and not actions.requires_grad
    assert torch.equal(actions, expected)
    assert (actions - stale).abs().max() > 1e-6


def test_learner_state_dict_round_trip(learner: DDPGLearner, batch: Batch) -> None:
    learner.update(batch)
    actor, critic = make_nets(seed=7)
    other = DDPGLearner(actor, critic)
    # Through bytes, as a checkpoint would: the state must load with weights_only=True.
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    other.load_state_dict(torch.load(buffer, weights_only=True))
    learner.update(batch)
    other.update(batch)
    for a, b in zip(learner.actor.parameters(), other.actor.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(learner.critic_target.parameters(), other.critic_target.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_critic_loss_decreases_on_a_fixed_batch(dtype: torch.dtype) -> None:
    actor, critic = make_nets(dtype=dtype)
    learner = DDPGLearner(actor, critic, lr_critic=1e-3)
    batch = random_batch(dtype=dtype)
    first = float(learner.critic_step(batch)["critic_loss"])
    for _ in range(200):
        last = float(learner.critic_step(batch)["critic_loss"])
    assert last < 0.5 * first


def test_actor_gradient_flows_through_q_but_not_into_it(learner: DDPGLearner, batch: Batch) -> None:
    """What must be blocked is the critic's weights, never the path through the critic to a.

    The learner's actor gradient reaches every actor weight, and the critic's weights get
    none. Both tempting alternatives fail one half: cutting the path (actions detached
    before Q) leaves the actor with no gradient at all, and the naive single backward of
    -Q(s, mu(s)) also writes gradients into the critic.
    """
    grads, _ = learner.actor_gradient(batch.obs)
    assert all(g.abs().max() > 0 for g in grads)  # every weight tensor of the actor moves
    assert all(p.grad is None for p in learner.critic.parameters())

    cut = -learner.critic(batch.obs, learner.actor(batch.obs).detach()).mean()
    assert not cut.requires_grad or all(
        g is None
        for g in torch.autograd.grad(cut, list(learner.actor.parameters()), allow_unused=True)
    )
    (-learner.critic(batch.obs, learner.actor(batch.obs)).mean()).backward()
    assert any(p.grad.abs().max() > 0 for p in learner.critic.parameters())


def test_ascending_an_inexact_critic_overestimates() -> None:
    """The actor climbs the critic's errors: Q(s, mu(s)) rises though the true value does not.

    The "true" Q here is 0 everywhere; a randomly initialised critic stands in for a learned
    one with errors. 100 actor steps raise the critic's estimate at the actor's actions far
    above its average over random actions, while the true value stays 0.
    """
    actor, critic = make_nets()
    learner = DDPGLearner(actor, critic, lr_actor=1e-2)
    batch = random_batch(batch_size=256)
    with torch.no_grad():
        q_random_actions = critic(batch.obs, batch.actions).mean()
        q_start = critic(batch.obs, actor(batch.obs)).mean()
    for _ in range(100):
        learner.actor_step(batch.obs)
    with torch.no_grad():
        q_end = critic(batch.obs, actor(batch.obs)).mean()
        spread = critic(batch.obs, batch.actions).std()
    assert q_end > q_start
    assert q_end - q_random_actions > spread  # optimism of more than one std of the errors


# ------------------------------------------------------------------ torch.compile'd update


def _learner_pair(head: str) -> tuple[DDPGLearner, DDPGLearner]:
    """The same float64 networks twice: one learner eager, one compiled."""
    actor, critic = make_nets()
    if head == "linear":
        actor = Actor(OBS_DIM, ACT_DIM, LOW, HIGH, hidden_sizes=(32, 32), head="linear")
        actor = actor.to(torch.float64)
    kwargs = {}
    if head == "linear":  # inverting gradients: the dQ/da transform is traced too
        low, high = actor.action_low, actor.action_high
        kwargs = {
            "action_grad_transform": partial(invert_gradients, low=low, high=high),
            "target_action_bounds": (low, high),
        }
    eager = DDPGLearner(copy.deepcopy(actor), copy.deepcopy(critic), lr_actor=1e-3, **kwargs)
    compiled = DDPGLearner(actor, critic, lr_actor=1e-3, compile=True, **kwargs)
    return eager, compiled


@pytest.mark.parametrize("head", ["tanh", "linear"])
def test_compiled_update_computes_what_the_eager_update_does(head: str) -> None:
    """Same weights, targets, Adam moments and metrics after 5 updates: compiling changes how
    the update runs, not what it computes. Tolerances: the compiled Adam (torch's capturable
    form) keeps its step count and bias corrections in float32 where the fused kernel uses
    float64, ~1e-8 here; a step missed or misapplied would differ by ~lr = 1e-3."""
    eager, compiled = _learner_pair(head)
    for seed in range(5):
        batch = random_batch(seed=seed)
        expected, got = eager.update(batch), compiled.update(batch)
        for name in expected:
            assert got[name] == pytest.approx(expected[name], rel=1e-5, abs=1e-9)
    assert compiled.compiled and compiled.compile_seconds is not None
    assert compiled.num_updates == eager.num_updates == 5
    for net in ("actor", "critic", "actor_target", "critic_target"):
        for e, c in zip(getattr(eager, net).parameters(), getattr(compiled, net).parameters()):
            torch.testing.assert_close(c, e, rtol=0, atol=1e-6)
    for name in ("actor_optimizer", "critic_optimizer"):
        e_state = getattr(eager, name).state_dict()["state"]
        c_state = getattr(compiled, name).state_dict()["state"]
        assert e_state.keys() == c_state.keys()
        for i in e_state:
            assert float(c_state[i]["step"]) == float(e_state[i]["step"]) == 5.0
            for moment in ("exp_avg", "exp_avg_sq"):
                torch.testing.assert_close(
                    c_state[i][moment], e_state[i][moment], rtol=1e-5, atol=1e-9
                )
    # The actor step still leaves no gradient behind on either network.
    assert all(p.grad is None for p in compiled.critic.parameters())
    assert all(p.grad is None for p in compiled.actor.parameters())


def test_compiled_update_and_act_computes_what_the_eager_one_does() -> None:
    """The action computed inside the compiled update is the eager one's, to the rounding
    the compiled Adam differs by (see above), and it is the updated actor's: ~100x closer
    to it than to the action before the update."""
    eager, compiled = _learner_pair("tanh")
    obs = random_batch(seed=9).obs[:1]  # one observation, as the training loop acts on
    for seed in range(3):
        batch = random_batch(seed=seed)
        with torch.no_grad():
            before = eager.actor(obs)
        expected_metrics, expected = eager.update_and_act(batch, obs)
        got_metrics, got = compiled.update_and_act(batch, obs)
        assert got_metrics == pytest.approx(expected_metrics, rel=1e-5, abs=1e-9)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
        assert (got - expected).abs().max() < 0.01 * (expected - before).abs().max()
    assert compiled.compiled and compiled.num_updates == 3


def test_compiled_updates_repeat_exactly() -> None:
    """As SB3's test_deterministic, for the compiled path: same start, same batches, the
    same bits."""
    _, first = _learner_pair("tanh")
    _, second = _learner_pair("tanh")
    for seed in range(3):
        batch = random_batch(seed=seed)
        assert first.update(batch) == second.update(batch)
    assert first.compiled and second.compiled
    for a, b in zip(first.state_dict()["actor"].values(), second.state_dict()["actor"].values()):
        assert torch.equal(a, b)
    for a, b in zip(first.critic_target.parameters(), second.critic_target.parameters()):
        assert torch.equal(a, b)


def test_failed_compilation_warns_and_carries_on_eagerly() -> None:
    """No working C++ compiler: one warning, and the first update is the eager one, not a
    half-applied compiled one."""
    eager, compiled = _learner_pair("tanh")
    batch = random_batch()
    broken = {"cpp.cxx": (None, "/nonexistent/c++"), "force_disable_caches": True}
    with torch._inductor.config.patch(broken), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = compiled.update(batch)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert any("torch.compile failed" in m and "continues eagerly" in m for m in messages)
    assert not compiled.compiled
    assert got == eager.update(batch)
    for e, c in zip(eager.actor.parameters(), compiled.actor.parameters()):
        assert torch.equal(e, c)
    compiled.update(batch)  # and it goes on, eagerly
    assert compiled.num_updates == 2
