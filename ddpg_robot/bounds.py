"""Action bounds: exploration noise into [low, high], inverting gradients, saturation.

Exploration noise is defined in [-1, 1] units (one sigma means the same on every robot);
`explore` moves it into the env's units and keeps every executed action in bounds.
`invert_gradients` is the learner's dQ/da transform for a linear (unsquashed) actor head;
`saturation_rate` measures how often a policy sits at its bounds, comparably for both heads.
"""

from __future__ import annotations

import numpy as np
import torch


def half_range(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(high - low) / 2: the env-unit size of one [-1, 1] unit, per action dimension."""
    return (np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64)) / 2


def explore(
    action: np.ndarray, noise_unit: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Add noise given in [-1, 1] units to an env-unit action and clip into [low, high]."""
    noisy = np.asarray(action, dtype=np.float64) + noise_unit * half_range(low, high)
    return np.clip(noisy, low, high).astype(np.float32)


def invert_gradients(
    dq_da: torch.Tensor, actions: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Inverting gradients (Hausknecht & Stone 2016, eq. 9), per action dimension.

    `dq_da` is the ascent direction of Q: a positive entry says "increase p". Such entries
    are scaled by (high - p) / (high - low), the others by (p - low) / (high - low). The
    push toward a bound fades as p nears it, and once p is beyond it the factor turns
    negative and the push points back inside. Shapes: (B, act_dim) with bounds (act_dim,).
    """
    width = high - low
    toward_high = (high - actions) / width
    toward_low = (actions - low) / width
    return dq_da * torch.where(dq_da > 0, toward_high, toward_low)


SATURATION_TOLERANCE = 0.01
"""An output counts as saturated within this fraction of its range from a bound (or beyond)."""


def saturation_rate(
    outputs: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    tolerance: float = SATURATION_TOLERANCE,
) -> float:
    """Fraction of action components at a bound: `outputs` (N, act_dim) are unclipped mu(obs).

    A component counts when it lies within `tolerance * (high - low)` of `low` or `high`, or
    beyond them. With the default 1 % that is |a| >= 0.98 in [-1, 1] units: a tanh head there
    has pre-activation >= 2.3 and passes on at most 4 % of its gradient, and a linear head
    there is (almost) clipped. Returns 0.0 for no outputs.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.size == 0:
        return 0.0
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    margin = tolerance * (high - low)
    at_bound = (outputs >= high - margin) | (outputs <= low + margin)
    return float(at_bound.mean())
