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
