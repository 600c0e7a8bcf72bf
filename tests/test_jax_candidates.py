"""``jax_gp.candidates``: candidates are valid points of the feature cube, seeded, and spread
over the categoricals' combinations."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy")

from hpo_sweeper import SearchSpace
from hpo_sweeper.engines.jax_gp.candidates import enumerates_categoricals, make_sampler

FEW = {"x": "interval(0, 1)", "k": "range(0, 4)", "c": "choice(a, b, c)", "d": "choice(1, 2)"}  # 6 combos
MANY = {"x": "interval(0, 1)", "c": "choice(a, b, c, d, e, f, g, h, i)", "d": "choice(1, 2, 3, 4, 5, 6, 7, 8)"}


@pytest.mark.parametrize("config", [FEW, MANY], ids=["enumerated", "sampled"])
def test_candidates_are_valid_feature_rows(config: dict[str, str]) -> None:
    space = SearchSpace.from_config(config)
    layout = space.layout
    sampler = make_sampler(layout, 256, entropy=1)
    top = space.to_features(space.from_unit(np.random.default_rng(0).random((5, len(space)))))
    X = sampler.sample(np.random.default_rng(2), 256, 64, top)
    assert X.shape == (320, layout.n_features)
    np.testing.assert_array_equal(layout.snap(X), X)  # on the lattice: levels snapped, one-hot
    assert np.all((X >= 0) & (X <= 1))
    for pt in space.from_features(X):
        space.validate(pt)


def test_few_combinations_are_spread_evenly_over_the_global_candidates() -> None:
    space = SearchSpace.from_config(FEW)
    assert enumerates_categoricals(space.layout)
    assert not enumerates_categoricals(SearchSpace.from_config(MANY).layout)
    sampler = make_sampler(space.layout, 240, entropy=1)
    X = sampler.sample(np.random.default_rng(3), 240, 1, space.to_features(space.from_unit([[0.5] * 4])))
    combos = [(p["c"], p["d"]) for p in space.from_features(X[:240])]
    counts = {c: combos.count(c) for c in set(combos)}
    # Every combination is present and near 240 / 6 = 40 (measured 36..44 with this seed;
    # sampling a combination per candidate independently would give 40 +- 6 sd, and a
    # missing combination would show as a 0): the bound 30..50 allows for that spread.
    assert len(counts) == 6 and all(30 <= v <= 50 for v in counts.values()), counts


def test_same_entropy_and_rng_same_candidates() -> None:
    layout = SearchSpace.from_config(MANY).layout
    top = np.zeros((5, layout.n_features))
    top[:, [1, 10]] = 1.0
    a = make_sampler(layout, 128, 7).sample(np.random.default_rng(1), 128, 32, top)
    b = make_sampler(layout, 128, 7).sample(np.random.default_rng(1), 128, 32, top)
    c = make_sampler(layout, 128, 8).sample(np.random.default_rng(1), 128, 32, top)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
