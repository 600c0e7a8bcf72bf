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


# --- large and capped grids (issue #11 defect 4, issue #12) -------------------------------------

#: the search of lightning-hydra-template's configs/hparams_search/mnist_optuna.yaml
TEMPLATE = {
    "model.optimizer.lr": "interval(0.0001, 0.1)",
    "data.batch_size": "choice(32, 64, 128, 256)",
    "model.net.lin1_size": "choice(64, 128, 256)",
    "model.net.lin2_size": "choice(64, 128, 256)",
    "model.net.lin3_size": "choice(32, 64, 128, 256)",
}


def level_counts(space: SearchSpace, opt: GridSearch, points: list[dict[str, Any]]) -> list[list[int]]:
    """For each axis, how often each of its grid values occurs in ``points``."""
    out = []
    for param, axis in zip(space.params, opt.axes):
        one = SearchSpace((param,))  # keys of this axis alone
        counts = collections.Counter(one.key(p) for p in points)
        out.append([counts.get(one.key({param.name: v}), 0) for v in axis])
    return out


def test_capped_grid_runs_an_evenly_spread_subset() -> None:
    # The first 12 of the template's 720 grid points all had the same learning rate.
    space = SearchSpace.from_config(TEMPLATE)
    opt = create_optimizer("grid", space, n_trials=20)
    assert opt.size == 5 * 4 * 3 * 3 * 4 and opt.capped
    points = drain(opt, batch=7)
    assert len(points) == 20 and len({space.key(p) for p in points}) == 20
    full = [dict(p) for p in drain(create_optimizer("grid", space))]
    assert all(p in full for p in points)  # grid points, nothing else
    # each axis's values occur equally often: 20 = 4 x 5 = 5 x 4; 20 / 3 -> 6 or 7
    lr, batch, lin1, lin2, lin3 = level_counts(space, opt, points)
    assert lr == [4] * 5 and batch == [5] * 4 and lin3 == [5] * 4
    assert sorted(lin1) == sorted(lin2) == [6, 7, 7]
    # every prefix is spread too: the first five trials already use five learning rates
    assert len({p["model.optimizer.lr"] for p in points[:5]}) == 5
    assert points == drain(create_optimizer("grid", space, n_trials=20), batch=3)  # deterministic, no seed


@pytest.mark.parametrize(
    "sizes, n_trials",
    [([5, 3, 4], 12), ([4, 4, 4], 12), ([3, 3], 8), ([10, 10], 50), ([5, 5, 5, 5], 100), ([7, 5, 3], 104),
     ([6, 4, 3, 2, 2], 12), ([100, 100], 9999), ([1000], 10), ([2, 1000], 7)],
)
def test_capped_grid_covers_each_axis_evenly(sizes: list[int], n_trials: int) -> None:
    space = SearchSpace.from_config({f"a{i}": f"range(0, {m})" for i, m in enumerate(sizes)})
    opt = create_optimizer("grid", space, n_trials=n_trials)
    points = drain(opt, batch=64)
    assert len({space.key(p) for p in points}) == n_trials == len(points)
    for m, counts in zip(sizes, level_counts(space, opt, points)):
        if n_trials >= m:  # every level, used floor(n/m) or ceil(n/m) times
            assert max(counts) - min(counts) <= 1, (m, counts)
        else:  # n distinct levels, evenly spaced: gaps between used levels differ by at most 1
            used = [k for k, c in enumerate(counts) if c]
            assert len(used) == n_trials and max(counts) == 1
            gaps = np.diff(used)
            assert gaps.max() - gaps.min() <= 1, used


def test_grid_not_capped_keeps_basic_sweeper_order() -> None:
    space = SearchSpace.from_config({"a": "x,y", "b": "range(0, 3)"})
    expected = [{"a": a, "b": b} for a, b in itertools.product(["x", "y"], [0, 1, 2])]
    for n_trials in (None, 6, 100):
        opt = create_optimizer("grid", space, n_trials=n_trials)
        assert not opt.capped and drain(opt) == expected


def test_capped_grid_resumes_with_the_same_subset() -> None:
    space = SearchSpace.from_config(TEMPLATE)
    subset = drain(create_optimizer("grid", space, n_trials=30))
    resumed = create_optimizer("grid", space, n_trials=30)
    resumed.tell(subset[:11], [1.0] * 11)  # a killed sweep had run these
    assert drain(resumed) == subset[11:]


def test_grid_of_a_billion_points_is_lazy() -> None:
    from bounded import within_memory

    def facts():
        space = SearchSpace.from_config({"y": "range(0, 1000000000)", "c": "choice(a, b)"})
        opt = create_optimizer("grid", space, n_trials=10)
        return opt.size, drain(opt, batch=4)

    size, points = within_memory(facts)
    assert size == 2 * 10**9 and len(points) == 10
    assert {p["c"] for p in points} == {"a", "b"}
    ys = sorted(p["y"] for p in points)
    assert len(set(ys)) == 10 and ys[0] < 2 * 10**8 and ys[-1] > 8 * 10**8  # spread, not 0..9


