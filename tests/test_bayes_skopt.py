"""The scikit-optimize engine (``hpo_sweeper.engines.skopt_engine``), directly and through
``BayesOptimizer(backend="skopt")``.

Most tests shrink skopt's acquisition search (``FAST``) to keep the file quick; only the
statistical test runs the defaults.
"""

from __future__ import annotations

import logging
import math
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("skopt")

from skopt.space import Categorical, Integer, Real

from hpo_sweeper import Kind, OptimizerError, Parameter, SearchSpace, create_optimizer
from hpo_sweeper.engines import skopt_engine
from hpo_sweeper.engines.skopt_engine import _decode, _dimension, _encode

#: engine_options that make a suggestion cheap (quality is not under test there).
FAST = {"n_points": 300, "n_restarts_optimizer": 1}

MIXED = {
    "lr": "tag(log, interval(1e-5, 1e-1))",
    "width": "tag(log, int(interval(8, 512)))",
    "depth": "range(1, 6)",
    "dropout": "range(0.0, 0.5, 0.125)",
    "act": "choice(relu, tanh, 1, 2.5, true, false, null)",
    "x": "interval(-1, 1)",
    "batch": 32,  # fixed
}


class Direct:
    """The skopt engine driven directly through the array contract (``engines/base.py``),
    with configurations in and out so the tests read in the space's own terms."""

    def __init__(self, space: SearchSpace, seed: int = 0, **options: Any) -> None:
        self.space = space
        config = skopt_engine.make_config(seed=seed, xi=0.01, kappa=1.96, **options)
        self.state = skopt_engine.init(space.layout, config)
        self.calls = 0

    def suggest(self, points: list[dict[str, Any]], y: Any, n: int, pending: list[dict[str, Any]]) -> list[dict]:
        X_new, self.state = skopt_engine.suggest(
            self.state, self.space.to_features(points), y, self.space.to_features(pending), n, (0, self.calls)
        )
        self.calls += 1
        return self.space.from_features(X_new)


def mixed_space() -> SearchSpace:
    return SearchSpace.from_config(MIXED)


def quadratic(p: dict[str, Any]) -> float:
    """A cheap objective over MIXED that uses every parameter."""
    # pairs, not a dict: True and 1 are the same dict key
    act_cost = [("relu", 0.0), ("tanh", 0.3), (1, 0.5), (2.5, 0.7), (True, 0.2), (False, 0.9), (None, 1.0)]
    act = next(v for k, v in act_cost if type(k) is type(p["act"]) and k == p["act"])
    return (
        (math.log10(p["lr"]) + 3) ** 2
        + (math.log2(p["width"]) - 6) ** 2 / 10
        + (p["depth"] - 3) ** 2 / 4
        + (p["dropout"] - 0.25) ** 2
        + act
        + p["x"] ** 2
    )


def assert_typed(space: SearchSpace, point: dict[str, Any]) -> None:
    """``point`` is a valid configuration whose values have exactly the parameter's type."""
    assert space.validate(point) == point
    for p in space.params:
        v = point[p.name]
        if p.kind is Kind.FLOAT:
            assert type(v) is float, (p.name, v)
        elif p.kind is Kind.INT:
            assert type(v) is int, (p.name, v)
        else:  # the very object of the choice, so True stays a bool and None stays None
            assert any(v is c or (type(v) is type(c) and v == c) for c in p.choices), (p.name, v)
    for k, v in space.fixed.items():
        assert point[k] == v


def run(opt: Any, f: Any, n_trials: int, batch: int = 1) -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []
    while len(asked) < n_trials:
        points = opt.ask(min(batch, n_trials - len(asked)))
        asked += points
        opt.tell(points, [f(p) for p in points])
    return asked


