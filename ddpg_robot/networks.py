"""The actor mu(s) and the critic Q(s, a).

Action bounds live in `register_buffer`s, so a checkpoint or an ONNX export of the actor
carries them: nothing outside the module needs to know how its output is scaled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

ACTOR_HEADS = ("tanh", "linear")


def mlp(
    in_dim: int, hidden_sizes: Sequence[int], out_dim: int, *, layer_norm: bool = False
) -> nn.Sequential:
    """Linear-ReLU stack ending in a plain Linear layer of width `out_dim`; with
    `layer_norm`, each hidden Linear is followed by a LayerNorm before its ReLU.

    ReLUs work in place: one allocation less per layer and step (autograd keeps the
    output it needs for the backward pass)."""
    layers: list[nn.Module] = []
    for width in hidden_sizes:
        layers.append(nn.Linear(in_dim, width))
        if layer_norm:
            layers.append(nn.LayerNorm(width))
        layers.append(nn.ReLU(inplace=True))
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class ObsNormalizer(nn.Module):
    """Running mean and variance of observations; maps obs to clip((obs - mean) / std).

    The statistics are buffers, updated by the trainer on every env step (`update`) and
    frozen at export, so the ONNX graph normalises exactly as the policy did when it was
    saved. Clipping to +-`clip` std keeps rare outliers from saturating the first layer
    (as SB3's VecNormalize does). Before any update it is the identity clipped to +-clip.
    """

    def __init__(self, obs_dim: int, *, eps: float = 1e-8, clip: float = 10.0) -> None:
        super().__init__()
        self.eps = eps
        self.clip = clip
        self.register_buffer("mean", torch.zeros(obs_dim))  # (obs_dim,)
        self.register_buffer("var", torch.ones(obs_dim))  # (obs_dim,)
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))  # samples seen

    @torch.no_grad()
    def update(self, obs: torch.Tensor) -> None:
        """Fold a batch (B, obs_dim) into the running statistics (Chan et al.'s parallel rule)."""
        obs = obs.detach().reshape(-1, self.mean.shape[0]).to(torch.float64)
        n = obs.shape[0]
        batch_mean = obs.mean(0)
        batch_var = obs.var(0, unbiased=False)
        count = self.count.to(torch.float64)
        mean = self.mean.to(torch.float64)
        total = count + n
        delta = batch_mean - mean
        m2 = self.var.to(torch.float64) * count + batch_var * n + delta**2 * count * n / total
        self.mean.copy_(mean + delta * n / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        normalized = (obs - self.mean) / torch.sqrt(self.var + self.eps)
        return torch.clamp(normalized, -self.clip, self.clip)


class Actor(nn.Module):
    """Deterministic policy mu(s): observations -> actions in the env's units.

    `head="tanh"`: `low + (high - low) * (tanh(u) + 1) / 2`, an affine map of tanh onto
    [low, high] that handles asymmetric bounds; a final clamp absorbs float rounding so the
    output is inside the bounds for every finite input.
    `head="linear"`: the raw layer output, kept near the bounds by inverting gradients
    during training (Hausknecht & Stone 2016) and clipped when acting.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        action_low: np.ndarray | Sequence[float],
        action_high: np.ndarray | Sequence[float],
        *,
        hidden_sizes: Sequence[int] = (256, 256),
        head: str = "tanh",
        normalize_obs: bool = False,
    ) -> None:
        super().__init__()
        if head not in ACTOR_HEADS:
            raise ValueError(f"actor head must be one of {ACTOR_HEADS}, got {head!r}")
        low = torch.as_tensor(np.asarray(action_low, dtype=np.float32).reshape(act_dim))
        high = torch.as_tensor(np.asarray(action_high, dtype=np.float32).reshape(act_dim))
        if not bool(torch.all(high > low)):
            raise ValueError(f"action bounds need high > low, got low={low}, high={high}")
        self.head = head
        self.obs_dim = obs_dim
        self.act_dim = act_dim
        self.hidden_sizes = tuple(hidden_sizes)
        self.obs_normalizer = ObsNormalizer(obs_dim) if normalize_obs else None
        self.net = mlp(obs_dim, hidden_sizes, act_dim)
        self.register_buffer("action_low", low)  # (act_dim,)
        self.register_buffer("action_high", high)  # (act_dim,)
        self.register_buffer("action_scale", (high - low) / 2)  # (act_dim,)
        self.register_buffer("action_bias", (high + low) / 2)  # (act_dim,)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.obs_normalizer is not None:
            obs = self.obs_normalizer(obs)
        u = self.net(obs)  # (B, act_dim)
        if self.head == "linear":
            return u
        action = self.action_bias + self.action_scale * torch.tanh(u)
        return torch.clamp(action, self.action_low, self.action_high)


OBS_LIMIT = 1e9
"""The deployed policy clamps observations to +-OBS_LIMIT: far beyond any physical state, and
low enough that no float32 layer overflows, so every finite observation gives a finite action."""


class BoundedPolicy(nn.Module):
    """The actor as it is deployed (and exported to ONNX): clamp obs, the actor (normaliser
    and head), clip to the bounds.

    The tanh head is already in bounds; the final clip is the contract's guarantee, and for
    a linear head (inverting gradients) it is what keeps the output in bounds.
    """

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        obs = torch.clamp(obs, -OBS_LIMIT, OBS_LIMIT)  # (B, obs_dim)
        return torch.clamp(self.actor(obs), self.actor.action_low, self.actor.action_high)


class Critic(nn.Module):
    """Action-value Q(s, a): an MLP over the concatenated observation and action.

    `obs_normalizer`: pass the actor's, so both networks see observations the same way
    (one module shared, one set of statistics). `layer_norm`: normalise each hidden layer's
    pre-activations (Ba et al. 2016), which keeps Q's features bounded as the critic trains.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        *,
        hidden_sizes: Sequence[int] = (256, 256),
        obs_normalizer: ObsNormalizer | None = None,
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        self.obs_normalizer = obs_normalizer
        self.net = mlp(obs_dim + act_dim, hidden_sizes, 1, layer_norm=layer_norm)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        if self.obs_normalizer is not None:
            obs = self.obs_normalizer(obs)
        return self.net(torch.cat([obs, action], dim=-1)).squeeze(-1)  # (B,)


class TwinCritic(nn.Module):
    """Two critics trained on the same targets, TD3's clipped double Q (Fujimoto et al. 2018).

    Called like a `Critic` it is the first critic, the one the actor climbs and the critic's
    bias measures; `both` gives the pair, whose minimum the TD target takes: the two share
    no weights, so one critic's overestimate at an action is rarely the other's.
    """

    def __init__(self, first: Critic, second: Critic) -> None:
        super().__init__()
        self.q1 = first
        self.q2 = second

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.q1(obs, action)  # (B,)

    def both(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q1(s, a) and Q2(s, a), shape (B,) each."""
        return self.q1(obs, action), self.q2(obs, action)
