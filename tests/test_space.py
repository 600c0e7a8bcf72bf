"""The search space (hpo_sweeper.space): encodings, grids, layout, validation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hpo_sweeper import Kind, Parameter, SearchSpace, SearchSpaceError
from hpo_sweeper.space import snap_to_levels

F, I, C = Kind.FLOAT, Kind.INT, Kind.CATEGORICAL

#: One parameter of every kind and scale. Bounds with more than 12 significant digits
#: (pi, 1/3) are included on purpose: values are rounded to 12 digits when decoded.
PARAMS = {
    "float": Parameter("float", F, low=-2.0, high=3.0),
    "float_int_bounds": Parameter("float_int_bounds", F, low=0, high=1),  # dict form with int bounds
    "float_long_bounds": Parameter("float_long_bounds", F, low=1 / 3, high=math.pi),
    "float_large": Parameter("float_large", F, low=-218.79166393254573, high=630.1413656119914),
    "float_log": Parameter("float_log", F, low=1e-5, high=1e-1, log=True),
    "float_log_long": Parameter("float_log_long", F, low=4.55073328280921, high=126.44578178186217, log=True),
    "float_step": Parameter("float_step", F, low=0.1, high=0.7, step=0.1),
    "float_step_uneven": Parameter("float_step_uneven", F, low=0.0, high=1.0, step=0.3),
    "float_step_long": Parameter("float_step_long", F, low=656.4749350763358, high=656.7721837593682, step=0.012734794317483072),
    "int": Parameter("int", I, low=-3, high=7),
    "int_log": Parameter("int_log", I, low=16, high=256, log=True),
    "int_step": Parameter("int_step", I, low=1, high=10, step=3),
    "int_wide": Parameter("int_wide", I, low=0, high=10**6),
    "cat": Parameter("cat", C, choices=("relu", "a b", 1, 2.5, True, False, None, "1")),
    "cat_one": Parameter("cat_one", C, choices=("only",)),
}
ALL = list(PARAMS.values())


def expected_type(p: Parameter) -> type:
    return int if p.kind is I else float


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


# --- unit encoding ------------------------------------------------------------------------------


@pytest.mark.parametrize("p", ALL, ids=[p.name for p in ALL])
def test_decoded_values_are_valid_and_typed(p: Parameter) -> None:
    rng = np.random.default_rng(0)
    us = [0.0, 1.0, 0.5, 1e-15, 1 - 1e-15, -0.5, 1.5, *rng.random(300)]  # outside [0, 1] is clipped
    for u in us:
        v = p.from_unit(u)
        if p.kind is C:
            assert any(same(v, c) for c in p.choices)
        else:
            assert type(v) is expected_type(p), (u, v)
            assert p.low <= v <= p.high, (u, v)
        assert same(p.validate(v), v), (u, v)


@pytest.mark.parametrize("p", ALL, ids=[p.name for p in ALL])
def test_unit_round_trip(p: Parameter) -> None:
    rng = np.random.default_rng(1)
    values = p.levels() if p.n_levels is not None and p.n_levels <= 200 else [p.from_unit(u) for u in rng.random(200)]
    for v in values:
        u = p.to_unit(v)
        assert 0.0 <= u <= 1.0
        back = p.from_unit(u)
        if p.kind is F and p.step is None:
            assert back == pytest.approx(v, rel=1e-10, abs=1e-12) and type(back) is float
        else:
            assert same(back, v), (v, u, back)


def test_unit_encoding_endpoints_and_log_scale() -> None:
    p = PARAMS["float_log"]
    assert p.from_unit(0.0) == 1e-5 and p.from_unit(1.0) == 0.1
    assert p.from_unit(0.5) == pytest.approx(1e-3)  # geometric middle on a log scale
    assert p.to_unit(1e-3) == pytest.approx(0.5)
    assert PARAMS["float"].from_unit(0.5) == pytest.approx(0.5)


def test_categorical_cells_are_equal() -> None:
    p = Parameter("c", C, choices=("a", "b", "c", "d"))
    assert [p.to_unit(c) for c in p.choices] == [0.125, 0.375, 0.625, 0.875]
    assert [p.from_unit(u) for u in (0.0, 0.24, 0.26, 0.74, 0.76, 1.0)] == ["a", "a", "b", "c", "d", "d"]


def test_categorical_true_and_1_are_different_choices() -> None:
    p = Parameter("c", C, choices=(1, True, None, "1"))
    assert [p.index_of(v) for v in (1, True, None, "1")] == [0, 1, 2, 3]
    for c in p.choices:
        assert same(p.from_unit(p.to_unit(c)), c)


def test_space_unit_round_trip_with_fixed_values() -> None:
    space = SearchSpace(tuple(ALL), {"epochs": 3, "name": "run"})
    rng = np.random.default_rng(2)
    U = rng.random((50, len(space)))
    points = space.from_unit(U)
    assert len(points) == 50
    for pt in points:
        assert pt["epochs"] == 3 and pt["name"] == "run"
        assert space.validate(pt) == pt
    again = space.from_unit(space.to_unit(points))
    for a, b in zip(points, again):
        for p in space.params:
            if p.kind is F and p.step is None:
                assert b[p.name] == pytest.approx(a[p.name], rel=1e-10, abs=1e-12)
            else:
                assert same(b[p.name], a[p.name])
    assert space.to_unit(points).shape == (50, len(space))


# --- GP features --------------------------------------------------------------------------------


def mixed_space() -> SearchSpace:
    return SearchSpace(
        (
            Parameter("lr", F, low=1e-4, high=1e-1, log=True),
            Parameter("act", C, choices=("relu", "tanh", "gelu")),
            Parameter("width", I, low=16, high=256, log=True),
            Parameter("flag", C, choices=(True, False)),
            Parameter("drop", F, low=0.0, high=0.5, step=0.1),
        ),
        {"epochs": 2},
    )


def test_layout() -> None:
    layout = mixed_space().layout
    # lr | act(3 one-hot) | width | flag(2 one-hot) | drop
    assert layout.n_features == 1 + 3 + 1 + 2 + 1
    assert layout.numeric == (0, 4, 7)
    assert layout.categorical == ((1, 2, 3), (5, 6))
    lr_levels, width_levels, drop_levels = layout.numeric_levels
    assert lr_levels is None  # continuous
    assert len(width_levels) == 241 and width_levels[0] == 0.0 and width_levels[-1] == 1.0
    assert np.all(np.diff(width_levels) > 0)
    assert drop_levels == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_feature_round_trip() -> None:
    space = mixed_space()
    points = space.from_unit(np.random.default_rng(3).random((40, len(space))))
    X = space.to_features(points)
    assert X.shape == (40, space.layout.n_features)
    for group in space.layout.categorical:
        assert np.all(X[:, list(group)].sum(axis=1) == 1.0)  # exactly one hot
    back = space.from_features(X)
    for a, b in zip(points, back):
        assert b["lr"] == pytest.approx(a["lr"], rel=1e-10)
        assert all(same(b[k], a[k]) for k in ("act", "width", "flag", "drop", "epochs"))


def test_snap_features_lands_on_valid_configurations() -> None:
    space = mixed_space()
    layout = space.layout
    X = np.random.default_rng(4).random((100, layout.n_features))  # relaxed: one-hots are not one-hot
    S = space.snap_features(X)
    assert S.shape == X.shape
    np.testing.assert_allclose(space.snap_features(S), S)  # idempotent
    for group in layout.categorical:
        g = list(group)
        assert np.all(np.sort(S[:, g], axis=1) == [0.0] * (len(g) - 1) + [1.0])
        # the hot column is the argmax of the relaxed one
        assert np.all(np.argmax(S[:, g], axis=1) == np.argmax(X[:, g], axis=1))
    for col, levels in zip(layout.numeric, layout.numeric_levels):
        if levels is not None:  # discrete numeric columns snap onto their levels
            assert np.all(np.min(np.abs(S[:, [col]] - levels[None, :]), axis=1) < 1e-9)
    for pt in space.from_features(S):
        space.validate(pt)


def test_layout_arrays_per_parameter_and_per_numeric_column() -> None:
    layout = mixed_space().layout
    assert layout.kind == (F, C, I, C, F)
    assert layout.column == (0, 1, 4, 5, 7)
    np.testing.assert_array_equal(layout.log, [True, False, True, False, False])
    np.testing.assert_array_equal(layout.low[[0, 2, 4]], [1e-4, 16, 0.0])
    np.testing.assert_array_equal(layout.high[[0, 2, 4]], [1e-1, 256, 0.5])
    assert np.isnan(layout.low[1]) and np.isnan(layout.step[0]) and layout.step[4] == 0.1
    # levels padded with +inf to the widest numeric column, with their counts (0: continuous)
    np.testing.assert_array_equal(layout.n_levels, [0, 241, 6])
    assert layout.levels.shape == (3, 241)
    np.testing.assert_array_equal(layout.levels[1], layout.numeric_levels[1])
    np.testing.assert_array_equal(layout.levels[2, :6], layout.numeric_levels[2])
    assert np.all(np.isinf(layout.levels[0])) and np.all(np.isinf(layout.levels[2, 6:]))


def test_to_features_is_to_unit_bit_for_bit() -> None:
    """The vectorised encoding is the scalar ``Parameter.to_unit`` exactly (same proposals)."""
    space = mixed_space()
    points = space.from_unit(np.random.default_rng(5).random((200, len(space))))
    X = space.to_features(points)
    for j, p in enumerate(space.params):
        col = space.layout.column[j]
        for i, pt in enumerate(points):
            if p.kind is C:
                assert X[i, col + p.index_of(pt[p.name])] == 1.0
            else:
                assert X[i, col] == p.to_unit(pt[p.name])  # ==, not approx
    assert space.to_features([]).shape == (0, space.layout.n_features)
    # a few points take the one-value-at-a-time path: the same bits
    np.testing.assert_array_equal(space.to_features(points[:2]), X[:2])


@pytest.mark.parametrize(
    ("x", "expected"),
    [(-0.1, 0.0), (0.0, 0.0), (0.1, 0.0), (0.2, 0.0), (0.35, 0.4), (0.69, 0.4), (0.75, 1.0), (1.2, 1.0)],
)
def test_snap_to_levels_nearest_ties_low(x: float, expected: float) -> None:
    levels = np.array([0.0, 0.4, 1.0, np.inf, np.inf])  # 3 levels, padded
    # 0.2 is an exact tie between 0.0 and 0.4 (0.4 - 0.2 == 0.2 in float64): the lower wins
    assert snap_to_levels(np.array([x]), levels, np.int32(3)).tolist() == [expected]


def test_snap_to_levels_single_level_and_continuous() -> None:
    x = np.array([0.0, 0.3, 1.0])
    np.testing.assert_array_equal(snap_to_levels(x, np.array([0.5, np.inf]), np.int32(1)), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(snap_to_levels(x, np.array([0.5]), np.int32(1)), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(snap_to_levels(x, np.array([np.inf]), np.int32(0)), x)


def test_layout_snap_equals_snap_features_on_enumerated_levels() -> None:
    """``FeatureLayout.snap`` (arrays only) agrees with decoding and re-encoding."""
    space = mixed_space()
    X = np.random.default_rng(6).random((100, space.layout.n_features))
    S = space.layout.snap(X)
    full = space.snap_features(X)
    discrete = [c for c, lv in zip(space.layout.numeric, space.layout.numeric_levels) if lv is not None]
    discrete += [c for g in space.layout.categorical for c in g]
    np.testing.assert_array_equal(S[:, discrete], full[:, discrete])
    np.testing.assert_array_equal(S[:, 0], X[:, 0])  # continuous columns are left alone


# --- grids --------------------------------------------------------------------------------------

GRIDS = [
    (Parameter("x", F, low=0.0, high=1.0), 5, [0.0, 0.25, 0.5, 0.75, 1.0]),
    (Parameter("x", F, low=0.0, high=1.0), 3, [0.0, 0.5, 1.0]),
    (Parameter("x", F, low=-1.0, high=1.0), 1, [-1.0]),
    (Parameter("x", F, low=1e-4, high=1e-1, log=True), 4, [1e-4, 1e-3, 1e-2, 1e-1]),
    (Parameter("x", F, low=1e-4, high=1e-1, log=True), 3, [1e-4, 10**-2.5, 1e-1]),
    (Parameter("x", I, low=16, high=256, log=True), 5, [16, 32, 64, 128, 256]),
    (Parameter("x", I, low=1, high=3), 5, [1, 2, 3]),  # fewer levels than points: every level
    (Parameter("x", I, low=0, high=100), 5, [0, 25, 50, 75, 100]),
    (Parameter("x", I, low=1, high=10, step=3), 2, [1, 4, 7, 10]),  # a step: every level
    (Parameter("x", F, low=0.0, high=1.0, step=0.3), 2, [0.0, 0.3, 0.6, 0.9]),
    (Parameter("x", C, choices=("a", None, True)), 1, ["a", None, True]),  # a choice: every level
]


@pytest.mark.parametrize("p, points, expected", GRIDS, ids=[f"{g[0].kind.value}-{g[1]}-{g[2]}" for g in GRIDS])
def test_grid_values(p: Parameter, points: int, expected: list) -> None:
    got = p.grid(points)
    assert got == pytest.approx(expected, rel=1e-9) if p.kind is F else got == expected
    for v in got:
        assert same(p.validate(v), v)
        if p.kind is not C:
            assert type(v) is expected_type(p)


def test_log_grid_is_evenly_spaced_in_log() -> None:
    grid = Parameter("x", F, low=1e-6, high=1e-2, log=True).grid(9)
    ratios = np.diff(np.log(grid))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)


def test_levels_and_cardinality() -> None:
    assert Parameter("x", I, low=1, high=10, step=3).levels() == [1, 4, 7, 10]
    assert Parameter("x", F, low=0.0, high=1.0, step=0.3).levels() == [0.0, 0.3, 0.6, 0.9]
    assert Parameter("x", F, low=0.1, high=0.7, step=0.1).levels() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    with pytest.raises(SearchSpaceError, match="'x' is continuous"):
        Parameter("x", F, low=0.0, high=1.0).levels()
    finite = SearchSpace((Parameter("a", I, low=1, high=3), Parameter("b", C, choices=("x", "y"))))
    assert finite.is_finite() and finite.cardinality() == 6
    assert SearchSpace((Parameter("a", F, low=0, high=1),)).cardinality() is None


# --- validation ---------------------------------------------------------------------------------

BAD_VALUES = [
    (Parameter("opt.lr", F, low=1e-4, high=1e-1, log=True), 0.5, "lies outside"),
    (Parameter("opt.lr", F, low=0.0, high=1.0), -1e-6, "lies outside"),
    (Parameter("opt.lr", F, low=0.0, high=1.0), "0.5", "expected a number"),
    (Parameter("opt.lr", F, low=0.0, high=1.0), True, "expected a number"),
    (Parameter("opt.lr", F, low=0.0, high=1.0), None, "expected a number"),
    (Parameter("opt.lr", F, low=0.0, high=1.0, step=0.25), 0.3, "not on the grid"),
    (Parameter("opt.lr", I, low=1, high=9), 2.5, "not on the grid"),
    (Parameter("opt.lr", I, low=1, high=9, step=2), 4, "not on the grid"),
    (Parameter("opt.lr", I, low=1, high=9), 10, "lies outside"),
    (Parameter("opt.lr", C, choices=("a", "b")), "c", "not one of the choices"),
    (Parameter("opt.lr", C, choices=(1, 2)), True, "not one of the choices"),
    (Parameter("opt.lr", C, choices=(1, 2)), "1", "not one of the choices"),
    (Parameter("opt.lr", C, choices=("a", None)), "null", "not one of the choices"),
    # tiny scales: outside is outside (1.5e-11 was accepted, then clipped to 1e-11)
    (Parameter("opt.lr", F, low=1e-14, high=1e-11, log=True), 1.5e-11, "lies outside"),
    (Parameter("opt.lr", F, low=1e-14, high=1e-11, log=True), 5e-15, "lies outside"),
    (Parameter("opt.lr", F, low=0.0, high=1e-6, step=1e-7), 1.5e-7, "not on the grid"),
]


@pytest.mark.parametrize("p, value, problem", BAD_VALUES, ids=[f"{b[0].kind.value}-{b[1]!r}" for b in BAD_VALUES])
def test_validate_names_the_parameter(p: Parameter, value, problem: str) -> None:
    with pytest.raises(SearchSpaceError) as e:
        p.validate(value)
    assert "'opt.lr'" in str(e.value) and problem in str(e.value)


def test_validate_coerces_numbers() -> None:
    assert same(Parameter("x", I, low=1, high=9).validate(np.int64(3)), 3)
    assert same(Parameter("x", I, low=1, high=9).validate(3.0), 3)
    assert same(Parameter("x", F, low=0, high=1).validate(np.float32(0.5)), 0.5)


def test_space_validate_errors() -> None:
    space = mixed_space()
    good = {"lr": 1e-3, "act": "relu", "width": 32, "flag": True, "drop": 0.2}
    assert space.validate(good) == {**good, "epochs": 2}
    with pytest.raises(SearchSpaceError, match=r"unknown parameters \['depth'\]"):
        space.validate({**good, "depth": 3})
    with pytest.raises(SearchSpaceError, match=r"missing values for parameters \['act'\]"):
        space.validate({k: v for k, v in good.items() if k != "act"})
    with pytest.raises(SearchSpaceError, match="'width'"):
        space.validate({**good, "width": 1000})


BAD_PARAMETERS = [
    (dict(kind=F, low=5.0, high=1.0), "low must be smaller than high"),
    (dict(kind=F, low=1.0, high=1.0), "low must be smaller than high"),
    (dict(kind=F, low=0.0, high=1.0, log=True), "log scale needs bounds > 0"),
    (dict(kind=I, low=-4, high=8, log=True), "log scale needs bounds > 0"),
    (dict(kind=F, low=0.0, high=math.inf), "finite"),
    (dict(kind=F, low=0.0, high=1.0, step=0.0), "step must be > 0"),
    (dict(kind=F, low=0.1, high=1.0, step=0.1, log=True), "step and log scale"),
    (dict(kind=I, low=0.5, high=3), "integer bounds"),
    (dict(kind=I, low=0, high=3, step=1.5), "integer step"),
    (dict(kind=F, low=None, high=1.0), "needs both low and high"),
    (dict(kind=C, choices=()), "at least one value"),
    (dict(kind=C, choices=("a", "b", "a")), "lists a value twice"),
]


@pytest.mark.parametrize("kwargs, problem", BAD_PARAMETERS, ids=[b[1] + str(i) for i, b in enumerate(BAD_PARAMETERS)])
def test_bad_parameter_names_itself(kwargs, problem: str) -> None:
    with pytest.raises(SearchSpaceError) as e:
        Parameter("model.width", **kwargs)
    assert "'model.width'" in str(e.value) and problem in str(e.value)


def test_space_rejects_duplicates_and_clashes() -> None:
    a = Parameter("a", F, low=0, high=1)
    with pytest.raises(SearchSpaceError, match=r"defined twice: \['a'\]"):
        SearchSpace((a, a))
    with pytest.raises(SearchSpaceError, match=r"both searched and fixed: \['a'\]"):
        SearchSpace((a,), {"a": 1})


def test_describe_is_plain_data() -> None:
    assert mixed_space().describe() == {
        "params": {
            "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
            "act": {"type": "categorical", "choices": ["relu", "tanh", "gelu"]},
            "width": {"type": "int", "low": 16, "high": 256, "log": True},
            "flag": {"type": "categorical", "choices": [True, False]},
            "drop": {"type": "float", "low": 0.0, "high": 0.5, "log": False, "step": 0.1},
        },
        "fixed": {"epochs": 2},
    }


# --- sampling: what random search draws from the space ------------------------------------------
# Through the public create_optimizer("random", ...), which the random sweeper uses.

N_SAMPLES = 4000


def draws(spec, sampler: str = "random", n: int = N_SAMPLES, seed: int = 0) -> list:
    from hpo_sweeper import create_optimizer

    space = SearchSpace.from_config({"p": spec})
    return [pt["p"] for pt in create_optimizer("random", space, seed=seed, sampler=sampler, n_trials=n).ask(n)]


# With N = 4000 independent draws a proportion p has a standard error of at most
# sqrt(0.25 / 4000) = 0.0079; the tolerance 0.04 is 5 standard errors, so a correct sampler
# fails with probability ~1e-6 per check (and the seed is fixed anyway), while the biases
# these checks exist to catch (uniform instead of log-uniform: 0.009 instead of 1/3 below
# 1e-3; half-width end levels: 0.125 instead of 0.2) are far larger than 0.04.
TOL = 0.04


@pytest.mark.parametrize("sampler", ["random", "sobol", "halton", "lhs"])
def test_float_sampling_is_uniform(sampler: str) -> None:
    xs = np.array(draws("interval(-2, 2)", sampler))
    assert xs.min() >= -2 and xs.max() <= 2
    for q in (-1.0, 0.0, 1.0):  # the quartiles of U(-2, 2)
        assert abs(np.mean(xs < q) - (q + 2) / 4) < TOL


@pytest.mark.parametrize("sampler", ["random", "sobol"])
def test_log_sampling_is_log_uniform(sampler: str) -> None:
    xs = np.array(draws("tag(log, interval(1e-4, 1e-1))", sampler))
    assert xs.min() >= 1e-4 and xs.max() <= 1e-1
    for q, share in ((1e-3, 1 / 3), (1e-2, 2 / 3)):  # each decade gets a third
        assert abs(np.mean(xs < q) - share) < TOL


@pytest.mark.parametrize("spec", ["int(interval(1, 5))", "range(1, 6)", {"type": "int", "low": 1, "high": 9, "step": 2},
                                  "choice(a, b, null, true, 5)"])
@pytest.mark.parametrize("sampler", ["random", "sobol"])
def test_discrete_levels_are_equally_likely(spec, sampler: str) -> None:
    xs = draws(spec, sampler)
    levels = SearchSpace.from_config({"p": spec}).params[0].levels()
    for level in levels:  # end levels included: they must not get half-width cells
        share = sum(same(x, level) for x in xs) / len(xs)
        assert abs(share - 1 / len(levels)) < TOL, (level, share)
    assert all(any(same(x, level) for level in levels) for x in xs)


def test_lhs_stratifies_its_budget() -> None:
    # A Latin hypercube of n points puts exactly one point in each of the n equal strata.
    xs = draws("interval(0, 1)", "lhs", n=16, seed=3)
    assert sorted(int(x * 16) for x in xs) == list(range(16))


def test_same_seed_same_draws() -> None:
    for sampler in ("random", "sobol", "halton", "lhs"):
        assert draws("interval(0, 1)", sampler, n=8, seed=5) == draws("interval(0, 1)", sampler, n=8, seed=5)
        assert draws("interval(0, 1)", sampler, n=8, seed=5) != draws("interval(0, 1)", sampler, n=8, seed=6)


# --- keys: 12 significant digits, lists and dicts (issue #11, defects 7 and 16) ------------------


def test_key_counts_significant_digits_not_decimal_places() -> None:
    # 12 decimal places made every value below 1e-12 one key: 30 random points gave 9 keys.
    space = SearchSpace.from_config({"lr": "tag(log, interval(1e-14, 1e-11))"})
    points = space.from_unit(np.random.default_rng(0).random((30, 1)))
    assert len({space.key(p) for p in points}) == 30
    # ... while float noise past 12 significant digits is still one value
    assert space.key({"lr": 0.1 + 0.2}) == space.key({"lr": 0.3})
    assert space.key({"lr": 3e-13 * (1 + 1e-14)}) == space.key({"lr": 3e-13})
    assert space.key({"lr": 3e-13}) != space.key({"lr": 3.0001e-13})


LIST_DICT_CHOICES = ("a", [1, 2], [2, 1], {"b": 1, "a": [2]}, [], {}, [True], [1], [[1, 2], {"x": None}])


def test_list_and_dict_values_are_keys_and_choices() -> None:
    p = Parameter("z", C, choices=LIST_DICT_CHOICES)
    space = SearchSpace((p,))
    keys = {space.key({"z": c}) for c in LIST_DICT_CHOICES}  # hashable: no "unhashable type: 'list'"
    assert len(keys) == len(LIST_DICT_CHOICES)  # [1, 2] is not [2, 1]; [True] is not [1]
    assert space.key({"z": {"a": [2], "b": 1}}) == space.key({"z": {"b": 1, "a": [2]}})  # key order
    assert space.key({"z": (1, 2)}) == space.key({"z": [1, 2]})  # JSON has no tuples
    for i, c in enumerate(LIST_DICT_CHOICES):
        assert p.index_of(c) == i
        assert p.from_unit(p.to_unit(c)) == c
        assert space.validate({"z": c}) == {"z": c}
    assert p.index_of({"a": [2], "b": 1}) == 3
    X = space.to_features([{"z": c} for c in LIST_DICT_CHOICES])
    assert [pt["z"] for pt in space.from_features(X)] == list(LIST_DICT_CHOICES)
    with pytest.raises(SearchSpaceError, match=r"'z': \[3\] is not one of the choices"):
        p.index_of([3])


def test_list_and_dict_choices_listed_twice_are_refused() -> None:
    for twice in ([[1, 2], [1, 2]], [{"a": 1, "b": 2}, {"b": 2, "a": 1}], [[1.0], [1]]):
        with pytest.raises(SearchSpaceError, match="'z': choice\\(\\) lists a value twice"):
            Parameter("z", C, choices=tuple(twice))


def test_choice_of_10000_values_is_encoded_by_hashing() -> None:
    # It took 24 s to start: every choice was compared with every other. Counted, not timed:
    # comparisons between choices grow linearly with hashing, quadratically pairwise (5e7).
    comparisons = 0

    class Counted(str):
        __hash__ = str.__hash__

        def __eq__(self, other: object) -> bool:
            nonlocal comparisons
            comparisons += 1
            return str.__eq__(self, other)

    values = tuple(Counted(f"v{i}") for i in range(10_000))
    p = Parameter("c", C, choices=values)
    space = SearchSpace((p,))
    assert [p.index_of(v) for v in values] == list(range(10_000))
    assert space.to_unit([{"c": v} for v in values])[:, 0] == pytest.approx((np.arange(10_000) + 0.5) / 10_000)
    X = space.to_features([{"c": v} for v in values[::100]])  # (100, 10000) one-hots
    assert np.all(X.argmax(axis=1) == np.arange(0, 10_000, 100))
    assert comparisons <= 5 * 10_000, comparisons


# --- large discrete spaces stay lazy (issue #11, defect 4) ---------------------------------------


def test_levels_of_a_billion_are_computed_not_listed() -> None:
    def facts():
        p = Parameter("n", I, low=1, high=10**9)
        levels = p.levels()
        stepped = Parameter("x", F, low=0.0, high=1.0, step=1e-12)  # dict-form step: 1e-12
        space = SearchSpace((p, stepped))
        layout = space.layout
        return (p.n_levels, len(levels), levels[0], levels[-1], levels[123456788], stepped.n_levels,
                space.cardinality(), layout.numeric_levels, len(p.grid(5)), len(stepped.grid(5)))

    from bounded import within_memory

    n, n_listed, first, last, mid, n_stepped, card, numeric_levels, g5, g_stepped = within_memory(facts)
    assert (n, n_listed, first, last, mid) == (10**9, 10**9, 1, 10**9, 123456789)
    assert n_stepped == 10**12 + 1 and card == 10**9 * (10**12 + 1)
    assert numeric_levels == (None, None)  # above MAX_ENUMERATED_LEVELS: no level table
    assert g5 == 5 and g_stepped == 10**12 + 1  # a step contributes every level, lazily


def test_lazy_levels_behave_as_a_list() -> None:
    levels = Parameter("x", F, low=0.0, high=1.0, step=0.25).levels()
    assert levels == [0.0, 0.25, 0.5, 0.75, 1.0] and [0.0, 0.25, 0.5, 0.75, 1.0] == levels
    assert list(levels) == [0.0, 0.25, 0.5, 0.75, 1.0] and levels[-1] == 1.0 and levels[1:3] == [0.25, 0.5]
    assert 0.5 in levels and len(levels) == 5
    with pytest.raises(IndexError, match="level 5 of parameter 'x'"):
        levels[5]


def test_layout_is_computed_once() -> None:
    space = SearchSpace.from_config({"w": "int(interval(1, 4096))", "c": "choice(a, b)"})
    assert space.layout is space.layout
    assert len(space.layout.numeric_levels[0]) == 4096
    # encoding reads the cached layout: it is not rebuilt per call
    layout = space.layout
    space.to_features([{"w": 5, "c": "a"}])
    assert space.layout is layout


def test_log_must_be_a_bool() -> None:
    for log in ("false", "true", 1, None):
        with pytest.raises(SearchSpaceError) as e:
            Parameter("x", F, low=1e-3, high=1.0, log=log)  # type: ignore[arg-type]
        assert f"'x': 'log' must be true or false, got {log!r}" in str(e.value)


@pytest.mark.parametrize("field, value", [("low", "0"), ("high", [1]), ("step", "abc"), ("step", True)])
def test_bounds_and_step_must_be_numbers(field: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"low": 0.0, "high": 1.0, field: value}
    with pytest.raises(SearchSpaceError) as e:
        Parameter("x", F, **kwargs)
    assert f"'x': '{field}' must be a number, got {value!r}" in str(e.value)
