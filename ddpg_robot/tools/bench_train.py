"""`ddpg-robot bench train`: `ddpg-robot train` against a plain reference loop, side by side.

The reference is written here on purpose, CleanRL-style: eager torch with default threads,
a numpy buffer, `loss.backward()` through critic and actor alike, a per-parameter Polyak
loop, one update per env step. Both runs use the same settings and the same number of
updates, and alternate (A B A B ...) so that machine noise hits both alike.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ddpg_robot.buffer import Batch
from ddpg_robot.config import resolve_config
from ddpg_robot.envs import env_info, make_env
from ddpg_robot.errors import DDPGRobotError
from ddpg_robot.learner import DDPGLearner
from ddpg_robot.networks import Actor, Critic


@dataclass(frozen=True)
class BenchSettings:
    env_id: str = "HalfCheetah-v4"
    random_steps: int = 1_000
    updating_steps: int = 5_000
    batch_size: int = 256
    hidden_sizes: tuple[int, ...] = (256, 256)
    noise_sigma: float = 0.1
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    seed: int = 0
    compile: bool = True  # `ddpg-robot train`'s default; --no-compile measures the eager learner


# --------------------------------------------------------------------------- reference


class _RefActor(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...], low, high) -> None:
        super().__init__()
        layers, width = [], obs_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, act_dim), nn.Tanh())
        self.register_buffer("scale", torch.as_tensor((high - low) / 2, dtype=torch.float32))
        self.register_buffer("bias", torch.as_tensor((high + low) / 2, dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs) * self.scale + self.bias


class _RefCritic(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers, width = [], obs_dim + act_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], 1))


class _ReferenceDDPG:
    """The reference's networks, optimisers and update, as a plain loop writes them."""

    def __init__(self, obs_dim: int, act_dim: int, low, high, s: BenchSettings) -> None:
        self.s = s
        self.actor = _RefActor(obs_dim, act_dim, s.hidden_sizes, low, high)
        self.qf = _RefCritic(obs_dim, act_dim, s.hidden_sizes)
        self.target_actor, self.target_qf = copy.deepcopy(self.actor), copy.deepcopy(self.qf)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=s.lr)
        self.q_opt = torch.optim.Adam(self.qf.parameters(), lr=s.lr)

    def update(self, obs, act, rew, next_obs, term) -> None:
        """One update; rewards and terminations are (B, 1)."""
        s = self.s
        with torch.no_grad():
            next_q = self.target_qf(next_obs, self.target_actor(next_obs))
            y = rew + s.gamma * (1 - term) * next_q
        q_loss = F.mse_loss(self.qf(obs, act), y)
        self.q_opt.zero_grad()
        q_loss.backward()
        self.q_opt.step()
        actor_loss = -self.qf(obs, self.actor(obs)).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        for net, target in ((self.actor, self.target_actor), (self.qf, self.target_qf)):
            for p, tp in zip(net.parameters(), target.parameters()):
                tp.data.copy_(s.tau * p.data + (1 - s.tau) * tp.data)
        _ = q_loss.item(), actor_loss.item()  # what a loop that logs every step pays


def reference_loop(s: BenchSettings) -> float:
    """The plain loop; returns its whole-run wall time in seconds."""
    start = time.perf_counter()
    torch.manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)
    env = make_env(s.env_id, seed=s.seed)
    low, high = env.action_space.low, env.action_space.high
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    ref = _ReferenceDDPG(obs_dim, act_dim, low, high, s)
    total = s.random_steps + s.updating_steps
    widths = {"obs": obs_dim, "act": act_dim, "rew": 1, "next": obs_dim, "term": 1}
    buf = {key: np.zeros((total, width), np.float32) for key, width in widths.items()}
    obs, _ = env.reset()
    for step in range(total):
        if step < s.random_steps:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                action = ref.actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
            action = np.clip(action + rng.normal(0, (high - low) / 2 * s.noise_sigma), low, high)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for key, value in zip(("obs", "act", "rew", "next", "term"),
                              (obs, action, reward, next_obs, terminated)):  # fmt: skip
            buf[key][step] = value
        obs = next_obs if not (terminated or truncated) else env.reset()[0]
        if step >= s.random_steps:
            idx = rng.integers(0, step + 1, s.batch_size)
            b = {k: torch.as_tensor(v[idx]) for k, v in buf.items()}
            ref.update(b["obs"], b["act"], b["rew"], b["next"], b["term"])
    env.close()
    return time.perf_counter() - start


