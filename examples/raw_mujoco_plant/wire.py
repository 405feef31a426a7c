"""What the plant and the controller processes send each other, over Zenoh on loopback.

Two key expressions under one prefix (`ddpg_robot/halfcheetah` by default):
`<prefix>/observation`, published by the plant, and `<prefix>/action`, by the controller.

observation: little-endian uint64 seq, float64 send time (time.monotonic, seconds: the
same clock in every process of one host), then obs_dim float64 (the plant's own numbers,
unrounded; seqs start at 1). action: uint64 seq of the observation it answers (0 for an
action sent without one, from tick()), uint8 kind (POLICY, HOLD or SAFE), then act_dim
float32 (what Controller returns, bit for bit).

Sessions are explicit about where they talk: the controller listens on one TCP endpoint,
the plant connects to it, and Zenoh's multicast scouting and gossip are off, so nothing is
sent anywhere but the endpoints named (127.0.0.1 by default).
"""

from __future__ import annotations

import json
import queue
import struct

import numpy as np
import zenoh

DEFAULT_ENDPOINT = "tcp/127.0.0.1:7447"
DEFAULT_PREFIX = "ddpg_robot/halfcheetah"
OBS_HEADER = struct.Struct("<Qd")
ACTION_HEADER = struct.Struct("<QB")
POLICY, HOLD, SAFE = 0, 1, 2
"""Action kinds: the policy's action for the observation answered; the last action again
(tick() within the watchdog's timeout); the safe action (an observation that came late or
held NaN, a tick() past the timeout, or one before any observation)."""
NO_OBSERVATION = 0
"""The seq of an action sent without an observation to answer (a tick)."""
KIND_NAMES = {POLICY: "policy", HOLD: "hold", SAFE: "safe"}


def encode_observation(seq: int, sent: float, obs: np.ndarray) -> bytes:
    return OBS_HEADER.pack(seq, sent) + np.asarray(obs, dtype="<f8").tobytes()


def decode_observation(payload: bytes, obs_dim: int) -> tuple[int, float, np.ndarray] | None:
    """(seq, send time, obs), or None for a message of the wrong size."""
    if len(payload) != OBS_HEADER.size + 8 * obs_dim:
        return None
    seq, sent = OBS_HEADER.unpack_from(payload)
    return seq, sent, np.frombuffer(payload, dtype="<f8", offset=OBS_HEADER.size)


def encode_action(seq: int, kind: int, action: np.ndarray) -> bytes:
    return ACTION_HEADER.pack(seq, kind) + np.asarray(action, dtype="<f4").tobytes()


def decode_action(payload: bytes, act_dim: int) -> tuple[int, int, np.ndarray] | None:
    """(seq answered, kind, action), or None for a message of the wrong size."""
    if len(payload) != ACTION_HEADER.size + 4 * act_dim:
        return None
    seq, kind = ACTION_HEADER.unpack_from(payload)
    action = np.frombuffer(payload, dtype="<f4", offset=ACTION_HEADER.size)
    return seq, kind, action.astype(np.float32)


def open_session(*, listen: str | None = None, connect: str | None = None) -> zenoh.Session:
    """A peer that listens on `listen`, or a client that connects to `connect`; no scouting."""
    config = zenoh.Config()
    if listen is not None:
        config.insert_json5("mode", '"peer"')
        config.insert_json5("listen/endpoints", json.dumps([listen]))
    else:
        config.insert_json5("mode", '"client"')
        config.insert_json5("connect/endpoints", json.dumps([connect or DEFAULT_ENDPOINT]))
    config.insert_json5("scouting/multicast/enabled", "false")
    config.insert_json5("scouting/gossip/enabled", "false")
    return zenoh.open(config)


def publisher(session: zenoh.Session, key: str) -> zenoh.Publisher:
    """Express (unbatched) publication: each message leaves at once, for latency."""
    return session.declare_publisher(key, express=True)


def inbox(session: zenoh.Session, key: str) -> tuple[zenoh.Subscriber, queue.Queue]:
    """Subscribe to `key`; payloads land as bytes in the returned queue (get() with a
    timeout is how a loop waits for the next message without blocking forever)."""
    received: queue.Queue = queue.Queue()
    subscriber = session.declare_subscriber(key, lambda sample: received.put(
        sample.payload.to_bytes()))  # fmt: skip
    return subscriber, received