# --- the mapping of the space ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "cls", "bounds", "prior"),
    [
        (Parameter("a", Kind.FLOAT, 0.0, 2.0), Real, (0.0, 2.0), "uniform"),
        (Parameter("a", Kind.FLOAT, 1e-4, 1.0, log=True), Real, (1e-4, 1.0), "log-uniform"),
        (Parameter("a", Kind.INT, 1, 9), Integer, (1, 9), "uniform"),
        (Parameter("a", Kind.INT, 8, 512, log=True), Integer, (8, 512), "log-uniform"),
        # stepped numbers: an ordered index over the levels
        (Parameter("a", Kind.INT, 1, 9, step=2), Integer, (0, 4), "uniform"),
        (Parameter("a", Kind.FLOAT, 0.0, 1.0, step=0.25), Integer, (0, 4), "uniform"),
    ],
)
def test_numeric_dimensions(param: Parameter, cls: type, bounds: tuple[float, float], prior: str) -> None:
    dim = _dimension(param)
    assert type(dim) is cls
    assert (dim.low, dim.high) == bounds
    assert dim.prior == prior
    assert dim.name == "a"


def test_categorical_dimension_uses_index_strings() -> None:
    p = Parameter("c", Kind.CATEGORICAL, choices=("a", 1, 1.5, True, None))
    dim = _dimension(p)
    assert type(dim) is Categorical
    assert list(dim.categories) == ["0", "1", "2", "3", "4"]
    for c in p.choices:
        back = _decode(p, _encode(p, c))
        assert back is c or (type(back) is type(c) and back == c)


@pytest.mark.parametrize(
    ("param", "value", "coordinate"),
    [
        (Parameter("a", Kind.FLOAT, 0.0, 2.0), 1.5, 1.5),
        (Parameter("a", Kind.INT, 8, 512, log=True), 64, 64),
        (Parameter("a", Kind.INT, 1, 9, step=2), 7, 3),
        (Parameter("a", Kind.FLOAT, 0.0, 1.0, step=0.25), 0.75, 3),
        (Parameter("a", Kind.FLOAT, 0.1, 0.7, step=0.2), 0.5, 2),
    ],
)
def test_encode_decode_round_trip(param: Parameter, value: Any, coordinate: Any) -> None:
    assert _encode(param, value) == coordinate
    assert param.validate(_decode(param, coordinate)) == value


# --- proposals ---------------------------------------------------------------------------------


def test_mixed_space_proposals_valid_typed_and_never_repeated() -> None:
    space = mixed_space()
    opt = create_optimizer("bayes", space, seed=3, backend="skopt", engine_options=FAST)
    asked = run(opt, quadratic, 24, batch=3)
    for p in asked:
        assert_typed(space, p)
    keys = [space.key(p) for p in asked]
    assert len(set(keys)) == len(keys)


def test_engine_directly_on_mixed_space() -> None:
    space = mixed_space()
    rng = np.random.default_rng(0)
    points = space.from_unit(rng.random((6, len(space))))
    engine = Direct(space, seed=0, acq_func="EI", batch_strategy="cl_min", **FAST)
    out = engine.suggest(points, np.array([quadratic(p) for p in points]), 3, [])
    assert len(out) == 3
    for p in out:
        assert_typed(space, p)


@pytest.mark.parametrize("strategy", ["cl_min", "cl_mean", "cl_max"])
def test_batch_of_four_is_distinct_and_avoids_pending(strategy: str) -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)", "n": "range(0, 20)", "c": "a,b"})
    rng = np.random.default_rng(1)
    points = space.from_unit(rng.random((8, 3)))
    y = np.array([(p["x"] - 0.3) ** 2 + abs(p["n"] - 5) / 20 + (p["c"] == "b") for p in points])
    pending = space.from_unit(rng.random((2, 3)))
    engine = Direct(space, seed=0, acq_func="EI", batch_strategy=strategy, **FAST)
    out = engine.suggest(points, y, 4, pending)
    keys = {space.key(p) for p in out}
    assert len(keys) == 4
    assert not keys & {space.key(p) for p in points + pending}
    for p in out:
        assert_typed(space, p)


@pytest.mark.parametrize("acq", ["EI", "PI", "LCB", "UCB", "gp_hedge"])
def test_every_acquisition_function(acq: str) -> None:
    space = SearchSpace.from_config({"x": "interval(-2, 2)", "k": "int(interval(0, 10))"})
    opt = create_optimizer("bayes", space, seed=0, backend="skopt", acq_func=acq, n_initial_points=4,
                           engine_options=FAST)
    asked = run(opt, lambda p: p["x"] ** 2 + (p["k"] - 3) ** 2, 10, batch=2)
    assert len({space.key(p) for p in asked}) == 10
    for p in asked:
        assert_typed(space, p)


