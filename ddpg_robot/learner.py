"""One DDPG update from a batch: critic step, actor step (as the chain rule), Polyak update.

The learner never touches an environment: it sees only `Batch`es, so it can be tested on
hand-made transitions and reused by any loop. docs/algorithm.md explains the actor step.
How the same code also runs as one compiled graph is ddpg_robot/compiled_step.py's job.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ddpg_robot.buffer import Batch
from ddpg_robot.compiled_step import CompiledStep, adam_step, make_adam, optimized_params
from ddpg_robot.networks import TwinCritic

ActionGradTransform = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(dQ/da of shape (B, act_dim), actions (B, act_dim)) -> edited dQ/da of the same shape."""


class DDPGLearner:
    """Owns the online and target networks and their optimisers.

    `action_grad_transform` is the one place where dQ/da may be edited before it is pushed
    through the actor; inverting gradients (Hausknecht & Stone 2016) plugs in there.
    `target_action_bounds` (low, high): clip mu'(s') in the TD target to the actions the env
    would execute; needed for an actor whose raw output may leave the bounds (linear head).
    `compile`: run each update through `torch.compile` as one graph (CompiledStep); the
    first update pays the compilation (`compile_seconds`), a failed one falls back to eager.

    Three options from TD3 (Fujimoto et al. 2018) leave DDPG's actor, noise and targets as
    they are and change only how the critic is trained (docs/algorithm.md): a `TwinCritic`
    as `critic` (the target takes the smaller value), `target_noise` (std in [-1, 1] action
    units, clipped to +-`target_noise_clip`, on mu'(s'); needs `target_action_bounds`) and
    `policy_delay` (the actor and the targets move on every `policy_delay`-th update).
    """

    def __init__(
        self,
        actor: nn.Module,
        critic: nn.Module,
        *,
        lr_actor: float = 3e-4,
        lr_critic: float = 3e-4,
        gamma: float = 0.99,
        tau: float = 0.005,
        action_grad_transform: ActionGradTransform | None = None,
        target_action_bounds: tuple[torch.Tensor, torch.Tensor] | None = None,
        target_noise: float = 0.0,
        target_noise_clip: float = 0.5,
        policy_delay: int = 1,
        compile: bool = False,
    ) -> None:
        if target_noise > 0 and target_action_bounds is None:
            raise ValueError("target_noise needs target_action_bounds to scale and clip it")
        self.actor = actor
        self.critic = critic
        self.actor_target = copy.deepcopy(actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(critic).requires_grad_(False)
        self.actor_optimizer = make_adam(actor.parameters(), lr_actor)
        self.critic_optimizer = make_adam(critic.parameters(), lr_critic)
        self.gamma = gamma
        self.tau = tau
        self.action_grad_transform = action_grad_transform
        self.target_action_bounds = target_action_bounds
        self.target_noise = target_noise
        self.target_noise_clip = target_noise_clip
        self.policy_delay = policy_delay
        self.num_updates = 0
        self._compiled = (
            CompiledStep(
                self._step, state_dict=self.state_dict, load_state_dict=self.load_state_dict
            )  # fmt: skip
            if compile
            else None
        )

    # ------------------------------------------------------------------------ the update

    @torch.no_grad()
    def td_target(self, batch: Batch) -> torch.Tensor:
        """y = r + gamma^k * (1 - terminated) * Q'(s', mu'(s')), shape (B,), k = `batch.steps`
        (1 unless the run uses n-step returns: then r sums k rewards, s' is k steps on).

        Only `terminated` stops bootstrapping: a time-limit truncation is stored with
        terminated = 0, so its target still includes the value of the next state.
        With the TD3 options, mu'(s') is smoothed by clipped noise and Q' is the smaller of
        the two target critics.
        """
        next_actions = self.actor_target(batch.next_obs)  # (B, act_dim)
        if self.target_noise > 0:
            low, high = self.target_action_bounds  # type: ignore[misc]
            noise = torch.randn_like(next_actions) * self.target_noise
            noise = noise.clamp(-self.target_noise_clip, self.target_noise_clip)
            next_actions = next_actions + noise * (high - low) / 2
        if self.target_action_bounds is not None:
            next_actions = torch.clamp(next_actions, *self.target_action_bounds)
        if isinstance(self.critic_target, TwinCritic):
            next_q = torch.minimum(*self.critic_target.both(batch.next_obs, next_actions))
        else:
            next_q = self.critic_target(batch.next_obs, next_actions)  # (B,)
        discount = self.gamma if batch.steps is None else self.gamma**batch.steps
        return batch.rewards + discount * (1.0 - batch.terminated) * next_q

    def critic_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One Adam step on the mean squared Bellman error (summed over both critics of a
        `TwinCritic`, each fitted to the same target)."""
        y = self.td_target(batch)  # (B,)
        if isinstance(self.critic, TwinCritic):
            q, q2 = self.critic.both(batch.obs, batch.actions)  # (B,) each
            loss = F.mse_loss(q, y) + F.mse_loss(q2, y)
        else:
            q = self.critic(batch.obs, batch.actions)  # (B,)
            loss = F.mse_loss(q, y)
        grads = torch.autograd.grad(loss, optimized_params(self.critic_optimizer))
        adam_step(self.critic_optimizer, grads)
        return {"critic_loss": loss.detach(), "q_mean": q.detach().mean()}

    def action_value_gradient(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """dQ(s, a)/da at the given actions, and Q(s, a); both detached, shapes (B, act_dim), (B,).

        `torch.autograd.grad` with `actions` as the only input computes the gradient with
        respect to the actions alone: no gradient is computed for, or stored on, any
        critic weight, so an actor step can never move the critic.
        """
        actions = actions.detach().requires_grad_(True)
        q = self.critic(obs, actions)  # (B,)
        # Samples are independent, so d(sum_b Q_b)/da_b = dQ_b/da_b.
        (dq_da,) = torch.autograd.grad(q.sum(), actions)
        return dq_da, q.detach()

    def actor_gradient(self, obs: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """The gradient of -mean_b Q(s_b, mu(s_b)) w.r.t. the actor's weights, by the chain
        rule, and Q(s, mu(s)) of shape (B,).

        grad_theta = -(1/B) sum_b dQ/da_b . dmu_b/dtheta: dQ/da from the critic (optionally
        edited by `action_grad_transform`), then a vector-Jacobian product through the actor
        alone, exactly what `actions.backward(gradient=-dq_da / B)` computes. Asked of
        `autograd.grad`, it leaves no `.grad` behind and compiles into the update's graph.
        Equal to autograd of -mean Q(s, mu(s)) in value and scale
        (tests/test_learner.py::test_chain_rule_actor_gradient_matches_autograd).
        """
        actions = self.actor(obs)  # (B, act_dim), still attached to the actor's graph
        dq_da, q = self.action_value_gradient(obs, actions)
        if self.action_grad_transform is not None:
            dq_da = self.action_grad_transform(dq_da, actions.detach())
        batch_mean = -dq_da / obs.shape[0]  # d(-mean Q)/da
        grads = torch.autograd.grad(
            actions, optimized_params(self.actor_optimizer), grad_outputs=batch_mean
        )
        return grads, q

    def actor_step(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """One Adam step of the actor up Q(s, mu(s)), with the chain-rule gradient."""
        grads, q = self.actor_gradient(obs)
        adam_step(self.actor_optimizer, grads)
        return {"actor_loss": -q.mean()}

    @torch.no_grad()
    def polyak_update(self) -> None:
        """target <- tau * online + (1 - tau) * target, for both networks' parameters.

        Buffers (action bounds, normalisation statistics) are copied, not averaged: they are
        not learned, and the target must see observations exactly as the online net does.
        """
        for online, target in ((self.actor, self.actor_target), (self.critic, self.critic_target)):
            target_params = list(target.parameters())
            torch._foreach_lerp_(target_params, list(online.parameters()), self.tau)
            for target_buffer, online_buffer in zip(target.buffers(), online.buffers()):
                target_buffer.copy_(online_buffer)

    def update(self, batch: Batch) -> dict[str, float]:
        """Critic step, then actor step on the updated critic, then both Polyak updates (the
        last two on every `policy_delay`-th update only)."""
        metrics, _ = self._run_step(batch, None)
        return metrics

    def update_and_act(
        self, batch: Batch, obs: torch.Tensor
    ) -> tuple[dict[str, float], torch.Tensor]:
        """`update`, then the updated actor's mu(obs), shape (N, act_dim) for obs (N, obs_dim).

        What a training loop acts with at its next step, computed in the same (compiled)
        call as the update: the actor's weights are still in cache then, and the forward
        pays no Python dispatch of its own (docs/benchmarks.md). Equal to calling
        `actor(obs)` under `no_grad` after `update`.
        """
        metrics, actions = self._run_step(batch, obs)
        assert actions is not None
        return metrics, actions

    def _step(
        self, batch: Batch, obs: torch.Tensor | None, move_actor: bool
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """The update itself, run eagerly or compiled, and mu(obs) after it when asked;
        metrics stay tensors (no host sync). Without `move_actor` (delayed policy updates)
        the actor and the targets stay, and `actor_loss` is still reported, from a forward."""
        critic_metrics = self.critic_step(batch)
        if move_actor:
            actor_metrics = self.actor_step(batch.obs)
            self.polyak_update()
        else:
            with torch.no_grad():
                actor_metrics = {
                    "actor_loss": -self.critic(batch.obs, self.actor(batch.obs)).mean()
                }
        actions = None
        if obs is not None:
            with torch.no_grad():
                actions = self.actor(obs)
        return {**critic_metrics, **actor_metrics}, actions

    # ----------------------------------------------------------------------- machinery

    @property
    def compiled(self) -> bool:
        """Whether updates run through torch.compile (False after a failed compilation)."""
        return self._compiled is not None and self._compiled.active

    @property
    def compile_seconds(self) -> float | None:
        """Wall time of the first, compiling update; None when not compiled (yet)."""
        return self._compiled.seconds if self._compiled is not None else None

    def _run_step(
        self, batch: Batch, obs: torch.Tensor | None
    ) -> tuple[dict[str, float], torch.Tensor | None]:
        step = self._compiled if self._compiled is not None else self._step
        move_actor = (self.num_updates + 1) % self.policy_delay == 0
        metrics, actions = step(batch, obs, move_actor)
        self.num_updates += 1
        return {k: float(v) for k, v in metrics.items()}, actions

    def state_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "num_updates": self.num_updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.actor_target.load_state_dict(state["actor_target"])
        self.critic_target.load_state_dict(state["critic_target"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.num_updates = int(state["num_updates"])
