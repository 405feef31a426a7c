"""Config: presets by env family, override order, and validation with the flag's name."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ddpg_robot.config import PRESETS, TrainConfig, env_family, resolve_config
from ddpg_robot.errors import ConfigError


def test_defaults_are_ou_and_tanh() -> None:
    config = resolve_config("Ant-v4")
    assert config.noise == "ou" and config.action_bound == "tanh"
    assert config.hidden_sizes == (256, 256)


@pytest.mark.parametrize("env_id", ["InvertedPendulum-v4", "InvertedPendulum-v5"])
def test_presets_apply_to_every_version(env_id: str) -> None:
    config = resolve_config(env_id)
    assert config.lr_actor == PRESETS["InvertedPendulum"]["lr_actor"]
    assert config.total_steps == PRESETS["InvertedPendulum"]["total_steps"]


@pytest.mark.parametrize("env_id", ["Hopper-v4", "Walker2d-v5", "Ant-v4"])
def test_locomotion_presets_use_three_step_returns_and_nothing_else(env_id: str) -> None:
    config = resolve_config(env_id)
    assert config.n_step == 3
    generic = dataclasses.replace(TrainConfig(), env_id=env_id, n_step=3)
    assert config == generic


def test_unknown_env_gets_generic_defaults() -> None:
    assert resolve_config("Pendulum-v1").lr_actor == TrainConfig().lr_actor


def test_overrides_beat_presets_and_hidden_sizes_parse() -> None:
    config = resolve_config("InvertedPendulum-v4", {"lr_actor": 5e-4, "hidden_sizes": "64, 64"})
    assert config.lr_actor == 5e-4 and config.hidden_sizes == (64, 64)
    json.dumps(config.to_dict())  # config.json must be writable


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"total_steps": 0}, "--total-steps must be a positive integer"),
        ({"batch_size": -1}, "--batch-size must be a positive integer"),
        ({"learning_starts": -5}, "--learning-starts must be an integer >= 0"),
        ({"tau": 0.0}, "--tau must be in"),
        ({"gamma": 1.0}, "--gamma must be in"),
        ({"lr_actor": float("nan")}, "--lr-actor must be a positive number"),
        ({"hidden_sizes": "256,x"}, "--hidden-sizes must look like 256,256"),
        ({"hidden_sizes": "0,5"}, "--hidden-sizes must be positive"),
        ({"noise": "pink"}, "--noise must be one of ou, gaussian, none"),
        ({"device": "tpu"}, "--device must be one of"),
        ({"compile": "yes"}, "compile must be true or false"),
        ({"twin_critics": 1}, "twin_critics must be true or false"),
        ({"policy_delay": 0}, "--policy-delay must be a positive integer"),
        ({"target_noise": -0.1}, "--target-noise must be >= 0"),
        ({"target_noise_clip": 0.0}, "--target-noise-clip must be a positive number"),
        ({"learning_rate": 1e-3}, "unknown setting"),
        ({"env_kwargs": "{xml_file: 1}"}, "--env-kwargs must be a JSON object"),
        ({"env_kwargs": "[1, 2]"}, "--env-kwargs must be a JSON object"),
        ({"env_kwargs": '{"1x": 2}'}, "'1x' is not a keyword argument name"),
        ({"env_kwargs": {"f": float("nan")}}, "value of f .* cannot be stored as JSON"),
    ],
)
def test_invalid_values_name_the_flag(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config("HalfCheetah-v4", overrides)


def test_env_kwargs_from_json_text_or_a_toml_table(tmp_path) -> None:
    """On the command line a JSON object; in a config file a table; config.json holds it."""
    from ddpg_robot.config import load_config_file

    config = resolve_config("HalfCheetah-v4", {"env_kwargs": '{"xml_file": "a.xml", "n": 2}'})
    assert config.env_kwargs == {"xml_file": "a.xml", "n": 2}
    assert json.loads(json.dumps(config.to_dict()))["env_kwargs"] == config.env_kwargs
    (tmp_path / "c.toml").write_text('env-kwargs = { xml_file = "a.xml" }\n')
    assert load_config_file(tmp_path / "c.toml") == {"env_kwargs": {"xml_file": "a.xml"}}
    assert TrainConfig().env_kwargs == {}


def test_env_family_strips_version_and_namespace() -> None:
    assert env_family("HalfCheetah-v4") == "HalfCheetah"
    assert env_family("gymnasium/Hopper-v5") == "Hopper"
