"""BOHB's rule for what the model learns from (hpo_sweeper/pruning/model_data.py)."""

from __future__ import annotations

import math

import pytest
from pruning_helpers import curves

from hpo_sweeper.pruning import PrunerSettings, model_observations

ASHA27 = PrunerSettings.from_mapping({"type": "asha", "max_resource": 27})


def table() -> dict:
    # trials 0-2 ran all 27 steps; 3-5 were pruned at step 9, 6-7 at step 3, 8 at step 1
    full = {t: [(s, 1.0 / s + 0.01 * t, float(t * 100 + s)) for s in range(1, 28)] for t in range(3)}
    at9 = {t: [(s, 1.0 / s + 0.01 * t, float(t * 100 + s)) for s in range(1, 10)] for t in range(3, 6)}
    at3 = {t: [(s, 1.0 / s + 0.01 * t, float(t * 100 + s)) for s in range(1, 4)] for t in range(6, 8)}
    return curves({**full, **at9, **at3, 8: [(1, math.nan, 800.0)]})


@pytest.mark.parametrize("n_min, step, trials", [(3, 27, range(3)), (4, 9, range(6)), (6, 9, range(6)),
                                                 (7, 3, range(8)), (8, 3, range(8)), (9, None, [])])
def test_the_largest_budget_with_enough_observations_is_chosen(n_min: int, step: int | None, trials: range) -> None:
    data = model_observations(table(), ASHA27, min_observations=n_min)
    assert data.step == step
    assert sorted(data.values) == list(trials)
    if step is not None:  # every value was measured at that same step
        assert data.values == pytest.approx({t: 1.0 / step + 0.01 * t for t in trials})


def test_full_budget_is_inferred_from_the_steps_seen_when_max_resource_is_null() -> None:
    data = model_observations(table(), PrunerSettings.from_mapping({"type": "asha"}), min_observations=3)
    assert data.step == 27


def test_min_observations_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_observations must be >= 1"):
        model_observations(table(), ASHA27, min_observations=0)


def test_rank_feed_scores_every_trial_by_level_then_value() -> None:
    from scipy.special import ndtri

    from hpo_sweeper.pruning import rank_observations

    # table(): 0-2 at the full budget, 3-5 stopped at 9, 6-7 at 3; trial 8's only report is NaN and
    # trial 9 failed without a report: both failed, ranked last
    data = rank_observations(table(), ASHA27, failed={8, 9}, max_rows=None)
    assert data.step == 27 and sorted(data.values) == list(range(10))
    order = sorted(data.values, key=data.values.__getitem__)
    assert order[:8] == [0, 1, 2, 3, 4, 5, 6, 7]  # higher level first, then lower value
    assert data.values[8] == data.values[9] == pytest.approx(float(ndtri(9 / 10)))  # tied last: mean rank 9.5
    assert data.values[0] == pytest.approx(float(ndtri(0.5 / 10)))
    # maximised: the same order, scores negated (read like the task's values)
    up = rank_observations(curves({t: [(1, v, 1.0)] for t, v in enumerate([3.0, 1.0, 2.0])}), ASHA27,
                           "maximize", max_rows=None)
    assert sorted(up.values, key=up.values.__getitem__, reverse=True) == [0, 2, 1]


def test_rank_feed_keeps_the_best_and_an_even_sample_of_the_rest_past_max_rows() -> None:
    from hpo_sweeper.pruning import rank_observations

    many = curves({t: [(1, float(t), float(t))] for t in range(100)})
    data = rank_observations(many, ASHA27, max_rows=20)
    assert len(data.values) <= 20
    assert set(range(10)) <= set(data.values) and 99 in data.values  # the best half, and the range of the rest
    full = rank_observations(many, ASHA27, max_rows=None)
    assert all(data.values[t] == full.values[t] for t in data.values)  # scores ranked over all trials


def test_fidelity_feed_gives_every_budget_reached_with_its_log_step() -> None:
    from hpo_sweeper.pruning import fidelity_observations

    rows = fidelity_observations(table(), ASHA27, failed={8}, max_rows=None)
    by_trial: dict[int, list[int]] = {}
    for r in rows:
        by_trial.setdefault(r.trial, []).append(r.step)
        assert r.fidelity == pytest.approx(math.log(r.step) / math.log(27))
        if r.trial != 8:
            assert r.value == pytest.approx(1.0 / r.step + 0.01 * r.trial)
    assert {t: s for t, s in by_trial.items() if t < 8} == {
        **{t: [1, 3, 9, 27] for t in range(3)}, **{t: [1, 3, 9] for t in range(3, 6)}, 6: [1, 3], 7: [1, 3]}
    # the failed trial: one row at the first budget, the worst value seen there
    assert by_trial[8] == [1] and rows[-1].value == max(r.value for r in rows if r.step == 1 and r.trial != 8)
    times = [table()[r.trial].first_at_or_after(r.step).time for r in rows[:-1]]
    assert times == sorted(times)  # in report order: a later call only appends


def test_bayes_with_fidelity_rows_proposes_at_the_full_budget() -> None:
    """A (configuration, value, fidelity) feed: the GP gets the fidelity as one more feature, whose
    only level is 1.0, so proposals are valid configurations of the space (the column dropped)."""
    import numpy as np

    from hpo_sweeper.optimizers.bayes import BayesOptimizer, _with_fidelity
    from hpo_sweeper.space import SearchSpace

    space = SearchSpace.from_config({"x": "interval(0, 1)", "k": "choice(a, b)"})
    layout = _with_fidelity(space.layout)
    assert layout.n_features == space.layout.n_features + 1 and layout.numeric[-1] == space.layout.n_features
    assert np.all(layout.snap(np.full((3, layout.n_features), 0.3))[:, -1] == 1.0)  # every candidate at fidelity 1
    opt = BayesOptimizer(space, seed=0, backend="jax", n_initial_points=2)
    rows = [({"x": x, "k": k}, (x - 0.3) ** 2 + 1.0 / s, math.log(s) / math.log(9))
            for x, k in ((0.1, "a"), (0.5, "b"), (0.9, "a"), (0.3, "b")) for s in (1, 3, 9)]
    opt.model_source = lambda: rows
    opt.tell([r[0] for r in rows[::3]], [None] * 4)  # pruned or running: told as failures
    for p in opt.ask(2):
        assert set(p) == {"x", "k"} and 0.0 <= p["x"] <= 1.0 and p["k"] in ("a", "b")


@pytest.mark.parametrize("fraction, model_calls", [(0.0, 6), (1 / 3, 4), (0.5, 3), (1.0, 0)])
def test_random_fraction_interleaves_random_proposals_after_the_design(fraction: float, model_calls: int) -> None:
    from hpo_sweeper.optimizers.bayes import BayesOptimizer
    from hpo_sweeper.space import SearchSpace

    opt = BayesOptimizer(SearchSpace.from_config({"x": "interval(0, 1)"}), seed=0, backend="jax", n_initial_points=2)
    opt.random_fraction = fraction
    for p in opt.ask(2):
        opt.tell([p], [p["x"]])
    for _ in range(6):  # every 1/fraction-th of these is drawn at random, the others by the model
        p = opt.ask(1)[0]
        opt.tell([p], [p["x"]])
    assert opt._engine_calls == model_calls
