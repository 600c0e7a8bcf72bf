"""The median rule (hpo_sweeper/pruning/median.py), worked by hand with Optuna's MedianPruner
semantics: the trial's best value so far against the median at exactly this step."""

from __future__ import annotations

import math

from pruning_helpers import curves

from hpo_sweeper.pruning import PrunerSettings, create_pruner


def median(**kw: object):
    return create_pruner(PrunerSettings.from_mapping({"type": "median", "n_startup_trials": 0, **kw}))


def test_worse_than_the_median_of_earlier_trials_at_the_same_step_is_pruned() -> None:
    c = curves({0: [(1, 0.7, 0.0), (2, 0.6, 1.0)], 1: [(1, 0.8, 2.0), (2, 0.7, 3.0)],
                2: [(1, 0.9, 4.0), (2, 0.8, 5.0)], 3: [(1, 0.85, 6.0), (2, 0.7, 7.0)]})
    p = median()
    assert p.should_prune(c, 3, 1) is True    # best .85 > median(.7 .8 .9) = .8
    assert p.should_prune(c, 3, 2) is False   # best .7 = median(.6 .7 .8): not worse
    assert p.should_prune(c, 1, 2) is True    # only trial 0 came before: .7 > .6
    assert p.should_prune(c, 0, 1) is False   # nobody before it (min_trials 1)


def test_best_value_so_far_is_what_is_compared() -> None:
    c = curves({0: [(1, 0.5, 0.0), (2, 0.5, 1.0)], 1: [(1, 0.2, 2.0), (2, 0.9, 3.0)]})
    assert median().should_prune(c, 1, 2) is False  # its best (.2) beats .5


def test_later_and_pruned_trials_are_not_reference() -> None:
    c = curves({0: [(1, 0.1, 5.0)], 1: [(1, 0.3, 1.0)], 2: [(1, 0.9, 0.0)], 3: [(1, 0.5, 2.0)]}, pruned={2: 0.5})
    # trial 3 at time 2: trial 1 (.3) is reference; trial 0 came later, trial 2 was pruned at time .5
    assert median().should_prune(c, 3, 1) is True
    assert median(min_trials=2).should_prune(c, 3, 1) is False  # one reference value only


def test_startup_trials_warmup_and_interval() -> None:
    c = curves({0: [(s, 0.1, float(s)) for s in range(1, 6)], 1: [(s, 0.9, 10.0 + s) for s in range(1, 6)]})
    assert median(n_startup_trials=2).should_prune(c, 1, 1) is False  # trial 1 < 2: never judged
    assert median(n_startup_trials=1).should_prune(c, 1, 1) is True
    assert median(warmup_steps=3).should_prune(c, 1, 2) is False
    assert median(warmup_steps=3).should_prune(c, 1, 3) is True
    # interval 2 after warm-up 1: judged at steps 1, 3, 5
    assert [median(warmup_steps=1, interval_steps=2).should_prune(c, 1, s) for s in range(1, 6)] == [
        True, False, True, False, True]


def test_a_trial_that_skips_the_judging_step_is_judged_at_its_next_report() -> None:
    c = curves({0: [(2, 0.1, 0.0), (3, 0.1, 1.0)], 1: [(1, 0.9, 2.0), (3, 0.9, 3.0)]})
    # interval 2, no warm-up: judging steps 0, 2, 4; trial 1 jumps from 1 to 3, past step 2
    # (no value of others at step 3 other than trial 0's)
    assert median(interval_steps=2).should_prune(c, 1, 3) is True


def test_all_nan_so_far_is_pruned_and_nan_reference_values_are_ignored() -> None:
    c = curves({0: [(1, math.nan, 0.0)], 1: [(1, math.nan, 1.0)], 2: [(1, 0.4, 2.0)]})
    assert median().should_prune(c, 1, 1) is True
    assert median().should_prune(c, 2, 1) is False  # trial 0's NaN is no reference: none left


def test_maximize() -> None:
    c = curves({0: [(1, 0.9, 0.0)], 1: [(1, 0.5, 1.0)]})
    p = create_pruner(PrunerSettings.from_mapping({"type": "median", "n_startup_trials": 0}), "maximize")
    assert p.should_prune(c, 1, 1) is True
