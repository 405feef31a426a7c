"""Replay buffer: ring wraparound, sampling only written slots, dtypes, shapes, memory warning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ddpg_robot.buffer import BufferMemoryWarning, ReplayBuffer


def _fill(buffer: ReplayBuffer, start: int, count: int) -> None:
    """Transition i carries the value i everywhere, so a sample reveals its slot's history."""
    for i in range(start, start + count):
        buffer.add(
            obs=np.full(buffer.obs_dim, i),
            action=np.full(buffer.act_dim, i),
            reward=float(i),
            next_obs=np.full(buffer.obs_dim, i + 0.5),
            terminated=i % 2 == 0,
        )


def test_dtypes_and_shapes() -> None:
    buffer = ReplayBuffer(10, obs_dim=4, act_dim=2, seed=0)
    _fill(buffer, 0, 5)
    batch = buffer.sample(7)
    assert batch.obs.shape == (7, 4) and batch.next_obs.shape == (7, 4)
    assert batch.actions.shape == (7, 2)
    assert batch.rewards.shape == (7,) and batch.terminated.shape == (7,)
    for tensor in batch:
        assert tensor.dtype == torch.float32
    for array in (buffer.obs, buffer.actions, buffer.rewards, buffer.next_obs, buffer.terminated):
        assert array.dtype == np.float32


def test_samples_only_written_slots() -> None:
    buffer = ReplayBuffer(1_000, obs_dim=3, act_dim=1, seed=0)
    _fill(buffer, 1, 10)  # values 1..10 in slots 0..9; the other 990 slots are zeros
    batch = buffer.sample(5_000)
    rewards = batch.rewards.numpy()
    assert rewards.min() >= 1 and rewards.max() <= 10
    assert set(np.unique(rewards)) == set(range(1, 11))  # and every written slot is reachable
    # Each row is one consistent transition.
    np.testing.assert_array_equal(batch.obs[:, 0].numpy(), rewards)
    np.testing.assert_array_equal(batch.next_obs[:, 0].numpy(), rewards + 0.5)
    np.testing.assert_array_equal(batch.terminated.numpy(), (rewards % 2 == 0).astype(np.float32))


def test_wraparound_overwrites_the_oldest() -> None:
    buffer = ReplayBuffer(5, obs_dim=2, act_dim=1, seed=0)
    _fill(buffer, 0, 5)
    assert len(buffer) == 5 and buffer.pos == 0
    _fill(buffer, 5, 3)  # 5, 6, 7 overwrite slots 0, 1, 2
    assert len(buffer) == 5 and buffer.pos == 3
    np.testing.assert_array_equal(buffer.rewards, [5, 6, 7, 3, 4])
    sampled = set(np.unique(buffer.sample(2_000).rewards.numpy()))
    assert sampled == {3, 4, 5, 6, 7}


def test_terminated_is_stored_not_done() -> None:
    buffer = ReplayBuffer(4, obs_dim=1, act_dim=1, seed=0)
    buffer.add(np.zeros(1), np.zeros(1), 1.0, np.zeros(1), terminated=False)  # e.g. truncated
    buffer.add(np.zeros(1), np.zeros(1), 1.0, np.zeros(1), terminated=True)
    np.testing.assert_array_equal(buffer.terminated[:2], [0.0, 1.0])


def test_same_seed_same_samples_and_state_round_trip() -> None:
    a, b = ReplayBuffer(50, 2, 1, seed=3), ReplayBuffer(50, 2, 1, seed=3)
    _fill(a, 0, 30)
    _fill(b, 0, 30)
    torch.testing.assert_close(a.sample(16).rewards, b.sample(16).rewards, rtol=0, atol=0)

    state = a.state_dict()
    c = ReplayBuffer(50, 2, 1, seed=0)
    c.load_state_dict(state)
    assert (len(c), c.pos) == (len(a), a.pos)
    torch.testing.assert_close(c.sample(16).obs, a.sample(16).obs, rtol=0, atol=0)


def test_empty_buffer_refuses_to_sample() -> None:
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, 1, 1).sample(1)


def test_warns_when_capacity_exceeds_free_memory() -> None:
    # 10^12 transitions of 6 floats would need ~24 TB; np.zeros maps pages lazily, but the
    # arrays' address space would still fail, so only the warning path is exercised here.
    needed = ReplayBuffer.nbytes_for(10**12, 1, 1)
    assert needed == 4 * 10**12 * 6  # obs, action, reward, next_obs, terminated, steps
    with pytest.warns(BufferMemoryWarning, match="lower --buffer-size"):
        try:
            ReplayBuffer(10**12, obs_dim=1, act_dim=1)
        except (MemoryError, ValueError):
            pass


def test_no_warning_for_a_normal_capacity(recwarn: pytest.WarningsRecorder) -> None:
    ReplayBuffer(1_000_000, obs_dim=17, act_dim=6)
    assert not [w for w in recwarn if issubclass(w.category, BufferMemoryWarning)]