def package_run(s: BenchSettings) -> tuple[float, float | None]:
    """`ddpg-robot train` with the same settings: its whole-run wall time, and the seconds of
    its first, compiling update (None when the update is not compiled)."""
    from ddpg_robot import runs

    config = resolve_config(s.env_id, {
        "total_steps": s.random_steps + s.updating_steps, "learning_starts": s.random_steps,
        "batch_size": s.batch_size, "hidden_sizes": s.hidden_sizes, "noise": "gaussian",
        "noise_sigma": s.noise_sigma, "lr_actor": s.lr, "lr_critic": s.lr, "gamma": s.gamma,
        "tau": s.tau, "seed": s.seed, "eval_every": 0, "checkpoint_every": 0,
        "save_buffer": False, "buffer_size": s.random_steps + s.updating_steps,
        "compile": s.compile,
    })  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = runs.start(config, Path(tmp) / "run").run()
        return time.perf_counter() - start, result.compile_seconds


def run_in_fresh_process(kind: str, s: BenchSettings) -> tuple[float, float | None]:
    """`reference_loop` (kind "reference") or `package_run` ("package") in a new Python
    process: the run then pays what one `ddpg-robot train` command pays, lazy imports and
    loading its compiled update from the disk cache included, and nothing is left warm in
    memory by an earlier round. Timed inside the child, from the start of the run: the
    interpreter and torch start-up, the same for both, are left out."""
    settings = json.dumps(dataclasses.asdict(s))
    done = subprocess.run(
        [sys.executable, "-m", "ddpg_robot.tools.bench_train", kind, settings],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DDPGRobotError(f"the {kind} run failed in its own process: {last}")
    wall, compile_seconds = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, compile_seconds


def timed_run(kind: str, s: BenchSettings) -> tuple[float, float | None]:
    """Whole-run seconds of `reference_loop` or `package_run` (kind "reference" or
    "package") in this process, and the package's compile seconds (None otherwise)."""
    if kind == "reference":
        return reference_loop(s), None
    return package_run(s)


# ------------------------------------------------------------------------- components


def learner_updates_per_second(
    s: BenchSettings, updates: int = 300, rounds: int = 3
) -> dict[str, float]:
    """Updates/s on a random batch: the package's learner compiled and eager, and the
    reference update; the median of `rounds` timings of each, taken in turn."""
    env = make_env(s.env_id, seed=0)
    info = env_info(env)
    env.close()
    torch.manual_seed(0)
    batch = _random_batch(info.obs_dim, info.act_dim, s.batch_size)

    def learner(compile: bool) -> DDPGLearner:
        actor = Actor(info.obs_dim, info.act_dim, info.action_low, info.action_high,
                      hidden_sizes=s.hidden_sizes)  # fmt: skip
        critic = Critic(info.obs_dim, info.act_dim, hidden_sizes=s.hidden_sizes)
        return DDPGLearner(actor, critic, lr_actor=s.lr, lr_critic=s.lr, gamma=s.gamma,
                           tau=s.tau, compile=compile)  # fmt: skip

    compiled, eager = learner(compile=True), learner(compile=False)
    updates_by_name = {
        "ddpg-robot learner, compiled": lambda: compiled.update(batch),
        "ddpg-robot learner, eager (--no-compile)": lambda: eager.update(batch),
        "reference update": _reference_update_fn(info, s, batch),
    }
    timings: dict[str, list[float]] = {name: [] for name in updates_by_name}
    for update in updates_by_name.values():
        for _ in range(20):  # the compiled learner compiles here
            update()
    for _ in range(rounds):
        for name, update in updates_by_name.items():
            start = time.perf_counter()
            for _ in range(updates):
                update()
            timings[name].append(updates / (time.perf_counter() - start))
    return {name: statistics.median(rates) for name, rates in timings.items()}


def update_flops(s: BenchSettings) -> dict[str, float]:
    """Matmul FLOPs of one package update, against this machine's large-matmul throughput.

    Counted from the layer shapes (2*B*in*out per product): the target forward, the critic's
    forward and backward (weight grads, input grads past the first layer), and the actor
    step (actor forward, critic forward, critic input grads only, actor backward).
    """
    env = make_env(s.env_id, seed=0)
    info = env_info(env)
    env.close()
    b = s.batch_size
    actor = _layer_shapes(info.obs_dim, s.hidden_sizes, info.act_dim)
    critic = _layer_shapes(info.obs_dim + info.act_dim, s.hidden_sizes, 1)

    def fwd(layers):
        return sum(2 * b * i * o for i, o in layers)

    def input_grads(layers, first: bool):
        return sum(2 * b * i * o for k, (i, o) in enumerate(layers) if first or k > 0)

    flops = (
        fwd(actor)
        + fwd(critic)  # TD target
        + fwd(critic)
        + fwd(critic)
        + input_grads(critic, first=False)  # critic step
        + fwd(actor)
        + fwd(critic)
        + input_grads(critic, first=True)  # actor step: dQ/da
        + fwd(actor)
        + input_grads(actor, first=False)  # ... and through the actor
    )
    size = 2048
    x, y = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        x @ y
    reps = 10
    start = time.perf_counter()
    for _ in range(reps):
        x @ y
    gflops = 2 * size**3 * reps / (time.perf_counter() - start) / 1e9
    return {"update_mflop": flops / 1e6, "matmul_gflops": gflops,
            "floor_ms": flops / (gflops * 1e9) * 1e3}  # fmt: skip


def _layer_shapes(in_dim: int, hidden: tuple[int, ...], out_dim: int) -> list[tuple[int, int]]:
    widths = [in_dim, *hidden, out_dim]
    return list(zip(widths[:-1], widths[1:]))


def env_steps_per_second(s: BenchSettings, steps: int = 5_000) -> float:
    env = make_env(s.env_id, seed=0)
    env.reset()
    actions = [env.action_space.sample() for _ in range(256)]
    start = time.perf_counter()
    for i in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[i % 256])
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def _random_batch(obs_dim: int, act_dim: int, batch_size: int) -> Batch:
    g = torch.Generator().manual_seed(0)
    return Batch(
        obs=torch.randn(batch_size, obs_dim, generator=g),
        actions=torch.rand(batch_size, act_dim, generator=g) * 2 - 1,
        rewards=torch.randn(batch_size, generator=g),
        next_obs=torch.randn(batch_size, obs_dim, generator=g),
        terminated=torch.zeros(batch_size),
    )


def _reference_update_fn(info, s: BenchSettings, batch: Batch):
    ref = _ReferenceDDPG(info.obs_dim, info.act_dim, info.action_low, info.action_high, s)
    rew, term = batch.rewards[:, None], batch.terminated[:, None]
    return lambda: ref.update(batch.obs, batch.actions, rew, batch.next_obs, term)


if __name__ == "__main__":  # one run for `run_in_fresh_process`: KIND SETTINGS_JSON
    import warnings

    warnings.filterwarnings("ignore")
    fields = json.loads(sys.argv[2])
    fields["hidden_sizes"] = tuple(fields["hidden_sizes"])
    print(json.dumps(timed_run(sys.argv[1], BenchSettings(**fields))))
