"""The training loop: act with noise, step, store, update, evaluate, log, checkpoint.

Everything algorithmic lives in the learner, the pieces a config describes are built by
`agent`, the run directory and its lock are `run_dir`'s, the metrics file `logger`'s and
`metrics_file`'s, a checkpoint's integrity `checkpoint`'s. This module is the loop.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_robot import metrics_file
from ddpg_robot.agent import build_learner, check_memory, resolve_device
from ddpg_robot.bounds import explore
from ddpg_robot.buffer import ReplayBuffer
from ddpg_robot.checkpoint import CheckpointError, capture_rng, restore_rng, save_checkpoint
from ddpg_robot.config import MIN_UPDATES_TO_COMPILE, TrainConfig
from ddpg_robot.envs import env_info, make_env
from ddpg_robot.errors import DDPGRobotError, EnvError
from ddpg_robot.evaluation import evaluate_agent
from ddpg_robot.logger import LossAverager, MetricsLogger
from ddpg_robot.n_step import NStepWindow
from ddpg_robot.noise import make_noise
from ddpg_robot.progress import Progress, ProgressReporter, SpsMeter
from ddpg_robot.run_dir import RunDir

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


class Trainer:
    """One training run. Build it with `runs.start` or `runs.resume`, then call `run()`."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path | RunDir,
        *,
        reporter: ProgressReporter | None = None,
        resume_state: dict[str, Any] | None = None,
        changes: list[str] | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self.changes = changes or []  # settings a resume changed, "name: old -> new"
        self.device = resolve_device(config.device)
        self.files = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        self.run_dir = self.files.path
        self.reporter = reporter
        seeds = np.random.SeedSequence(config.seed).generate_state(3)
        torch.manual_seed(config.seed)
        self.env = make_env(config.env_id, seed=config.seed, **config.env_kwargs)
        self.eval_env = make_env(config.env_id, seed=int(seeds[0]), **config.env_kwargs)
        try:
            self.info = env_info(self.env, config.env_id)  # the id as given rebuilds the env
            check_memory(config, self.info)  # before allocating anything large
            self.files.claim(new_run=resume_state is None)
            metrics_file.check(self.files.metrics)  # one line, and nothing changed, if bad
            compile = (
                config.compile and _updates_to_do(config, resume_state) >= MIN_UPDATES_TO_COMPILE
            )
            self.learner = build_learner(config, self.info, self.device, compile=compile)
            self.buffer = ReplayBuffer(config.buffer_size, self.info.obs_dim, self.info.act_dim,
                                       seed=int(seeds[1]), device=self.device)  # fmt: skip
        except BaseException:
            self._close()
            raise
        self.actor = self.learner.actor
        self.window = NStepWindow(config.n_step, config.gamma)  # what reaches the buffer
        self.noise = make_noise(config.noise, self.info.act_dim, sigma=config.noise_sigma,
                                theta=config.noise_theta, dt=config.noise_dt,
                                seed=int(seeds[2]))  # fmt: skip
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

    def run(self) -> TrainResult:
        """Train until `total_steps`; write the final checkpoint; return the summary."""
        config = self.config
        try:
            self.files.write_config(config)
            logger = MetricsLogger(self.run_dir, resume_step=self.step if self.step else None)
        except BaseException:
            self._close()
            raise
        started = time.perf_counter()
        sps = SpsMeter(self.step, started)
        sums, tb_sums = LossAverager(), LossAverager()
        obs = self._checked(self.env.reset()[0])
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
                next_obs = self._checked(next_obs, reward)
                # Only `terminated` is stored: a time-limit truncation still bootstraps.
                for done in self.window.push(obs, action, reward, next_obs, terminated, truncated):
                    self.buffer.add(*done)
                episode_return += float(reward)
                episode_length += 1
                episode_over = terminated or truncated
                obs = self._checked(self.env.reset()[0]) if episode_over else next_obs

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
                    logger.log_row(self.step, wall_time=self._elapsed(started),
                                   episode_return=episode_return, episode_length=episode_length,
                                   sps=sps.value(self.step), **sums.pop())  # fmt: skip
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
            self._close()
        return TrainResult(self.run_dir, self.step, self._elapsed(started), self.best_eval,
                           self.best_eval_step, self.last_eval,
                           self.learner.compile_seconds)  # fmt: skip

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

    def _checked(self, obs: np.ndarray, reward: float = 0.0) -> np.ndarray:
        """`obs` if it and `reward` are finite; else the env is at fault, not the learner."""
        if not (np.isfinite(obs).all() and math.isfinite(reward)):
            what = "observation" if not np.isfinite(obs).all() else f"reward ({reward})"
            raise EnvError(
                f"{self.config.env_id} returned a non-finite {what} at step {self.step}; "
                f"the env is at fault, not the learner ({self._kept()})"
            )
        return obs

    def _evaluate(self, logger: MetricsLogger, started: float, sps: float) -> None:
        """Evaluate the actor without noise and log the row; a new best after learning
        started becomes best.pt (an evaluation of the untrained actor never does)."""
        evaluation = evaluate_agent(
            self._actor_output, self._q_values, self.eval_env, episodes=self.config.eval_episodes,
            gamma=self.config.gamma, low=self.info.action_low, high=self.info.action_high,
        )  # fmt: skip
        mean = float(evaluation.returns.mean())
        self.last_eval = mean
        logger.log_row(self.step, wall_time=self._elapsed(started), **evaluation.columns(), sps=sps)
        learning = self.step > self.config.learning_starts
        if learning and (self.best_eval is None or mean > self.best_eval):
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
            what = {"critic_loss": "the critic's loss", "q_mean": "the critic's Q",
                    "actor_loss": "the actor's loss (-Q)"}[bad[0]]  # fmt: skip
            raise TrainingDivergedError(
                f"training diverged: {what} became {metrics[bad[0]]} at update "
                f"{self.learner.num_updates} (step {self.step}); {self._kept()}. "
                "Try lower learning rates (--lr-critic, --lr-actor)."
            )

    def _kept(self) -> str:
        last = self.files.last
        return f"the last good checkpoint is {last}" if last.exists() else "no checkpoint yet"

    def _report(self, sps: float, event: str) -> None:
        self.reporter(Progress(self.step, self.config.total_steps, sps, self.last_return,
                               self.last_eval, self.best_eval, event))  # fmt: skip

    def _elapsed(self, started: float) -> float:
        return self.wall_time_before + time.perf_counter() - started

    def _close(self) -> None:
        self.env.close()
        self.eval_env.close()
        self.files.release()

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
            "rng": capture_rng(self.env, self.eval_env),
        }
        save_checkpoint(self.files.checkpoints / name, state)

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self.learner.load_state_dict(state["learner"])
            self.noise.load_state_dict(state["noise"])
            if state.get("buffer") is not None:
                self.buffer.load_state_dict(state["buffer"])
            restore_rng(state["rng"], self.env, self.eval_env)
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
