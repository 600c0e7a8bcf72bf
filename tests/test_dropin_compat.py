"""hpo_sweeper.compat: every key of the Optuna, Nevergrad, Ax and basic sweepers, table-tested."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from hpo_sweeper.compat import CompatError, translate
from hpo_sweeper.compat.optuna import SAMPLERS
from hydra_plugins.hpo_sweeper_plugin.config import OPTUNA_SAMPLER_CONFS, SWEEPER_CONFS


def defaults(kind: str) -> dict[str, Any]:
    return dataclasses.asdict(SWEEPER_CONFS[kind]())


def run(kind: str, **settings: Any) -> tuple[dict[str, Any], str, str]:
    """(our settings, info lines, warning lines) for the defaults of ``kind`` plus ``settings``."""
    t = translate(kind, {**defaults(kind), **settings}, defaults(kind))
    infos = "\n".join(m.text for m in t.messages if m.level == "info")
    warnings = "\n".join(m.text for m in t.messages if m.level == "warning")
    return t.settings, infos, warnings


FOREIGN_KEYS = ("study_name", "n_jobs", "custom_search_space", "search_space", "max_batch_size", "optim",
                "parametrization", "ax_config", "experiment_sequence")

TPE = {"_target_": "optuna.samplers.TPESampler", "seed": 7, "n_startup_trials": 4}


@pytest.mark.parametrize("kind, given, expected", [
    # hydra-optuna-sweeper
    ("bayes", {"sampler": TPE}, {"seed": 7, "n_initial_points": 4}),
    ("random", {"sampler": TPE}, {"seed": 7, "sampler": "random"}),
    ("grid", {"sampler": TPE}, {}),
    ("bayes", {"sampler": {"_target_": "optuna.samplers.GPSampler", "n_startup_trials": 6}}, {"n_initial_points": 6}),
    ("random", {"sampler": {"_target_": "optuna.samplers.QMCSampler", "qmc_type": "halton", "seed": 1}},
     {"sampler": "halton", "seed": 1}),
    ("bayes", {"sampler": {"_target_": "optuna.samplers.QMCSampler", "qmc_type": "halton"}},
     {"initial_design": "halton"}),
    ("random", {"sampler": {"_target_": "optuna.samplers.RandomSampler", "seed": 3}}, {"seed": 3}),
    ("grid", {"sampler": {"_target_": "optuna.samplers.GridSampler", "_partial_": True}}, {}),
    ("random", {"sampler": "sobol"}, {"sampler": "sobol"}),  # random's own setting, not Optuna's
    ("bayes", {"study_name": "sphere"}, {"name": "sphere"}),
    ("bayes", {"n_jobs": 4}, {"batch_size": 4}),
    ("bayes", {"storage": "sqlite:///example.db"}, {"storage": "example.db"}),
    ("bayes", {"storage": "sqlite:////tmp/abs.db"}, {"storage": "/tmp/abs.db"}),
    ("bayes", {"storage": "plain/path.db"}, {"storage": "plain/path.db"}),
    ("bayes", {"search_space": {"x": "interval(0, 1)"}}, {"params": {"x": "interval(0, 1)"}}),
    ("bayes", {"direction": ["maximize"]}, {"direction": "maximize"}),
    ("random", {"direction": ["minimize", "maximize"]}, {"direction": ["minimize", "maximize"]}),  # passes through
    ("bayes", {"max_failure_rate": 0.0, "n_trials": 7}, {"max_failure_rate": 0.0, "n_trials": 7}),
    # Hydra's basic sweeper (and hydra-ax-sweeper)
    ("grid", {"max_batch_size": 2}, {"batch_size": 2}),
    # hydra-nevergrad-sweeper
    ("bayes", {"optim": {"optimizer": "OnePlusOne", "budget": 30, "num_workers": 3, "maximize": True, "seed": 5,
                         "max_failure_rate": 0.2}},
     {"n_trials": 30, "batch_size": 3, "direction": "maximize", "seed": 5, "max_failure_rate": 0.2}),
    ("random", {"parametrization": {"x": [1, 2]}}, {"params": {"x": [1, 2]}}),
    ("random", {"optim": {}, "params": {"a": {"lower": 0, "upper": 2}, "b": {"lower": 1, "upper": 9, "integer": True,
                                                                             "log": True}, "c": "choice(x, y)"}},
     {"params": {"a": {"type": "float", "low": 0, "high": 2, "log": False},
                 "b": {"type": "int", "low": 1, "high": 9, "log": True}, "c": "choice(x, y)"}}),
    ("random", {"optim": {}, "params": {"lr": {"init": 0.02, "step": 2.0, "log": True}}},
     {"params": {"lr": {"type": "float", "low": 0.0025, "high": 0.16, "log": True}}}),
    ("random", {"optim": {}, "params": {"u": {"init": 1.0}}},
     {"params": {"u": {"type": "float", "low": -2.0, "high": 4.0, "log": False}}}),
    # hydra-ax-sweeper
    ("bayes", {"ax_config": {
        "max_trials": 12, "experiment": {"name": "banana", "minimize": False, "objective_name": "loss"},
        "early_stop": {"max_epochs_without_improvement": 4, "epsilon": 0.01, "minimize": False},
        "client": {"random_seed": 9, "verbose_logging": False}, "is_noisy": True,
        "params": {"x": {"type": "range", "bounds": [-5, 5]}, "y": {"type": "range", "bounds": [0.1, 10.0],
                                                                      "log_scale": True},
                   "c": {"type": "choice", "values": ["a", "b"]}, "f": {"type": "fixed", "value": 3}}}},
     {"n_trials": 12, "name": "banana", "direction": "maximize", "objective": "loss", "seed": 9,
      "early_stop": {"patience": 4, "min_delta": 0.01, "target": None},
      "params": {"x": {"type": "int", "low": -5, "high": 5, "log": False},
                 "y": {"type": "float", "low": 0.1, "high": 10.0, "log": True},
                 "c": {"type": "categorical", "choices": ["a", "b"]}, "f": 3}}),
])
def test_each_foreign_key_maps_to_ours(kind: str, given: dict[str, Any], expected: dict[str, Any]) -> None:
    ours, infos, warnings = run(kind, **given)
    for key, value in expected.items():
        assert ours[key] == value, key
    assert not set(FOREIGN_KEYS) & set(ours)  # every foreign key is gone: none reaches the optimiser
    if kind != "random":
        assert "sampler" not in ours
    foreign = set(given) & set(FOREIGN_KEYS) or isinstance(given.get("sampler"), dict) or isinstance(
        given.get("direction"), list) or "://" in str(given.get("storage"))
    if foreign:
        assert infos or warnings  # each mapping is said in the log


@pytest.mark.parametrize("kind, given, fragment", [
    ("bayes", {"sampler": {**TPE, "multivariate": True}}, "sampler.multivariate=True (TPESampler) has no equivalent"),
    ("bayes", {"sampler": {"_target_": "optuna.samplers.CmaEsSampler", "sigma0": 0.3}}, "sampler.sigma0=0.3"),
    ("bayes", {"sampler": {"_target_": "my.own.Sampler", "seed": 1}}, "'my.own.Sampler' is not an Optuna sampler"),
    ("bayes", {"search_space": {"x": "interval(0, 1)"}}, "search_space is deprecated"),
    ("bayes", {"optim": {"noisy": True}}, "optim.noisy=True has no equivalent"),
    ("bayes", {"optim": {"budget": 3, "unknown_knob": 1}}, "optim.unknown_knob=1 has no equivalent"),
    ("bayes", {"ax_config": {"experiment": {"parameter_constraints": ["x + y <= 1"]}}},
     "ax_config.experiment.parameter_constraints"),
    ("bayes", {"ax_config": {"client": {"verbose_logging": True}}}, "ax_config.client.verbose_logging=True"),
    ("bayes", {"n_jobs": 2, "batch_size": 3}, "n_jobs=2 and batch_size=3 are both set: using batch_size=3"),
    ("random", {"optim": {}, "params": {"lr": {"init": 0.02, "log": True}}}, "parameter 'lr'"),
])
def test_an_option_without_equivalent_is_a_warning_naming_it(kind: str, given: dict[str, Any], fragment: str) -> None:
    _, _, warnings = run(kind, **given)
    assert fragment in warnings


@pytest.mark.parametrize("kind, given, fragment", [
    ("bayes", {"custom_search_space": "objective.configure"}, "custom_search_space='objective.configure'"),
    ("bayes", {"experiment_sequence": "my.Sequence"}, "experiment_sequence='my.Sequence'"),
    ("bayes", {"storage": "postgresql://host/db"}, "only SQLite files are supported"),
    ("bayes", {"search_space": {"x": "interval(0, 1)"}, "params": {"y": "interval(0, 1)"}},
     "both params and search_space"),
    ("bayes", {"sampler": "sobol"}, "sampler='sobol' is a setting of hydra/sweeper=random"),
    ("random", {"optim": {}, "params": {"lr": {"log": True}}}, "give lower and upper (or init)"),
    ("bayes", {"ax_config": {"params": {"x": {"type": "range", "bounds": [1]}}}}, "bounds: [low, high]"),
    ("bayes", {"ax_config": {"params": {"x": {"type": "choice"}}}}, "a choice parameter needs a list of values"),
])
def test_what_cannot_be_honoured_is_a_clear_error(kind: str, given: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CompatError) as e:
        run(kind, **given)
    assert fragment in str(e.value)


def test_the_range_end_is_said_once_where_a_config_carries_optuna_keys() -> None:
    _, infos, _ = run("bayes", study_name="s", params={"x": "range(0, 5)", "y": "range(1, 3)"})
    assert infos.count("range(a, b) excludes b here") == 1
    _, infos, _ = run("bayes", params={"x": "range(0, 5)"})  # our own config: nothing to say
    assert "range(a, b)" not in infos


def test_our_settings_pass_untouched() -> None:
    for kind in ("grid", "random", "bayes"):
        ours, infos, warnings = run(kind)
        expected = {k: v for k, v in defaults(kind).items() if k not in FOREIGN_KEYS and k != "sampler"}
        assert {k: v for k, v in ours.items() if k != "sampler"} == expected
        assert not infos and not warnings


@pytest.mark.parametrize("option", sorted(OPTUNA_SAMPLER_CONFS))
def test_the_sampler_group_matches_the_mapping_table(option: str) -> None:
    """Each hydra/sweeper/sampler option, at its defaults, is known to the mapping and asks for
    nothing without an equivalent (no warning from the group's own defaults)."""
    node = dataclasses.asdict(OPTUNA_SAMPLER_CONFS[option]())
    name = node["_target_"].rsplit(".", 1)[-1]
    assert name in SAMPLERS
    for kind in ("grid", "random", "bayes"):
        _, _, warnings = run(kind, sampler=node)
        assert not warnings, (kind, warnings)