def test_ucb_is_lcb_for_a_minimiser() -> None:
    space = SearchSpace.from_config({"x": "interval(-2, 2)"})
    points = [{"x": v} for v in (-1.5, -0.2, 0.7, 1.9)]
    y = np.array([p["x"] ** 2 for p in points])
    proposals = [
        Direct(space, seed=5, acq_func=acq, batch_strategy="cl_min", **FAST).suggest(
            points, y, 2, []
        )
        for acq in ("LCB", "UCB")
    ]
    assert proposals[0] == proposals[1]


def test_same_seed_same_results_same_proposals() -> None:
    space = mixed_space()

    def trace(seed: int) -> list[dict[str, Any]]:
        opt = create_optimizer("bayes", space, seed=seed, backend="skopt", n_initial_points=4, engine_options=FAST)
        return run(opt, quadratic, 10, batch=2)

    first = trace(11)
    assert trace(11) == first
    assert trace(12) != first


def test_incremental_tell_matches_the_observations_and_rebuilds_on_change() -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)"})
    engine = Direct(space, seed=0, acq_func="EI", batch_strategy="cl_min", **FAST)
    points = [{"x": v} for v in (0.1, 0.5, 0.9)]
    y = np.array([1.0, 0.2, 0.8])
    engine.suggest(points, y, 1, [])
    first = engine.state.opt
    points.append({"x": 0.4})
    y = np.append(y, 0.1)
    engine.suggest(points, y, 1, [])
    assert engine.state.opt is first  # only grew: told incrementally
    assert engine.state.opt.yi == list(y)
    y[0] = 5.0  # e.g. the value given to a failed trial under on_failure="worst" moved
    engine.suggest(points, y, 1, [])
    assert engine.state.opt is not first  # rebuilt from all observations
    assert engine.state.opt.yi == list(y)
    assert [x[0] for x in engine.state.opt.Xi] == [p["x"] for p in points]


def test_pending_then_no_pending_refits() -> None:
    """A fit skipped for pending points leaves no stale model behind once they are gone
    without a result (a failure under on_failure="ignore")."""
    space = SearchSpace.from_config({"x": "interval(0, 1)", "y": "interval(0, 1)"})
    opt = create_optimizer("bayes", space, seed=2, backend="skopt", on_failure="ignore", n_initial_points=3,
                           engine_options=FAST)

    def f(p: dict[str, float]) -> float:
        return (p["x"] - 0.2) ** 2 + (p["y"] - 0.7) ** 2

    run(opt, f, 3)
    (a,) = opt.ask(1)
    (b,) = opt.ask(1)
    opt.tell([a], [f(a)])
    (c,) = opt.ask(1)  # b pending: the real data are told without a fit
    assert not opt.engine_state.fitted
    opt.tell([b, c], [None, None])  # both fail and are forgotten: nothing new, nothing pending
    (d,) = opt.ask(1)
    assert opt.engine_state.fitted
    assert len(opt.engine_state.opt.yi) == 4
    for p in (a, b, c, d):
        assert_typed(space, p)
    assert len({space.key(p) for p in (a, b, c, d)}) == 4


def test_constant_parameters_stay_out_of_skopt() -> None:
    space = SearchSpace(
        (
            Parameter("x", Kind.FLOAT, 0.0, 1.0),
            Parameter("one_level", Kind.INT, 0, 3, step=5),
            Parameter("one_choice", Kind.CATEGORICAL, choices=(None,)),
        )
    )
    engine = Direct(space, seed=0, acq_func="EI", batch_strategy="cl_min", **FAST)
    assert len(engine.state.dimensions) == 1
    points = [{"x": v, "one_level": 0, "one_choice": None} for v in (0.1, 0.6, 0.9)]
    for p in engine.suggest(points, np.array([0.3, 0.1, 0.4]), 2, []):
        assert_typed(space, p)


