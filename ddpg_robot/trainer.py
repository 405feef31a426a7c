"""The training loop: act with noise, step, store, update, evaluate, log, checkpoint, resume.

Everything algorithmic lives in the learner; this module only orchestrates. A run directory
holds `config.json`, `metrics.csv`, TensorBoard events and `checkpoints/{last,best}.pt`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_robot.agent import build_learner, resolve_device
from ddpg_robot.bounds import explore
from ddpg_robot.buffer import ReplayBuffer
from ddpg_robot.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ddpg_robot.config import MIN_UPDATES_TO_COMPILE, TrainConfig, resolve_resumed_config
from ddpg_robot.envs import env_info, make_env
from ddpg_robot.errors import ConfigError, DDPGRobotError
from ddpg_robot.evaluation import evaluate_agent
from ddpg_robot.logger import LossAverager, MetricsLogger
from ddpg_robot.noise import make_noise
from ddpg_robot.progress import Progress, ProgressReporter, SpsMeter

TB_EVERY = 1_000
"""Env steps between TensorBoard points of the training losses (mean over the window)."""


class TrainingDivergedError(DDPGRobotError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    wall_time: float
    best_eval: float | None
    best_eval_step: int | None
    last_eval: float | None
    compile_seconds: float | None = None  # the first, compiling update; None: not compiled


def default_run_dir(env_id: str, seed: int, root: Path = Path("runs")) -> Path:
    """runs/<env>-<YYYYmmdd-HHMMSS>-s<seed>/"""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"{env_id.replace('/', '_')}-{stamp}-s{seed}"


def start(
    config: TrainConfig, run_dir: Path | None = None, *, reporter: ProgressReporter | None = None
) -> Trainer:
    """Prepare a new run (validates the env and run dir before writing anything)."""
    return Trainer(
        config, run_dir or default_run_dir(config.env_id, config.seed), reporter=reporter
    )


def resume(
    run_dir: Path,
    overrides: dict[str, Any] | None = None,
    *,
    env_id: str | None = None,
    reporter: ProgressReporter | None = None,
) -> Trainer:
    """Prepare to continue the run in `run_dir` from `checkpoints/last.pt`.

    `overrides` may raise `total_steps` and change evaluation/checkpoint cadence or device;
    changing what the algorithm computes is refused (start a new run instead).
    """
    run_dir = Path(run_dir)
    last = run_dir / "checkpoints" / "last.pt"
    if not last.is_file():
        raise CheckpointError(
            f"cannot resume: {last} does not exist (the run never reached its first "
            "checkpoint, or this is not a run dir); start a new run without --resume"
        )
    state = load_checkpoint(last)
    config = resolve_resumed_config(state["config"], overrides or {})
    if env_id is not None and env_id != config.env_id:
        raise ConfigError(f"{run_dir} is a {config.env_id} run, not {env_id}")
    return Trainer(config, run_dir, reporter=reporter, resume_state=state)


class Trainer:
    """One training run. Build it with `start` or `resume`, then call `run()`."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        *,
        reporter: ProgressReporter | None = None,
        resume_state: dict[str, Any] | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self.device = resolve_device(config.device)
        self.run_dir = Path(run_dir)
        self.reporter = reporter
        last = self.run_dir / "checkpoints" / "last.pt"
        if resume_state is None and last.exists():
            raise ConfigError(
                f"{self.run_dir} already holds a run; add --resume to continue it, "
                "or pick another --run-dir"
            )

        seeds = np.random.SeedSequence(config.seed).generate_state(3)
        torch.manual_seed(config.seed)
        self.env = make_env(config.env_id, seed=config.seed)
        self.eval_env = make_env(config.env_id, seed=int(seeds[0]))
        self.info = env_info(self.env)
        compile = config.compile and _updates_to_do(config, resume_state) >= MIN_UPDATES_TO_COMPILE
        self.learner = build_learner(config, self.info, self.device, compile=compile)
        self.actor = self.learner.actor
        self.buffer = ReplayBuffer(
            config.buffer_size,
            self.info.obs_dim,
            self.info.act_dim,
            seed=int(seeds[1]),
            device=self.device,
        )
        self.noise = make_noise(
            config.noise,
            self.info.act_dim,
            sigma=config.noise_sigma,
            theta=config.noise_theta,
            dt=config.noise_dt,
            seed=int(seeds[2]),
        )
        # Act with the policy output the update computes along the way (cheaper: see
        # DDPGLearner.update_and_act); not with observation normalisation, whose statistics
        # must take the next observation in after the update and before acting on it.
        self.act_in_update = self.actor.obs_normalizer is None
        self.step = 0
        self.episodes = 0
        self.wall_time_before = 0.0  # seconds spent in earlier sessions of a resumed run
        self.best_eval: float | None = None
        self.best_eval_step: int | None = None
        self.last_eval: float | None = None
        self.last_return: float | None = None
        if resume_state is not None:
            self._restore(resume_state)

    # ----------------------------------------------------------------------------- loop

    def run(self) -> TrainResult:
        """Train until `total_steps`; write the final checkpoint; return the summary."""
        config = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        logger = MetricsLogger(self.run_dir, resume_step=self.step if self.step else None)
        started = time.perf_counter()
        sps = SpsMeter(self.step, started)
        sums = LossAverager()
        tb_sums = LossAverager()
        obs, _ = self.env.reset()
        self.noise.reset()
        episode_return, episode_length = 0.0, 0
        next_mu: torch.Tensor | None = None  # mu(obs), when the last update computed it
        try:
            while self.step < config.total_steps:
                self.step += 1
                if self.actor.obs_normalizer is not None:
                    self.actor.obs_normalizer.update(torch.as_tensor(obs, device=self.device))
                action = self._explore_action(obs, next_mu)
                next_obs, reward, terminated, truncated, _ = self.env.step(action)
                # Only `terminated` is stored: a time-limit truncation still bootstraps.
                self.buffer.add(obs, action, reward, next_obs, terminated)
                episode_return += float(reward)
                episode_length += 1
                episode_over = terminated or truncated
                obs = self.env.reset()[0] if episode_over else next_obs  # acted on next

                next_mu = None
                if self.step > config.learning_starts and len(self.buffer) >= config.batch_size:
                    batch = self.buffer.sample(config.batch_size)
                    if self.act_in_update:
                        metrics, next_mu = self.learner.update_and_act(batch, self._obs_batch(obs))
                    else:
                        metrics = self.learner.update(batch)
                    self._check_finite(metrics)
                    sums.add(metrics)
                    tb_sums.add(metrics)

                if episode_over:
                    self.episodes += 1
                    self.last_return = episode_return
                    logger.log_row(
                        self.step,
                        wall_time=self._elapsed(started),
                        episode_return=episode_return,
                        episode_length=episode_length,
                        sps=sps.value(self.step),
                        **sums.pop(),
                    )
                    self.noise.reset()
                    episode_return, episode_length = 0.0, 0

                if self.step % TB_EVERY == 0:
                    logger.log_scalars(self.step, sps=sps.value(self.step), **tb_sums.pop())
                    sps.restart(self.step)

                is_last = self.step == config.total_steps
                if config.eval_every and (self.step % config.eval_every == 0 or is_last):
                    self._evaluate(logger, started, sps.value(self.step))
                if is_last or (
                    config.checkpoint_every and self.step % config.checkpoint_every == 0
                ):
                    self._save("last.pt", started, include_buffer=config.save_buffer)
                if self.reporter is not None and (self.step % 200 == 0 or is_last):
                    self._report(sps.value(self.step), "step")
        finally:
            logger.close()
            self.env.close()
            self.eval_env.close()
        return TrainResult(
            run_dir=self.run_dir,
            steps=self.step,
            wall_time=self._elapsed(started),
            best_eval=self.best_eval,
            best_eval_step=self.best_eval_step,
            last_eval=self.last_eval,
            compile_seconds=self.learner.compile_seconds,
        )

    def _explore_action(self, obs: np.ndarray, mu: torch.Tensor | None) -> np.ndarray:
        """Random before `learning_starts`, then mu(obs) plus noise; `mu`, shape (1, act_dim),
        is the actor's output for `obs` when the last update computed it already."""
        if self.step <= self.config.learning_starts:
            return self.env.action_space.sample()
        output = self._actor_output(obs) if mu is None else mu[0].cpu().numpy()
        greedy = np.clip(output, self.info.action_low, self.info.action_high)
        return explore(greedy, self.noise(), self.info.action_low, self.info.action_high)

    @torch.no_grad()
    def _actor_output(self, obs: np.ndarray) -> np.ndarray:
        """mu(obs) in env units before clipping (a linear head may leave the bounds)."""
        return self.actor(self._obs_batch(obs))[0].cpu().numpy()

    def _obs_batch(self, obs: np.ndarray) -> torch.Tensor:
        """One observation as a float32 batch of one, shape (1, obs_dim), on the device."""
        return torch.as_tensor(obs, dtype=torch.float32, device=self.device).unsqueeze(0)

    def _evaluate(self, logger: MetricsLogger, started: float, sps: float) -> None:
        """Evaluate the actor without noise, log the row (returns, saturation, the critic's
        bias), keep a new best."""
        evaluation = evaluate_agent(
            self._actor_output, self._q_values, self.eval_env, episodes=self.config.eval_episodes,
            gamma=self.config.gamma, low=self.info.action_low, high=self.info.action_high,
        )  # fmt: skip
        mean = float(evaluation.returns.mean())
        self.last_eval = mean
        logger.log_row(self.step, wall_time=self._elapsed(started), **evaluation.columns(), sps=sps)
        if self.best_eval is None or mean > self.best_eval:
            self.best_eval, self.best_eval_step = mean, self.step
            self._save("best.pt", started, include_buffer=False)
        if self.reporter is not None:
            self._report(sps, "eval")

    @torch.no_grad()
    def _q_values(self, observations: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The online critic's Q(s, a) for a batch, in one forward: (N, obs_dim) and
        (N, act_dim) in env units -> (N,) float64, in return units."""
        critic = self.learner.critic
        dtype = next(critic.parameters()).dtype
        obs = torch.as_tensor(observations, dtype=dtype, device=self.device)  # (N, obs_dim)
        act = torch.as_tensor(actions, dtype=dtype, device=self.device)  # (N, act_dim)
        return critic(obs, act).to(torch.float64).cpu().numpy()  # (N,)

    def _check_finite(self, metrics: dict[str, float]) -> None:
        bad = [name for name, value in metrics.items() if not math.isfinite(value)]
        if bad:
            last = self.run_dir / "checkpoints" / "last.pt"
            kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint yet"
            raise TrainingDivergedError(
                f"training diverged at step {self.step}: {', '.join(bad)} became "
                f"{metrics[bad[0]]}; {kept}. Try lower learning rates (--lr-critic, --lr-actor)."
            )

    def _report(self, sps: float, event: str) -> None:
        self.reporter(
            Progress(
                step=self.step,
                total_steps=self.config.total_steps,
                sps=sps,
                last_return=self.last_return,
                last_eval=self.last_eval,
                best_eval=self.best_eval,
                event=event,
            )
        )

    def _elapsed(self, started: float) -> float:
        return self.wall_time_before + time.perf_counter() - started

    # ----------------------------------------------------------------------- checkpoints

    def _save(self, name: str, started: float, *, include_buffer: bool) -> None:
        state = {
            "config": self.config.to_dict(),
            "actor_head": self.actor.head,
            "env": self.info.to_dict(),
            "step": self.step,
            "episodes": self.episodes,
            "wall_time": self._elapsed(started),
            "best_eval": self.best_eval,
            "best_eval_step": self.best_eval_step,
            "last_eval": self.last_eval,
            "learner": self.learner.state_dict(),
            "noise": self.noise.state_dict(),
            "buffer": self.buffer.state_dict() if include_buffer else None,
            "rng": {
                "torch": torch.get_rng_state(),
                "env": self.env.unwrapped.np_random.bit_generator.state,
                "action_space": self.env.action_space.np_random.bit_generator.state,
                "eval_env": self.eval_env.unwrapped.np_random.bit_generator.state,
            },
        }
        save_checkpoint(self.run_dir / "checkpoints" / name, state)

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self.learner.load_state_dict(state["learner"])
            self.noise.load_state_dict(state["noise"])
            if state.get("buffer") is not None:
                self.buffer.load_state_dict(state["buffer"])
            torch.set_rng_state(state["rng"]["torch"])
            self.env.unwrapped.np_random.bit_generator.state = state["rng"]["env"]
            self.env.action_space.np_random.bit_generator.state = state["rng"]["action_space"]
            self.eval_env.unwrapped.np_random.bit_generator.state = state["rng"]["eval_env"]
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"checkpoint in {self.run_dir} does not match this run's setup ({exc})"
            ) from None
        self.step = int(state["step"])
        self.episodes = int(state["episodes"])
        self.wall_time_before = float(state["wall_time"])
        self.best_eval = state["best_eval"]
        self.best_eval_step = state["best_eval_step"]
        self.last_eval = state["last_eval"]


def _updates_to_do(config: TrainConfig, resume_state: dict[str, Any] | None) -> int:
    """Learner updates between the step a run starts from and `total_steps`."""
    start = int(resume_state["step"]) if resume_state is not None else 0
    return max(0, config.total_steps - max(start, config.learning_starts))