def test_float_step_of_1e12_under_grid() -> None:
    # {type: float, low: 0, high: 1, step: 1e-12} hung: 10**12 levels were listed.
    from bounded import within_memory

    space = SearchSpace.from_config({"x": {"type": "float", "low": 0.0, "high": 1.0, "step": 1e-12}})

    def uncapped_error() -> str:
        with pytest.raises(OptimizerError) as e:
            create_optimizer("grid", space)
        return str(e.value)

    message = within_memory(uncapped_error)
    assert "the grid has 1000000000001 points" in message and "set n_trials" in message
    points = within_memory(lambda: drain(create_optimizer("grid", space, n_trials=5)))
    assert len(points) == 5 and len({p["x"] for p in points}) == 5
    assert all(space.validate(p) == p for p in points)


def test_uncapped_grid_limit() -> None:
    ok = SearchSpace.from_config({"a": "range(0, 1000)", "b": "range(0, 1000)"})  # 10**6: allowed
    assert create_optimizer("grid", ok).size == 10**6
    big = SearchSpace.from_config({"a": "range(0, 1000)", "b": "range(0, 1001)"})
    with pytest.raises(OptimizerError, match=r"the grid has 1001000 points \(1000 x 1001 over \['a', 'b'\]\)"):
        create_optimizer("grid", big)
    assert create_optimizer("grid", big, n_trials=1001000).size == 1001000  # asked for: allowed


def test_grid_points_100000_builds_by_hashing() -> None:
    # 100,000 grid points per axis were de-duplicated pairwise (5e9 comparisons): a hang.
    from bounded import within_memory

    def facts():
        space = SearchSpace.from_config({"x": "interval(0, 1)", "n": "int(interval(0, 10))"})
        opt = create_optimizer("grid", space, grid_points=100_000, n_trials=1000)
        return len(opt.axes[0]), len(opt.axes[1]), len(drain(opt, batch=100))

    assert within_memory(facts) == (100_000, 11, 1000)


@pytest.mark.parametrize("grid_points", [True, 10**6 + 1])
def test_grid_points_bounds(grid_points: Any) -> None:
    from bounded import within_memory

    def error() -> str:  # bounded: an axis of a million values de-duplicated pairwise was a hang
        with pytest.raises(OptimizerError) as e:
            create_optimizer("grid", SearchSpace.from_config({"a": "interval(0, 1)"}), grid_points=grid_points)
        return str(e.value)

    assert within_memory(error).startswith("grid_points must be an integer from 1 to 1000000")


@pytest.mark.parametrize("n_trials", [0, -3, 2.5, True, "5"])
def test_grid_n_trials_must_be_a_positive_integer(n_trials: Any) -> None:
    with pytest.raises(OptimizerError, match="n_trials must be an integer >= 1 or null"):
        create_optimizer("grid", SearchSpace.from_config({"a": "range(0, 3)"}), n_trials=n_trials)


# --- Latin hypercubes in bounded memory (issue #11 defect 4) ------------------------------------


def test_lhs_with_a_huge_budget_draws_in_blocks() -> None:
    # n_trials=10**8 over 200 dimensions asked for 149 GiB at the first ask.
    from bounded import within_memory

    space = SearchSpace.from_config({f"x{i}": "interval(0, 1)" for i in range(200)})

    def facts():
        opt = create_optimizer("random", space, seed=0, sampler="lhs", n_trials=10**8)
        first = opt.ask(3)
        opt.resume(50_000)  # a resumed sweep skips what an earlier run proposed, in bounded memory
        return len(first), len(opt.ask(2))

    assert within_memory(facts, extra_mb=512) == (3, 2)


def test_lhs_blocks_are_latin_hypercubes_and_splits_do_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    import hpo_sweeper.optimizers.random_search as rs

    monkeypatch.setattr(rs, "LHS_BLOCK_NUMBERS", 16)  # blocks of 16 // 2 = 8 points
    whole = UnitCubeSampler(2, "lhs", seed=4, budget=20).draw(20)
    s = UnitCubeSampler(2, "lhs", seed=4, budget=20)
    assert s.lhs_block == 8
    np.testing.assert_array_equal(np.vstack([s.draw(3), s.draw(9), s.draw(1), s.draw(7)]), whole)
    for start in (0, 8):  # every full block is stratified on its own
        for j in range(2):
            assert sorted(np.floor(whole[start : start + 8, j] * 8).astype(int)) == list(range(8))
    skipped = UnitCubeSampler(2, "lhs", seed=4, budget=20)
    skipped.skip(13)
    np.testing.assert_array_equal(skipped.draw(7), whole[13:])


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_skip_is_the_same_stream_as_drawing(sampler: str) -> None:
    whole = UnitCubeSampler(3, sampler, seed=2, budget=40).draw(40)
    s = UnitCubeSampler(3, sampler, seed=2, budget=40)
    s.skip(17)
    np.testing.assert_array_equal(s.draw(23), whole[17:])
