"""The engine-agnostic front, ``BayesOptimizer``, driven with the skopt backend.

What the front owns is under test here: the initial design, the direction, failed trials
(``on_failure``), pending points, de-duplication, reproducibility and option checking. A
spy records what the engine is asked, so the tests see the contract from both sides.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

pytest.importorskip("skopt")

from hpo_sweeper import OptimizerError, SearchSpace, create_optimizer
from hpo_sweeper.optimizers.bayes import BayesOptimizer, default_initial_points
from hpo_sweeper.optimizers.random_search import UnitCubeSampler, equal_level_cells

#: cheap acquisition search: these tests are about the front, not about skopt's quality
FAST = {"n_points": 300, "n_restarts_optimizer": 1}


def space2() -> SearchSpace:
    return SearchSpace.from_config({"x": "interval(-2, 2)", "k": "int(interval(0, 20))", "fixed": "on"})


def f2(p: dict[str, Any]) -> float:
    return (p["x"] - 0.5) ** 2 + (p["k"] - 7) ** 2 / 20


def make(space: SearchSpace | None = None, **options: Any) -> BayesOptimizer:
    options.setdefault("seed", 0)
    options.setdefault("engine_options", FAST)
    opt = create_optimizer("bayes", space or space2(), backend="skopt", **options)
    assert isinstance(opt, BayesOptimizer)
    return opt


class Spy:
    """Wraps the engine's ``suggest`` and records each call's arguments (arrays)."""

    def __init__(self, opt: BayesOptimizer) -> None:
        self.calls: list[dict[str, Any]] = []
        self._suggest = opt.engine.suggest
        opt.engine = dataclasses.replace(opt.engine, suggest=self)

    def __call__(self, state: Any, X: np.ndarray, y: np.ndarray, X_pending: np.ndarray, q: int, key: Any) -> Any:
        self.calls.append({"X": np.array(X), "y": np.array(y), "n": q, "X_pending": np.array(X_pending), "key": key})
        return self._suggest(state, X, y, X_pending, q, key)


def rows_of(opt: BayesOptimizer, X: np.ndarray, points: list[dict[str, Any]]) -> bool:
    """``X`` holds exactly the features of ``points``, in order (the front encodes them once)."""
    return X.shape == (len(points), opt.space.layout.n_features) and np.array_equal(X, opt.space.to_features(points))


def tell_all(opt: BayesOptimizer, points: list[dict[str, Any]], f: Any = f2) -> None:
    opt.tell(points, [f(p) for p in points])


# --- initial design ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_dims", "n_trials", "expected"),
    [(1, None, 5), (2, None, 5), (4, None, 8), (10, None, 20), (30, None, 20), (4, 12, 4), (10, 100, 20), (10, 6, 3)],
)
def test_default_initial_points(n_dims: int, n_trials: int | None, expected: int) -> None:
    assert default_initial_points(n_dims, n_trials) == expected


@pytest.mark.parametrize("design", ["sobol", "halton", "lhs", "random"])
def test_initial_design_comes_first_and_is_the_samplers(design: str) -> None:
    space = space2()
    opt = make(space, n_initial_points=4, initial_design=design, seed=7)
    spy = Spy(opt)
    expected = space.from_unit(equal_level_cells(space, UnitCubeSampler(len(space), design, 7, budget=4).draw(4)))
    first = opt.ask(3) + opt.ask(1)
    assert first == expected
    assert spy.calls == []
    tell_all(opt, first)
    (p,) = opt.ask(1)
    assert len(spy.calls) == 1 and len(spy.calls[0]["X"]) == 4


def test_design_continues_until_two_results() -> None:
    opt = make(n_initial_points=2, on_failure="ignore")
    spy = Spy(opt)
    a = opt.ask(2)
    opt.tell(a, [None, 1.0])  # only one finite result: a GP cannot be fitted yet
    b = opt.ask(1)
    assert spy.calls == []
    tell_all(opt, b)
    opt.ask(1)
    assert len(spy.calls) == 1


def test_batch_straddling_the_design_end() -> None:
    opt = make(n_initial_points=3)
    spy = Spy(opt)
    first = opt.ask(2)
    tell_all(opt, first)
    batch = opt.ask(3)  # one design point, then two from the engine
    assert len(batch) == 3
    (call,) = spy.calls
    assert call["n"] == 2
    assert rows_of(opt, call["X_pending"], batch[:1])


# --- failures and direction --------------------------------------------------------------------


def test_on_failure_worst_gives_failures_the_worst_value() -> None:
    opt = make(n_initial_points=4, on_failure="worst")
    spy = Spy(opt)
    pts = opt.ask(4)
    opt.tell(pts, [3.0, None, 1.0, float("nan")])
    opt.ask(1)
    (call,) = spy.calls
    assert rows_of(opt, call["X"], [pts[0], pts[2], pts[1], pts[3]])
    assert call["y"].tolist() == [3.0, 1.0, 3.0, 3.0]


def test_on_failure_ignore_drops_failures() -> None:
    opt = make(n_initial_points=4, on_failure="ignore")
    spy = Spy(opt)
    pts = opt.ask(4)
    opt.tell(pts, [3.0, None, 1.0, float("inf")])
    (q,) = opt.ask(1)
    (call,) = spy.calls
    assert rows_of(opt, call["X"], [pts[0], pts[2]])
    assert call["y"].tolist() == [3.0, 1.0]
    # a failed configuration is never proposed again either
    assert opt.space.key(q) not in {opt.space.key(p) for p in pts}


def test_maximize_negates_for_the_engine_and_mirrors_minimize() -> None:
    """Maximising -f must propose exactly what minimising f proposes."""
    lo, hi = make(seed=4, n_initial_points=4), make(seed=4, n_initial_points=4, direction="maximize")
    spy = Spy(hi)
    for _ in range(5):
        a, b = lo.ask(2), hi.ask(2)
        assert a == b
        lo.tell(a, [f2(p) for p in a])
        hi.tell(b, [-f2(p) for p in b])  # results in the user's units
    assert spy.calls[-1]["y"].tolist() == [f2(p) for p, _ in hi.history[:-2]]  # before the last tell
    best_lo, best_hi = lo.best(), hi.best()
    assert best_lo is not None and best_hi is not None
    assert best_lo[0] == best_hi[0] and best_hi[1] == -best_lo[1]


def test_maximize_finds_the_maximum() -> None:
    space = SearchSpace.from_config({"x": "interval(-3, 3)"})
    opt = make(space, n_initial_points=4, direction="maximize")
    for _ in range(12):
        pts = opt.ask(1)
        opt.tell(pts, [math.exp(-((p["x"] - 1.0) ** 2)) for p in pts])
    best = opt.best()
    assert best is not None
    assert abs(best[0]["x"] - 1.0) < 0.1  # the worst of a random search would be +-3 away


# --- uniqueness, batches, pending --------------------------------------------------------------


def test_finite_space_exhausted_without_repeats() -> None:
    space = SearchSpace.from_config({"a": "choice(true, false, null)", "b": "range(0, 4)"})
    opt = make(space, n_initial_points=3)
    asked: list[dict[str, Any]] = []
    while batch := opt.ask(5):
        asked += batch
        opt.tell(batch, [p["b"] + (p["a"] is None) for p in batch])
    keys = [space.key(p) for p in asked]
    assert len(keys) == len(set(keys)) == 12


def test_engine_repeats_are_replaced() -> None:
    opt = make(n_initial_points=3)
    first = opt.ask(3)
    tell_all(opt, first)
    # an engine that proposes the first observation q times
    opt.engine = dataclasses.replace(opt.engine, suggest=lambda state, X, y, Xp, q, key: (np.repeat(X[:1], q, 0), state))
    batch = opt.ask(4)
    keys = [opt.space.key(p) for p in first + batch]
    assert len(batch) == 4 and len(set(keys)) == 7
    for p in batch:
        assert opt.space.validate(p) == p


def test_batches_are_distinct_and_see_running_jobs() -> None:
    opt = make(n_initial_points=4)
    spy = Spy(opt)
    design = opt.ask(4)
    tell_all(opt, design)
    running = opt.ask(4)  # not told yet
    nxt = opt.ask(4)
    keys = [opt.space.key(p) for p in design + running + nxt]
    assert len(set(keys)) == 12
    assert rows_of(opt, spy.calls[-1]["X_pending"], running)
    tell_all(opt, running + nxt)
    assert spy.calls and len(opt._pending) == 0


def test_reproducible() -> None:
    def trace(seed: int) -> list[dict[str, Any]]:
        opt = make(seed=seed, n_initial_points=3)
        out = []
        for n in (2, 2, 1, 3):
            pts = opt.ask(n)
            out += pts
            tell_all(opt, pts)
        return out

    assert trace(1) == trace(1)
    assert trace(1) != trace(2)


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"backend": "torch"}, "backend"),
        ({"initial_design": "grid"}, "initial_design"),
        ({"acq_func": "EIps"}, "acq_func"),
        ({"on_failure": "retry"}, "on_failure"),
        ({"batch_strategy": "kriging"}, "batch_strategy"),
        ({"n_initial_points": 0}, "n_initial_points"),
        ({"n_initial_points": 2.5}, "n_initial_points"),
        ({"xi": -0.1}, "xi"),
        ({"xi": float("nan")}, "xi"),
        ({"kappa": -1.0}, "kappa"),
        # an infinite exploration weight ignores the model: refused, not run
        ({"kappa": float("inf")}, "kappa must be a finite number"),
        ({"xi": float("inf")}, "xi must be a finite number"),
        # checked before JAX is imported; 5 is neither a folder path nor a bool
        ({"backend": "jax", "engine_options": {"compilation_cache": 5}}, "compilation_cache must be a folder path"),
        ({"backend": "jax", "engine_options": {"compilation_cache": ""}}, "compilation_cache"),
        ({"direction": "up"}, "direction"),
        ({"engine_options": {"n_pointz": 10}}, "n_pointz"),
        ({"engine_options": {"acq_optimizer": "adam"}}, "acq_optimizer"),
        ({"acquisition": "EI"}, "acquisition"),  # not an option at all: create_optimizer says so
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], named: str) -> None:
    options = {"backend": "skopt", **options}
    with pytest.raises(OptimizerError, match=named):
        create_optimizer("bayes", space2(), **options)


def test_empty_space_is_refused() -> None:
    with pytest.raises(OptimizerError, match="empty"):
        create_optimizer("bayes", SearchSpace.from_config({"a": 1}), backend="skopt")


# --- keys of tiny values, list and dict choices, large finite spaces (issue #11) -----------------


def test_initial_design_of_tiny_values_is_not_collapsed() -> None:
    # Keys rounded to 12 decimal places made every lr below 1e-12 one key: 11 of 30 came back.
    space = SearchSpace.from_config({"lr": "tag(log, interval(1e-14, 1e-11))"})
    opt = make(space, n_initial_points=30, initial_design="random")
    points = opt.ask(30)
    assert len(points) == 30 and len({p["lr"] for p in points}) == 30


def test_list_and_dict_choices_run_through_the_front() -> None:
    space = SearchSpace.from_config({"z": {"type": "categorical", "choices": ["a", [1, 2], {"k": [3]}]},
                                     "x": "interval(0, 1)"})
    opt = make(space, n_initial_points=3)
    seen = []
    for _ in range(4):
        batch = opt.ask(2)
        opt.tell(batch, [p["x"] + (p["z"] == [1, 2]) for p in batch])
        seen += batch
    assert len({space.key(p) for p in seen}) == 8
    assert {str(p["z"]) for p in seen} <= {"a", "[1, 2]", "{'k': [3]}"}


def test_exhausted_large_finite_space_is_not_enumerated() -> None:
    # When random tries keep hitting seen points, the front walks the grid lazily, a chunk at a
    # time; it used to ask the grid for all cardinality() points at once.
    from bounded import within_memory

    def fill() -> int:
        space = SearchSpace.from_config({"a": "choice(x, y)", "n": "range(0, 1000000000)"})
        opt = make(space, n_initial_points=2)
        # every one of the 200 random tries hits a point already seen: the grid walk must answer
        opt._fallback_rng = np.random.default_rng(0)
        tries = space.from_unit(equal_level_cells(space, np.random.default_rng(0).random((200, 2))))
        opt._seen |= {space.key(p) for p in tries}
        out = opt._unique([], 3)
        assert not any(space.key(p) in {space.key(t) for t in tries} for p in out)
        return len(out)

    assert within_memory(fill) == 3
