"""Running the DDPG update as one compiled graph (`torch.compile`), kept apart from the math.

The learner's update is ordinary eager torch code (ddpg_robot/learner.py). On a CPU most
of its time is Python dispatch between ~45 small kernels, so tracing the whole update,
backward passes and Adam steps included, into one graph of fused kernels makes it faster
(docs/benchmarks.md). Three things make that possible, and they live here:

- gradients come from `torch.autograd.grad`, which Dynamo traces into the graph when
  `trace_autograd_ops` is on (`.backward()` and `Optimizer.step` would break it);
- Adam runs as torch's functional Adam on the state the `torch.optim.Adam` objects hold
  (`adam_step`): fused kernel eagerly, capturable foreach form under the compiler;
- the first call compiles (seconds); should compiling fail (no C++ compiler, say), the
  learner's state is put back as it was and the update runs eagerly from then on.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.adam import adam as functional_adam

INDUCTOR_OPTIONS = {"cpp.vec_isa_ok": True, "cpp_wrapper": True, "size_asserts": False}
"""`cpp.vec_isa_ok`: trust the CPU's own flags for the SIMD level instead of proving each
level with a test build loaded in a child process (seconds in every new process); a compiler
that cannot build the level still fails into the eager fallback. `cpp_wrapper`,
`size_asserts`: the update's kernel and matmul calls are made from C++, not Python, without
re-checking the shapes the graph was compiled for (docs/benchmarks.md)."""


class CompiledStep:
    """`step(*args)` through `torch.compile`, with the first call's fallback to eager.

    `state_dict` / `load_state_dict` are the owner's: what a failed first call may have
    half-updated is restored from a copy taken before it.
    """

    def __init__(
        self,
        step: Callable[..., Any],
        *,
        state_dict: Callable[[], dict[str, Any]],
        load_state_dict: Callable[[dict[str, Any]], None],
    ) -> None:
        # Dynamo guards on each optimiser's identity: a new learner would recompile next to
        # the old one's graphs until the recompile limit silently turns it eager.
        torch._dynamo.reset()
        self._eager = step
        self._compiled: Callable[..., Any] | None = torch.compile(
            step, dynamic=False, options=INDUCTOR_OPTIONS
        )
        self._state_dict, self._load_state_dict = state_dict, load_state_dict
        self.seconds: float | None = None  # wall time of the first, compiling call

    @property
    def active(self) -> bool:
        """False once a compilation has failed: calls then run eagerly."""
        return self._compiled is not None

    def __call__(self, *args: Any) -> Any:
        if self._compiled is None:
            return self._eager(*args)
        if self.seconds is None:
            return self._first_call(*args)
        with _tracing_autograd():
            return self._compiled(*args)

    def _first_call(self, *args: Any) -> Any:
        saved = copy.deepcopy(self._state_dict())
        started = time.perf_counter()
        try:
            with _tracing_autograd():
                result = self._compiled(*args)  # type: ignore[misc]
        except Exception as error:  # noqa: BLE001 - any compiler failure means: run eagerly
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            warnings.warn(
                f"torch.compile failed ({first_line[:200]}); training continues eagerly, "
                "slower per update (--no-compile, or compile=False, skips the attempt)",
                RuntimeWarning,
                stacklevel=4,
            )
            self._load_state_dict(saved)
            self._compiled = None
            return self._eager(*args)
        self.seconds = time.perf_counter() - started
        return result


def _tracing_autograd() -> Any:
    """Let Dynamo trace `torch.autograd.grad` into the compiled graph instead of breaking the
    graph there: with it the whole update is one graph."""
    return torch._dynamo.config.patch(trace_autograd_ops=True)


def make_adam(params: Iterable[torch.Tensor], lr: float) -> torch.optim.Adam:
    """A torch Adam that holds the hyperparameters and moment estimates (and so the
    checkpoint format); `adam_step` applies it. Its state is created here, in the layout
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


def optimized_params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The parameters `optimizer` steps, in its order."""
    return optimizer.param_groups[0]["params"]


@torch.no_grad()
def adam_step(optimizer: torch.optim.Adam, grads: tuple[torch.Tensor, ...]) -> None:
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
