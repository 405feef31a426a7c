"""User-facing errors: each one carries a single line saying what was wrong and what to do.

The CLI prints these without a traceback; anything else that escapes is a bug.
"""


class DDPGRobotError(Exception):
    """Base class for errors caused by the user's input, not by a bug in ddpg-robot."""


class ConfigError(DDPGRobotError, ValueError):
    """A hyperparameter or config file is invalid."""


class EnvError(DDPGRobotError, ValueError):
    """An environment id is unknown, or its spaces are ones DDPG cannot handle."""
