"""Grid and random search (``hpo_sweeper.optimizers.grid`` / ``random_search``) and the
``create_optimizer`` entry point."""

from __future__ import annotations

import collections
import itertools
import math
from typing import Any

import numpy as np
import pytest

from hpo_sweeper import Kind, OptimizerError, SearchSpace, create_optimizer
from hpo_sweeper.optimizers.grid import GridSearch
from hpo_sweeper.optimizers.random_search import SAMPLERS, RandomSearch, UnitCubeSampler

MIXED = {
    "lr": "tag(log, interval(1e-4, 1e-1))",
    "width": "tag(log, int(interval(8, 256)))",
    "depth": "range(1, 6)",
    "dropout": "range(0.0, 0.5, 0.125)",
    "x": "interval(-1, 1)",
    "act": "choice(relu, 1, 2.5, true, null)",
    "batch": 32,  # fixed
}


def drain(opt: Any, batch: int = 3) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while pts := opt.ask(batch):
        out += pts
    return out


# --- grid ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "grid_points", "axes"),
    [
        ({"a": "x,y", "b": "range(0, 3)"}, 5, [["x", "y"], [0, 1, 2]]),
        ({"a": "interval(0, 1)"}, 5, [[0.0, 0.25, 0.5, 0.75, 1.0]]),
        ({"a": "interval(0, 1)"}, 3, [[0.0, 0.5, 1.0]]),
        ({"a": "interval(-2, 2)"}, 1, [[-2.0]]),
        ({"a": "tag(log, interval(1e-4, 1))"}, 5, [[1e-4, 1e-3, 1e-2, 1e-1, 1.0]]),
        ({"a": "tag(log, interval(1, 1000))"}, 4, [[1.0, 10.0, 100.0, 1000.0]]),
        # ranges and steps contribute every level, whatever grid_points says
        ({"a": "range(1, 10, 2)"}, 2, [[1, 3, 5, 7, 9]]),
        ({"a": "range(0.0, 1.0, 0.25)"}, 2, [[0.0, 0.25, 0.5, 0.75]]),
        ({"a": {"type": "float", "low": 0.1, "high": 0.7, "step": 0.2}}, 9, [[0.1, 0.3, 0.5, 0.7]]),
        # an int interval: every integer when there are few, else grid_points of them
        ({"a": "int(interval(0, 3))"}, 10, [[0, 1, 2, 3]]),
        ({"a": "int(interval(0, 100))"}, 5, [[0, 25, 50, 75, 100]]),
        ({"a": "tag(log, int(interval(1, 10000)))"}, 5, [[1, 10, 100, 1000, 10000]]),
        ({"a": "choice(true, false, null)", "b": "int(interval(1, 2))"}, 3, [[True, False, None], [1, 2]]),
    ],
)
def test_grid_axes(config: dict[str, Any], grid_points: int, axes: list[list[Any]]) -> None:
    opt = GridSearch(SearchSpace.from_config(config), grid_points=grid_points)
    assert opt.axes == axes
    for axis, expected in zip(opt.axes, axes):  # 1 is not True, 1.0 is not 1
        assert [type(v) for v in axis] == [type(v) for v in expected]
    assert opt.size == math.prod(len(a) for a in axes)


def test_grid_order_is_itertools_product_last_fastest() -> None:
    space = SearchSpace.from_config({"a": "x,y", "b": "range(0, 3)", "c": "interval(0, 1)", "fixed": 7})
    opt = create_optimizer("grid", space, grid_points=2)
    expected = [
        {"a": a, "b": b, "c": c, "fixed": 7}
        for a, b, c in itertools.product(["x", "y"], [0, 1, 2], [0.0, 1.0])
    ]
    assert drain(opt, batch=5) == expected
    assert expected[:3] == [
        {"a": "x", "b": 0, "c": 0.0, "fixed": 7},
        {"a": "x", "b": 0, "c": 1.0, "fixed": 7},
        {"a": "x", "b": 1, "c": 0.0, "fixed": 7},
    ]


def test_grid_exhausts_then_returns_nothing() -> None:
    opt = create_optimizer("grid", SearchSpace.from_config({"a": "range(0, 5)"}))
    assert len(opt.ask(3)) == 3
    assert len(opt.ask(3)) == 2
    assert opt.ask(3) == []


def test_grid_skips_configurations_already_told() -> None:
    space = SearchSpace.from_config({"a": "range(0, 4)"})
    opt = create_optimizer("grid", space)
    opt.tell([{"a": 1}, {"a": 3}], [0.5, None])
    assert drain(opt) == [{"a": 0}, {"a": 2}]


def test_grid_of_fixed_values_only_is_one_job() -> None:
    opt = create_optimizer("grid", SearchSpace.from_config({"a": 1, "b": "text"}))
    assert drain(opt) == [{"a": 1, "b": "text"}]


@pytest.mark.parametrize("grid_points", [0, -1, 2.5, "5"])
def test_grid_points_must_be_a_positive_integer(grid_points: Any) -> None:
    with pytest.raises(OptimizerError, match="grid_points"):
        create_optimizer("grid", SearchSpace.from_config({"a": "interval(0, 1)"}), grid_points=grid_points)


