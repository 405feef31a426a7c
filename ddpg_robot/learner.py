"""One DDPG update from a batch: critic step, actor step (as the chain rule), Polyak update.

The learner never touches an environment: it sees only `Batch`es, so it can be tested on
hand-made transitions and reused by any loop. docs/algorithm.md explains the actor step.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.adam import adam as functional_adam

from ddpg_robot.buffer import Batch

ActionGradTransform = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(dQ/da of shape (B, act_dim), actions (B, act_dim)) -> edited dQ/da of the same shape."""


class DDPGLearner:
    """Owns the online and target networks and their optimisers.

    `action_grad_transform` is the one place where dQ/da may be edited before it is pushed
    through the actor; inverting gradients (Hausknecht & Stone 2016) plugs in there.
    `target_action_bounds` (low, high): clip mu'(s') in the TD target to the actions the env
    would execute; needed for an actor whose raw output may leave the bounds (linear head).
    `compile`: run `update` through `torch.compile`. This very code is traced once, backward
    passes and Adam steps included, into one graph of fused kernels: 1.5-1.7x faster per
    update on CPU (docs/benchmarks.md). The first update pays the compilation (~2 s with a
    warm inductor cache, ~12 s cold on 2 cores; see `compile_seconds`). Should compiling fail (no
    C++ compiler, say), the learner warns once and carries on eagerly.
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
        compile: bool = False,
    ) -> None:
        self.actor = actor
        self.critic = critic
        self.actor_target = copy.deepcopy(actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(critic).requires_grad_(False)
        self.actor_optimizer = _adam(actor.parameters(), lr_actor)
        self.critic_optimizer = _adam(critic.parameters(), lr_critic)
        self.gamma = gamma
        self.tau = tau
        self.action_grad_transform = action_grad_transform
        self.target_action_bounds = target_action_bounds
        self.num_updates = 0
        self.compile_seconds: float | None = None  # wall time of the first, compiling update
        self._compiled_step: Callable[..., Any] | None = None
        if compile:
            # Dynamo guards on each optimiser's identity: a new learner would recompile
            # next to the old one's graphs until the recompile limit silently turns it eager.
            torch._dynamo.reset()
            self._compiled_step = torch.compile(
                self._step, dynamic=False, options=_INDUCTOR_OPTIONS
            )

    @property
    def compiled(self) -> bool:
        """Whether updates run through torch.compile (False after a failed compilation)."""
        return self._compiled_step is not None

    def update(self, batch: Batch) -> dict[str, float]:
        """Critic step, then actor step on the updated critic, then both Polyak updates."""
        metrics, _ = self._run_step(batch, None)
        return metrics

    def update_and_act(
        self, batch: Batch, obs: torch.Tensor
    ) -> tuple[dict[str, float], torch.Tensor]:
        """`update`, then the updated actor's mu(obs), shape (N, act_dim) for obs (N, obs_dim).

        What a training loop acts with at its next step, computed in the same (compiled)
        call as the update: the actor's weights are still in cache then, and the forward
        pays no Python dispatch of its own (docs/benchmarks.md: ~0.25 ms per env step on
        2 CPU cores). Equal to calling `actor(obs)` under `no_grad` after `update`.
        """
        metrics, actions = self._run_step(batch, obs)
        assert actions is not None
        return metrics, actions

    def _run_step(
        self, batch: Batch, obs: torch.Tensor | None
    ) -> tuple[dict[str, float], torch.Tensor | None]:
        if self._compiled_step is None:
            metrics, actions = self._step(batch, obs)
        elif self.compile_seconds is None:
            metrics, actions = self._first_compiled_step(batch, obs)
        else:
            with _tracing_autograd():
                metrics, actions = self._compiled_step(batch, obs)
        self.num_updates += 1
        return {k: float(v) for k, v in metrics.items()}, actions

    def _step(
        self, batch: Batch, obs: torch.Tensor | None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """The update itself, run eagerly or compiled, and mu(obs) after it when asked;
        metrics stay tensors (no host sync)."""
        critic_metrics = self.critic_step(batch)
        actor_metrics = self.actor_step(batch.obs)
        self.polyak_update()
        actions = None
        if obs is not None:
            with torch.no_grad():
                actions = self.actor(obs)
        return {**critic_metrics, **actor_metrics}, actions

    def _first_compiled_step(
        self, batch: Batch, obs: torch.Tensor | None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Compile on the first update; should that fail, restore whatever it may have
        half-updated and carry on eagerly, with a warning."""
        saved = copy.deepcopy(self.state_dict())
        started = time.perf_counter()
        try:
            with _tracing_autograd():
                result = self._compiled_step(batch, obs)  # type: ignore[misc]
        except Exception as error:  # noqa: BLE001 - any compiler failure means: run eagerly
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            warnings.warn(
                f"torch.compile failed ({first_line[:200]}); training continues eagerly, "
                "slower per update (--no-compile, or compile=False, skips the attempt)",
                RuntimeWarning,
                stacklevel=3,
            )
            self.load_state_dict(saved)
            self._compiled_step = None
            return self._step(batch, obs)
        self.compile_seconds = time.perf_counter() - started
        return result

    @torch.no_grad()
    def td_target(self, batch: Batch) -> torch.Tensor:
        """y = r + gamma * (1 - terminated) * Q'(s', mu'(s')), shape (B,).

        Only `terminated` stops bootstrapping: a time-limit truncation is stored with
        terminated = 0, so its target still includes the value of the next state.
        """
        next_actions = self.actor_target(batch.next_obs)  # (B, act_dim)
        if self.target_action_bounds is not None:
            next_actions = torch.clamp(next_actions, *self.target_action_bounds)
        next_q = self.critic_target(batch.next_obs, next_actions)  # (B,)
        return batch.rewards + self.gamma * (1.0 - batch.terminated) * next_q

    def critic_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One Adam step on the mean squared Bellman error."""
        y = self.td_target(batch)  # (B,)
        q = self.critic(batch.obs, batch.actions)  # (B,)
        loss = F.mse_loss(q, y)
        grads = torch.autograd.grad(loss, _params(self.critic_optimizer))
        _adam_step(self.critic_optimizer, grads)
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

    def actor_step(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Ascend Q(s, mu(s)) by the chain rule: grad_theta = -(1/B) sum_b dQ/da_b . dmu_b/dtheta.

        The second factor is a vector-Jacobian product through the actor alone, exactly
        what `actions.backward(gradient=-dq_da / B)` computes; asked of `autograd.grad`, it
        leaves no `.grad` behind to clear, and it compiles into the same graph as the rest.
        Equal to autograd of -mean Q(s, mu(s)) w.r.t. the actor weights
        (tests/test_learner.py::test_chain_rule_actor_gradient_matches_autograd).
        """
        actions = self.actor(obs)  # (B, act_dim), still attached to the actor's graph
        dq_da, q = self.action_value_gradient(obs, actions)
        if self.action_grad_transform is not None:
            dq_da = self.action_grad_transform(dq_da, actions.detach())
        grads = torch.autograd.grad(
            actions, _params(self.actor_optimizer), grad_outputs=-dq_da / obs.shape[0]
        )
        _adam_step(self.actor_optimizer, grads)
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


