"""Settings are defined once: the ConfigStore dataclasses of the Hydra adapter must have the
names and defaults of the library's (``SweepSettings``, ``EarlyStop``, the optimisers' options)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from hpo_sweeper.optimizers.factory import option_defaults
from hpo_sweeper.settings import KIND_DEFAULTS, EarlyStop, SweepConfigError, SweepSettings
from hydra_plugins.hpo_sweeper_plugin.config import SWEEPER_CONFS, EarlyStopConf

#: Fields of the config that are Hydra's own, and the keys of other sweepers that
#: hpo_sweeper.compat maps (``sampler`` is also random's own option).
HYDRA_FIELDS = {"_target_", "_recursive_", "defaults", "params"}
FOREIGN_FIELDS = {"sampler", "study_name", "n_jobs", "custom_search_space", "search_space", "max_batch_size",
                  "optim", "parametrization", "ax_config", "experiment_sequence"}
#: The config's name of an optimiser option, where it differs.
CONFIG_NAMES = {"engine_options": "engine"}


def defaults_of(conf: Any) -> dict[str, Any]:
    return {f.name: getattr(conf(), f.name) for f in dataclasses.fields(conf)}


@pytest.mark.parametrize("kind", sorted(SWEEPER_CONFS))
def test_config_fields_are_the_library_settings_and_options(kind: str) -> None:
    conf = defaults_of(SWEEPER_CONFS[kind])
    options = {CONFIG_NAMES.get(k, k): v for k, v in option_defaults(kind).items() if k not in ("direction", "n_trials")}
    ours = set(conf) - HYDRA_FIELDS - (FOREIGN_FIELDS - set(options))
    assert ours == SweepSettings.field_names() | set(options)


@pytest.mark.parametrize("kind", sorted(SWEEPER_CONFS))
def test_config_defaults_are_the_library_defaults(kind: str) -> None:
    conf = defaults_of(SWEEPER_CONFS[kind])
    library = dataclasses.asdict(SweepSettings(**KIND_DEFAULTS.get(kind, {})))
    for name, default in library.items():
        got = conf[name]
        if dataclasses.is_dataclass(got):
            got = dataclasses.asdict(got)
        assert got == default, f"{kind}: {name} defaults to {got!r} in config.py, {default!r} in SweepSettings"
    for name, default in option_defaults(kind).items():
        if name in ("direction", "n_trials"):
            continue
        got = conf[CONFIG_NAMES.get(name, name)]
        # engine: {} in the config is the optimiser's engine_options=None (no engine options).
        assert got == default or (got == {} and default is None), f"{kind}: option {name}: {got!r} != {default!r}"


def test_early_stop_conf_matches() -> None:
    assert dataclasses.asdict(EarlyStopConf()) == dataclasses.asdict(EarlyStop())


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"n_trials": 0}, "n_trials must be an integer >= 1 or null, got 0"),
        ({"batch_size": True}, "batch_size must be an integer >= 1 or null, got True"),
        ({"max_reruns": -1}, "max_reruns must be an integer >= 0, got -1"),
        ({"plots": "yes"}, "plots must be true or false, got 'yes'"),
        ({"warm_start": "a.db"}, "warm_start must be a list of paths, got 'a.db'"),
        ({"early_stop": {"patient": 3}}, "early_stop has no setting patient"),
        ({"early_stop": 5}, "early_stop must be a mapping"),
        ({"objective": "a..b"}, "objective must be null or a dotted key"),
    ],
)
def test_each_bad_setting_is_named(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(SweepConfigError) as info:
        SweepSettings(**kwargs)
    assert words in str(info.value)
