"""Pruner settings are checked up front, and every error names the setting."""

from __future__ import annotations

import pytest

from hpo_sweeper.pruning import PrunerKind, PrunerSettings
from hpo_sweeper.validation import SettingError


def test_defaults_follow_optuna() -> None:
    s = PrunerSettings.from_mapping({})
    assert (s.type, s.min_resource, s.max_resource, s.reduction_factor) == (PrunerKind.NONE, 1, None, 3)
    assert (s.warmup_steps, s.n_startup_trials, s.min_trials, s.interval_steps) == (0, 5, 1, 1)


@pytest.mark.parametrize("raw, message", [
    ({"type": "asha2"}, "pruner.type must be one of ['none', 'median', 'asha', 'hyperband'], got 'asha2'"),
    ({"type": None}, "pruner.type must be one of"),
    ({"reduction_factor": 1}, "pruner.reduction_factor must be an integer >= 2, got 1"),
    ({"reduction_factor": 2.5}, "pruner.reduction_factor must be an integer >= 2, got 2.5"),
    ({"min_resource": 0}, "pruner.min_resource must be an integer >= 1, got 0"),
    ({"min_resource": True}, "pruner.min_resource must be an integer >= 1, got True"),
    ({"max_resource": "auto"}, "pruner.max_resource must be an integer >= 1 or null, got 'auto'"),
    ({"min_resource": 3, "max_resource": 3}, "pruner.max_resource must be greater than pruner.min_resource (3), got 3"),
    ({"warmup_steps": -1}, "pruner.warmup_steps must be an integer >= 0, got -1"),
    ({"n_startup_trials": "5"}, "pruner.n_startup_trials must be an integer >= 0, got '5'"),
    ({"min_trials": 0}, "pruner.min_trials must be an integer >= 1, got 0"),
    ({"interval_steps": 0}, "pruner.interval_steps must be an integer >= 1, got 0"),
    ({"min_early_stopping_rate": -1}, "pruner.min_early_stopping_rate must be an integer >= 0, got -1"),
    ({"eta": 3}, "pruner has no setting eta; known:"),
])
def test_bad_setting_is_a_named_error(raw: dict, message: str) -> None:
    with pytest.raises(SettingError) as e:
        PrunerSettings.from_mapping(raw)
    assert str(e.value).startswith(message)


def test_round_trip_through_a_plain_dict() -> None:
    s = PrunerSettings.from_mapping({"type": "hyperband", "max_resource": 81, "reduction_factor": 4})
    assert PrunerSettings.from_mapping(s.to_dict()) == s
