"""ASHA (hpo_sweeper/pruning/asha.py) on rung examples worked by hand with Optuna's documented rule:
with n values in a rung (the asking trial's included) a trial goes on if it is among the best
max(1, n // eta); a trial is judged at the first report at or after each rung step."""

from __future__ import annotations

import math

import pytest
from pruning_helpers import curves

from hpo_sweeper.pruning import AshaPruner, PrunerSettings, create_pruner


def asha(**kw: object) -> AshaPruner:
    pruner = create_pruner(PrunerSettings.from_mapping({"type": "asha", **kw}), kw.pop("direction", "minimize")
                           if "direction" in kw else "minimize")
    assert isinstance(pruner, AshaPruner)
    return pruner


# Six trials reach rung 1 (step 1) one after another (times 0..5), eta = 3.
RUNG1 = {0: 0.5, 1: 0.6, 2: 0.4, 3: 0.45, 4: 0.3, 5: 0.35}
# trial: values in the rung at its arrival -> best max(1, n // 3) -> decision
#   0: [.5]                 best 1 -> .5 goes on
#   1: [.5 .6]              best 1 (.5) -> .6 pruned
#   2: [.5 .6 .4]           best 1 (.4) -> goes on
#   3: [.5 .6 .4 .45]       best 1 (.4) -> .45 pruned
#   4: [... .3]             best 1 (.3) -> goes on
#   5: [... .3 .35] n = 6   best 2 (.3 .35) -> .35 goes on
EXPECTED_RUNG1 = {0: False, 1: True, 2: False, 3: True, 4: False, 5: False}


def rung1_curves() -> dict:
    return curves({t: [(1, v, float(t))] for t, v in RUNG1.items()})


def test_each_trial_is_judged_against_the_trials_that_reached_the_rung_before_it() -> None:
    pruner = asha()
    c = rung1_curves()
    assert {t: pruner.should_prune(c, t, 1) for t in RUNG1} == EXPECTED_RUNG1


def test_a_decision_does_not_change_when_later_trials_arrive() -> None:
    """Asynchronous: trial 1 was judged when it arrived; the sweeper replaying it later, with every
    file written since, reaches the same answer (the reports carry their times)."""
    pruner = asha()
    early = curves({0: [(1, 0.5, 0.0)], 1: [(1, 0.6, 1.0)]})
    late = rung1_curves()
    for t in (0, 1):
        assert pruner.should_prune(early, t, 1) == pruner.should_prune(late, t, 1) == EXPECTED_RUNG1[t]


def test_same_time_is_ordered_by_trial_number() -> None:
    c = curves({0: [(1, 0.6, 5.0)], 1: [(1, 0.5, 5.0)]})
    assert asha().should_prune(c, 0, 1) is False  # first by number: alone in the rung
    assert asha().should_prune(c, 1, 1) is False  # the better of two


def test_only_rung_steps_are_judged_and_a_skipped_rung_is_judged_at_the_next_report() -> None:
    c = curves({0: [(1, 0.1, 0.0), (2, 0.1, 1.0), (3, 0.1, 2.0)],
                1: [(1, 0.05, 3.0), (2, 0.9, 4.0), (4, 0.9, 5.0)]})
    pruner = asha()
    assert pruner.should_prune(c, 1, 2) is False   # step 2 is no rung (rungs 1, 3, 9, ...)
    assert pruner.should_prune(c, 1, 4) is True    # step 4 is its first report past rung 3: .9 vs .1
    assert pruner.should_prune(c, 1, 1) is False   # at rung 1 it was the better one


def test_nan_is_pruned_at_a_rung_only() -> None:
    c = curves({0: [(1, 0.5, 0.0)], 1: [(1, 0.4, 1.0), (2, math.nan, 2.0), (3, math.nan, 3.0)]})
    assert asha().should_prune(c, 1, 2) is False
    assert asha().should_prune(c, 1, 3) is True


def test_a_nan_entry_does_not_compete() -> None:
    c = curves({0: [(1, math.nan, 0.0)], 1: [(1, 0.9, 1.0)]})
    assert asha().should_prune(c, 1, 1) is False  # alone in the rung


def test_no_rung_at_or_beyond_max_resource() -> None:
    c = curves({0: [(3, 0.1, 0.0), (9, 0.1, 1.0)], 1: [(3, 0.05, 2.0), (9, 0.9, 3.0)]})
    assert asha().should_prune(c, 1, 9) is True
    assert asha(max_resource=9).should_prune(c, 1, 9) is False  # step 9 is the full budget: no rung


def test_min_resource_and_min_early_stopping_rate_place_the_rungs() -> None:
    c = curves({0: [(2, 0.1, 0.0), (6, 0.1, 1.0)], 1: [(2, 0.9, 2.0), (6, 0.9, 3.0)]})
    assert asha(min_resource=2).should_prune(c, 1, 2) is True             # rungs 2, 6, 18
    assert asha(min_resource=2, min_early_stopping_rate=1).should_prune(c, 1, 2) is False  # rungs 6, 18
    assert asha(min_resource=2, min_early_stopping_rate=1).should_prune(c, 1, 6) is True


def test_maximize_mirrors_minimize() -> None:
    flipped = curves({t: [(1, -v, float(t))] for t, v in RUNG1.items()})
    pruner = create_pruner(PrunerSettings.from_mapping({"type": "asha"}), "maximize")
    assert {t: pruner.should_prune(flipped, t, 1) for t in RUNG1} == EXPECTED_RUNG1


@pytest.mark.parametrize("eta, expected", [(2, {0: False, 1: True, 2: False, 3: False}),
                                           (4, {0: False, 1: True, 2: False, 3: True})])
def test_reduction_factor_sets_the_share_that_goes_on(eta: int, expected: dict[int, bool]) -> None:
    # values .5 .6 .4 .45; eta 2: trial 3 sees n=4 -> best 2 (.4 .45) -> goes on; eta 4 -> best 1 -> pruned
    c = curves({t: [(1, v, float(t))] for t, v in list(RUNG1.items())[:4]})
    pruner = asha(reduction_factor=eta)
    assert {t: pruner.should_prune(c, t, 1) for t in expected} == expected


def test_unknown_trial_or_step_is_never_pruned() -> None:
    c = rung1_curves()
    assert asha().should_prune(c, 99, 1) is False
    assert asha().should_prune(c, 1, 7) is False
