"""`ddpg-robot eval --latency/--obs-noise/--action-noise`: what each does, exactly, and that
none of them changes anything when off."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import tests.envs  # noqa: F401  (registers TestPoint-v0, TestWidePoint-v0)
from ddpg_robot.envs import make_env
from ddpg_robot.evaluation import evaluate_model, evaluate_policy
from ddpg_robot.perturbation import Perturbation, PerturbedEnv
from ddpg_robot.runtime import Controller
from tests.helpers import run_main

CHEETAH = Path(__file__).resolve().parents[1] / "models" / "halfcheetah-v4.onnx"


class CounterEnv(gym.Env):
    """Observation: the step count t. Reward: the action executed. 10 steps an episode."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float64)
    action_space = gym.spaces.Box(0.0, 20.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.executed = 0, []
        return np.array([0.0]), {}

    def step(self, action):
        self.executed.append(float(action[0]))
        self.t += 1
        return np.array([float(self.t)]), float(action[0]), False, self.t >= 10, {}


def _echo(obs: np.ndarray) -> np.ndarray:
    """Act with the step count itself: the action computed at step t is t."""
    return np.array([obs[0]], dtype=np.float32)


def _point_policy(obs: np.ndarray) -> np.ndarray:
    return np.clip(np.array([-obs[0], 2.5 - obs[1]], dtype=np.float32), [-2.0, 0.0], [1.0, 5.0])


def test_latency_executes_each_action_n_periods_late() -> None:
    """From step N on the env receives the action computed N steps earlier; before that the
    bounds' midpoint (10). Every episode starts afresh."""
    inner = CounterEnv()
    env = PerturbedEnv(inner, Perturbation(latency=2), seed=0)
    returns = evaluate_policy(_echo, env, episodes=2)
    assert inner.executed == [10.0, 10.0] + [float(t) for t in range(8)]
    np.testing.assert_array_equal(returns, [48.0, 48.0])  # 10 + 10 + (0 + ... + 7)
    assert evaluate_policy(_echo, CounterEnv(), episodes=1)[0] == 45.0  # 0 + ... + 9


def test_no_perturbation_is_the_plain_evaluation_exactly() -> None:
    """Through eval's real path on the shipped HalfCheetah policy (a chaotic system: any
    change in any action would show in the return)."""
    perturbed = evaluate_model(CHEETAH, episodes=1, seed=3, perturbation=Perturbation(0, 0.0, 0.0))
    plain = evaluate_policy(Controller(CHEETAH).act, make_env("HalfCheetah-v4", seed=3), 1)
    np.testing.assert_array_equal(perturbed.returns, plain)


def test_observation_noise_is_relative_to_each_entrys_running_std() -> None:
    """What the policy sees is obs + X * running_std * z with z standard normal: the first
    observation is untouched (no spread yet), and the z recovered from entries whose scales
    differ by 2,000x are alike."""
    seen = []

    class Recorder(gym.Wrapper):
        def reset(self, **kwargs):
            obs, info = self.env.reset(**kwargs)
            seen.append(obs.copy())
            return obs, info

        def step(self, action):
            result = self.env.step(action)
            seen.append(result[0].copy())
            return result

    env = PerturbedEnv(
        Recorder(make_env("TestWidePoint-v0", seed=1)), Perturbation(obs_noise=0.1), 5
    )
    first, _ = env.reset()
    np.testing.assert_array_equal(first, seen[0])
    z = []
    for _ in range(200):
        noisy, *_ = env.step(env.action_space.sample())
        z.append((noisy - seen[-1]) / (0.1 * env.running_std()))
    z = np.array(z)  # (steps, 3): entries of scale 1, 300 and 2,000
    assert np.abs(z.mean(axis=0)).max() < 0.3
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=0.2)


def test_action_noise_stays_inside_the_bounds() -> None:
    inner = CounterEnv()
    env = PerturbedEnv(inner, Perturbation(action_noise=3.0), seed=0)
    evaluate_policy(_echo, env, episodes=1)
    executed = np.array(inner.executed)
    assert (executed >= 0).all() and (executed <= 20).all()
    assert (executed != np.arange(10)).sum() >= 8  # noise of 3 half-ranges moves nearly all


@pytest.mark.parametrize("perturbation", [Perturbation(obs_noise=0.05),
                                          Perturbation(action_noise=0.05)])  # fmt: skip
def test_noise_changes_the_return_and_is_reproducible(perturbation: Perturbation) -> None:
    def run(seed: int) -> np.ndarray:
        env = PerturbedEnv(make_env("TestPoint-v0", seed=2), perturbation, seed)
        return evaluate_policy(_point_policy, env, episodes=3)

    plain = evaluate_policy(_point_policy, make_env("TestPoint-v0", seed=2), episodes=3)
    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), plain)
    assert not np.array_equal(run(7), run(8))


def test_eval_command_reports_and_repeats_a_perturbed_evaluation() -> None:
    args = ["eval", "models/invertedpendulum-v4.onnx", "--episodes", "2", "--latency", "1",
            "--obs-noise", "0.01", "--action-noise", "0.05"]  # fmt: skip
    code, out, err = run_main(args)
    assert code == 0, err
    assert "(seed 0, onnx policy, latency 1 step, obs noise 1 %, action noise 5 %)" in out
    assert "return 1000.00" not in out  # unperturbed it balances all 1000 steps
    assert run_main(args)[1] == out


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--latency", "-1", "--latency must be a whole number of control periods >= 0, got -1"),
     ("--obs-noise", "-0.01", "--obs-noise must be a finite fraction >= 0"),
     ("--action-noise", "nan", "--action-noise must be a finite fraction >= 0")],
)  # fmt: skip
def test_bad_perturbations_are_one_line(flag: str, value: str, message: str) -> None:
    code, _, err = run_main(["eval", "models/invertedpendulum-v4.onnx", flag, value])
    assert code == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1