# --- random -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_random_same_seed_same_trials(sampler: str) -> None:
    space = SearchSpace.from_config(MIXED)

    def trials(seed: int) -> list[dict[str, Any]]:
        opt = create_optimizer("random", space, seed=seed, sampler=sampler, n_trials=12)
        return opt.ask(5) + opt.ask(7)

    assert trials(3) == trials(3)
    assert trials(3) != trials(4)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_random_stays_inside_the_space_with_the_right_types(sampler: str) -> None:
    space = SearchSpace.from_config(MIXED)
    points = create_optimizer("random", space, seed=0, sampler=sampler, n_trials=256).ask(256)
    assert len(points) == 256
    for pt in points:
        assert space.validate(pt) == pt
        for p in space.params:
            v = pt[p.name]
            if p.kind is Kind.FLOAT:
                assert type(v) is float
            elif p.kind is Kind.INT:
                assert type(v) is int
            else:
                assert any(v is c or (type(v) is type(c) and v == c) for c in p.choices)
        assert pt["batch"] == 32
    # the draws spread over the whole space, not only a corner of it
    act = next(p for p in space.params if p.name == "act")
    assert {act.index_of(pt["act"]) for pt in points} == set(range(5))
    assert {pt["depth"] for pt in points} == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_log_uniform_puts_half_the_mass_below_the_geometric_mean(sampler: str) -> None:
    # Log-uniform on [1e-4, 1]: P(x < 1e-2) = 1/2. With 2,000 independent draws the fraction
    # has standard deviation sqrt(0.25 / 2000) = 0.011, so +-0.05 is more than 4 standard
    # deviations (a chance of about 1e-5 of failing for an unlucky seed; the seed is fixed).
    # The quasi-random samplers are far closer to 1/2. A uniform draw would put only 1% there.
    space = SearchSpace.from_config({"lr": "tag(log, interval(1e-4, 1))", "u": "interval(1e-4, 1)"})
    pts = create_optimizer("random", space, seed=0, sampler=sampler, n_trials=2000).ask(2000)
    below = np.mean([p["lr"] < 1e-2 for p in pts])
    assert abs(below - 0.5) < 0.05
    assert np.mean([p["u"] < 1e-2 for p in pts]) < 0.05


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_level_and_choice_is_equally_likely(sampler: str) -> None:
    # 3,000 draws over 5 levels: each count is Binomial(3000, 0.2), mean 600, sd 22. The
    # bound +-100 is 4.5 sd. Before the fix the two end levels of a range got 300 each.
    space = SearchSpace.from_config(
        {"depth": "range(1, 6)", "drop": "range(0.0, 0.5, 0.1)", "k": "int(interval(0, 4))", "c": "a,b,c,d,e"}
    )
    pts = create_optimizer("random", space, seed=1, sampler=sampler, n_trials=3000).ask(3000)
    for name in space.names:
        counts = collections.Counter(p[name] for p in pts)
        assert len(counts) == 5, (name, counts)
        assert all(abs(c - 600) < 100 for c in counts.values()), (name, counts)


def test_unit_cube_sampler_bounds_and_shape() -> None:
    for sampler in SAMPLERS:
        U = UnitCubeSampler(3, sampler, seed=0, budget=10).draw(10)
        assert U.shape == (10, 3)
        assert ((U >= 0) & (U <= 1)).all()
    assert UnitCubeSampler(3, "sobol", seed=0).draw(0).shape == (0, 3)


def test_lhs_is_stratified_over_its_budget() -> None:
    s = UnitCubeSampler(2, "lhs", seed=0, budget=8)
    U = np.vstack([s.draw(3), s.draw(5)])
    for j in range(2):
        assert sorted(np.floor(U[:, j] * 8).astype(int)) == list(range(8))


def test_random_ignores_results() -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)"})
    a, b = create_optimizer("random", space, seed=0), create_optimizer("random", space, seed=0)
    first = a.ask(4)
    a.tell(first, [1.0, None, 3.0, 0.5])
    assert b.ask(4) == first and a.ask(4) == b.ask(4)


# --- create_optimizer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "cls"),
    [
        ("grid", {"grid_points": 3, "direction": "maximize"}, GridSearch),
        ("random", {"sampler": "sobol", "n_trials": 10}, RandomSearch),
    ],
)
def test_create_optimizer(kind: str, options: dict[str, Any], cls: type) -> None:
    opt = create_optimizer(kind, SearchSpace.from_config({"x": "interval(0, 1)"}), seed=1, **options)
    assert type(opt) is cls
    assert opt.seed == 1


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        ("simplex", {}, r"unknown optimizer kind 'simplex'.*\['bayes', 'grid', 'random'\]"),
        ("grid", {"sampler": "sobol"}, r"unknown option\(s\) \['sampler'\].*'grid'.*grid_points"),
        ("random", {"grid_points": 3}, r"unknown option\(s\) \['grid_points'\].*'random'.*sampler"),
        ("random", {"sampler": "gaussian"}, r"sampler must be one of"),
        ("grid", {"direction": "down"}, r"direction must be one of"),
        ("bayes", {"acquisition": "EI"}, r"unknown option\(s\) \['acquisition'\].*acq_func"),
    ],
)
def test_create_optimizer_errors(kind: str, options: dict[str, Any], match: str) -> None:
    with pytest.raises(OptimizerError, match=match):
        create_optimizer(kind, SearchSpace.from_config({"x": "interval(0, 1)"}), **options)


def test_random_refuses_an_empty_space() -> None:
    with pytest.raises(OptimizerError, match="empty"):
        create_optimizer("random", SearchSpace.from_config({"a": 1}))


def test_best_follows_the_direction() -> None:
    space = SearchSpace.from_config({"x": "range(0, 3)"})
    for direction, best in (("minimize", (1, 0.5)), ("maximize", (2, 4.0))):
        opt = create_optimizer("grid", space, direction=direction)
        pts = opt.ask(3)
        opt.tell(pts, [2.0, 0.5, 4.0])
        opt.tell([{"x": 0}], [float("nan")])  # a failure is never the best
        result = opt.best()
        assert result is not None
        assert (result[0]["x"], result[1]) == best