_INDUCTOR_OPTIONS = {"cpp.vec_isa_ok": True, "cpp_wrapper": True, "size_asserts": False}
"""`cpp.vec_isa_ok`: trust the CPU's own flags for the SIMD level instead of proving each
level with a test build loaded in a child process: that proof costs ~1.8 s in every new
process, and a compiler that cannot build the level still fails into the eager fallback.
`cpp_wrapper`, `size_asserts`: the ~45 kernel and matmul calls of one update are made from
C++, not Python, and without re-checking the shapes the graph was compiled for: together
~0.3 ms (9 %) less per update on 2 CPU cores; compiling takes no longer (docs/benchmarks.md)."""


def _tracing_autograd() -> Any:
    """Let Dynamo trace `torch.autograd.grad` into the compiled graph instead of breaking the
    graph there: with it the whole update is one graph."""
    return torch._dynamo.config.patch(trace_autograd_ops=True)


def _adam(params, lr: float) -> torch.optim.Adam:
    """A torch Adam that holds the hyperparameters and moment estimates (and so the
    checkpoint format); `_adam_step` applies it. Its state is created here, in the layout
    the fused kernel uses, rather than lazily inside the first step: a compiled update must
    find every tensor it updates already there."""
    optimizer = torch.optim.Adam(list(params), lr=lr, fused=True)
    for param in optimizer.param_groups[0]["params"]:
        optimizer.state[param] = {
            "step": torch.zeros((), dtype=torch.float32, device=param.device),
            "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
        }
    return optimizer


def _params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return optimizer.param_groups[0]["params"]


@torch.no_grad()
def _adam_step(optimizer: torch.optim.Adam, grads: tuple[torch.Tensor, ...]) -> None:
    """`optimizer.step()` with the gradients passed in, through torch's functional Adam.

    `Optimizer.step` breaks a compiled graph on purpose, and the fused kernel is opaque to
    the compiler; so eagerly this runs the fused kernel (one call for all tensors) and under
    torch.compile the capturable foreach form, which the compiler fuses with the rest.
    Both compute torch's Adam on the state `optimizer` holds.
    """
    group = optimizer.param_groups[0]
    params = group["params"]
    states = [optimizer.state[p] for p in params]
    compiling = torch.compiler.is_compiling()
    functional_adam(
        params,
        list(grads),
        [s["exp_avg"] for s in states],
        [s["exp_avg_sq"] for s in states],
        [],
        [s["step"] for s in states],
        foreach=compiling,
        capturable=compiling,
        fused=not compiling,
        amsgrad=False,
        beta1=group["betas"][0],
        beta2=group["betas"][1],
        lr=group["lr"],
        weight_decay=group["weight_decay"],
        eps=group["eps"],
        maximize=False,
    )