def test_small_finite_space_is_exhausted_without_skopt_warnings(caplog: pytest.LogCaptureFixture) -> None:
    space = SearchSpace.from_config({"a": "choice(x, y, null)", "b": "range(0, 3)"})
    opt = create_optimizer("bayes", space, seed=0, backend="skopt", n_initial_points=2, engine_options=FAST)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG, skopt_engine.__name__):
        warnings.simplefilter("always")
        asked = run(opt, lambda p: p["b"] + (p["a"] == "y"), 9, batch=2)
    assert len({space.key(p) for p in asked}) == 9 == space.cardinality()
    assert opt.ask(1) == []
    # skopt did run into repeats here (measured), and said so only at debug level
    assert "already evaluated point" in caplog.text
    assert not [w for w in caught if "evaluated at point" in str(w.message)]


# --- options -----------------------------------------------------------------------------------


def test_unknown_engine_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="bogus"):
        skopt_engine.make_config(seed=0, acq_func="EI", xi=0.01, kappa=1.96, batch_strategy="cl_min", bogus=1)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"acq_optimizer": "newton"}, "acq_optimizer"),
        ({"n_points": 0}, "n_points"),
        ({"n_points": 2.5}, "n_points"),
        ({"n_restarts_optimizer": -1}, "n_restarts_optimizer"),
        ({"n_restarts_optimizer": True}, "n_restarts_optimizer"),
    ],
)
def test_bad_engine_option_values(options: dict[str, Any], named: str) -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)"})
    with pytest.raises(OptimizerError, match=named):
        create_optimizer("bayes", space, backend="skopt", engine_options=options)


@pytest.mark.parametrize("acq_optimizer", ["auto", "sampling", "lbfgs"])
def test_acq_optimizers(acq_optimizer: str) -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)", "c": "a,b,c"})
    opt = create_optimizer("bayes", space, seed=0, backend="skopt", n_initial_points=3,
                           engine_options={**FAST, "acq_optimizer": acq_optimizer})
    for p in run(opt, lambda p: p["x"] + (p["c"] != "b"), 6):
        assert_typed(space, p)


def test_skopt_is_imported_only_by_its_engine() -> None:
    code = (
        "import sys\n"
        "import hpo_sweeper, hpo_sweeper.optimizers.bayes, hpo_sweeper.optimizers.grid\n"
        "import hpo_sweeper.sweep, hydra_plugins.hpo_sweeper_plugin._impl\n"
        "from hpo_sweeper import SearchSpace, create_optimizer\n"
        "s = SearchSpace.from_config({'x': 'interval(0, 1)'})\n"
        "create_optimizer('grid', s); create_optimizer('random', s)\n"
        "assert 'skopt' not in sys.modules, 'skopt imported'\n"
        "create_optimizer('bayes', s, backend='skopt')\n"
        "assert 'skopt' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- quality -----------------------------------------------------------------------------------


def branin(p: dict[str, float]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def test_bayes_beats_random_on_branin() -> None:
    # 20 trials (6 design + 14 model-guided), seeds 0-2, skopt's default acquisition search.
    # Measured here (simple regret): bayes 0.044 / 0.023 / 0.135 (median 0.044), random search
    # 1.24 / 1.52 / 0.445 (median 1.24). Over seeds 0-9: bayes median 0.055, worst 0.31;
    # random median 1.77, best 0.32. The thresholds, bayes's median below 0.3 and 4x below
    # random's, sit far from both; the seeds are fixed, so the outcome is deterministic.
    space = SearchSpace.from_config({"x1": "interval(-5, 10)", "x2": "interval(0, 15)"})
    regrets: dict[str, list[float]] = {"bayes": [], "random": []}
    for seed in range(3):
        for kind, opts in (("bayes", {"backend": "skopt", "n_initial_points": 6}), ("random", {})):
            opt = create_optimizer(kind, space, seed=seed, n_trials=20, **opts)
            run(opt, branin, 20)
            best = opt.best()
            assert best is not None
            regrets[kind].append(best[1] - 0.397887)
    bayes, rand = float(np.median(regrets["bayes"])), float(np.median(regrets["random"]))
    assert bayes < 0.3, regrets
    assert bayes * 4 < rand, regrets
