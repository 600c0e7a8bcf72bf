"""Hyperband (hpo_sweeper/pruning/hyperband.py): bracket counts and shares as in the paper and
Optuna's HyperbandPruner, a deterministic bracket per trial number, competition inside a bracket."""

from __future__ import annotations

from collections import Counter

import pytest
from pruning_helpers import curves

from hpo_sweeper.pruning import HyperbandPruner, PrunerSettings, create_pruner
from hpo_sweeper.pruning.hyperband import bracket_of, bracket_shares, n_brackets


@pytest.mark.parametrize("r, R, eta, n", [(1, 27, 3, 4), (1, 81, 3, 5), (1, 26, 3, 3), (2, 27, 3, 3),
                                          (1, 100, 4, 4), (1, 2, 3, 1)])
def test_number_of_brackets_is_floor_log_eta_of_R_over_r_plus_one(r: int, R: int, eta: int, n: int) -> None:
    assert n_brackets(r, R, eta) == n


def test_bracket_shares_are_optunas_budgets() -> None:
    # Optuna _calculate_trial_allocation_budget: ceil(n * eta**s / (s + 1)), s = n - 1 - i
    assert bracket_shares(4, 3) == [27, 12, 6, 4]
    assert bracket_shares(5, 3) == [81, 34, 15, 8, 5]  # ceil(5*81/5), ceil(5*27/4), ceil(5*9/3), ...


def test_every_run_of_W_trial_numbers_fills_each_bracket_with_its_share_interleaved() -> None:
    shares = bracket_shares(4, 3)
    total = sum(shares)
    for start in (0, 7, 1000):
        counts = Counter(bracket_of(t, 4, 3) for t in range(start, start + total))
        assert [counts[i] for i in range(4)] == shares
    assert len({bracket_of(t, 4, 3) for t in range(12)}) >= 3  # not in blocks of one bracket
    assert [bracket_of(t, 4, 3) for t in range(20)] == [bracket_of(t, 4, 3) for t in range(20)]


def hyperband(**kw: object) -> HyperbandPruner:
    pruner = create_pruner(PrunerSettings.from_mapping({"type": "hyperband", **kw}))
    assert isinstance(pruner, HyperbandPruner)
    return pruner


def trial_in(bracket: int, n: int = 4, skip: tuple[int, ...] = ()) -> int:
    return next(t for t in range(1000) if bracket_of(t, n, 3) == bracket and t not in skip)


def test_trials_compete_only_inside_their_bracket() -> None:
    a = trial_in(0)
    b = trial_in(0, skip=(a,))
    other = trial_in(2)
    c = curves({other: [(1, 0.0, 0.0)], a: [(1, 0.5, 1.0)], b: [(1, 0.9, 2.0)]})
    p = hyperband(max_resource=27)
    assert p.should_prune(c, a, 1) is False  # the far better trial of bracket 2 is not its rival
    assert p.should_prune(c, b, 1) is True   # worse than a, which is in its bracket


def test_bracket_i_has_its_rungs_from_r_eta_to_the_i_below_R_and_the_last_bracket_never_prunes() -> None:
    p = hyperband(max_resource=27)
    for bracket, rungs in [(0, {1, 3, 9}), (1, {3, 9}), (2, {9}), (3, set())]:
        a = trial_in(bracket)
        b = trial_in(bracket, skip=(a,))
        rows = [(s, 0.1, float(s)) for s in (1, 3, 9, 27)]
        worse = [(s, 0.9, 100.0 + s) for s in (1, 3, 9, 27)]
        c = curves({a: rows, b: worse})
        decisions = {s: p.should_prune(c, b, s) for s in (1, 3, 9, 27)}
        assert decisions == {s: s in rungs for s in (1, 3, 9, 27)}, bracket


def test_with_max_resource_null_a_trial_bracket_uses_the_steps_seen_before_it_started() -> None:
    # Nothing reported before trial 1 started: one bracket, plain ASHA, so trial 0 is its rival
    # whatever bracket_of says for 4 brackets.
    c = curves({0: [(1, 0.1, 0.0)], 1: [(1, 0.9, 1.0)]})
    assert hyperband().should_prune(c, 1, 1) is True


def test_inferred_max_resource_is_the_largest_step_reported_before_each_trial_started() -> None:
    c = curves({0: [(s, 0.5, float(s)) for s in range(1, 28)],  # steps 1..27 at times 1..27
                1: [(1, 0.4, 5.5), (2, 0.4, 30.0)],              # started after trial 0's step 5
                2: [(1, 0.3, 40.0)],                             # started after everything above
                3: [(1, 0.3, 1.0)]})  # same time as trial 0's step 1, which counts first (lower number)
    assert hyperband()._max_resources(c) == {0: 0, 1: 5, 2: 27, 3: 1}
    assert hyperband(max_resource=81)._max_resources(c) == dict.fromkeys(c, 81)
