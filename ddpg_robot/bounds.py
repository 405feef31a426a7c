"""Action-bound helpers: scaling between [-1, 1] units and the env's [low, high].

Exploration noise is defined in [-1, 1] units (one sigma means the same on every robot);
these helpers move it into the env's units and keep every executed action in bounds.
"""

from __future__ import annotations

import numpy as np


def half_range(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(high - low) / 2: the env-unit size of one [-1, 1] unit, per action dimension."""
    return (np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64)) / 2


def unit_to_env(unit: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map [-1, 1] to [low, high] affinely (-1 -> low, +1 -> high)."""
    low = np.asarray(low, dtype=np.float64)
    return low + (np.asarray(unit, dtype=np.float64) + 1.0) * half_range(low, high)


def env_to_unit(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Inverse of `unit_to_env`: [low, high] -> [-1, 1]."""
    low = np.asarray(low, dtype=np.float64)
    return (np.asarray(action, dtype=np.float64) - low) / half_range(low, high) - 1.0


def explore(
    action: np.ndarray, noise_unit: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Add noise given in [-1, 1] units to an env-unit action and clip into [low, high]."""
    noisy = np.asarray(action, dtype=np.float64) + noise_unit * half_range(low, high)
    return np.clip(noisy, low, high).astype(np.float32)
