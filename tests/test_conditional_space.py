"""Conditional search spaces in the library: the tree, forbidden combinations, and how grid,
random and bayes treat them (no Hydra here; the Hydra run is tests/test_conditional_hydra.py)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from hpo_sweeper.optimizers.grid import GridSearch
from hpo_sweeper.optimizers.random_search import RandomSearch
from hpo_sweeper.space import SearchSpace, SearchSpaceError

TREE = {
    "opt": "choice(adam, sgd)",
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"opt": "sgd"}},
    "nesterov": {"type": "categorical", "choices": [True, False], "when": {"opt": "sgd"}},
    "dampening": {"sweep": "choice(0.0, 0.1)", "when": {"nesterov": False}},  # a grandchild, grammar form
    "beta2": {"type": "float", "low": 0.9, "high": 0.9999, "when": {"opt": ["adam"]}},
}


def test_active_follows_the_tree() -> None:
    space = SearchSpace.from_config(TREE)
    assert space.active({"opt": "adam", "lr": 0.01, "beta2": 0.99}) == ["opt", "lr", "beta2"]
    assert space.active({"opt": "sgd", "nesterov": True}) == ["opt", "lr", "momentum", "nesterov"]
    assert space.active({"opt": "sgd", "nesterov": False}) == ["opt", "lr", "momentum", "nesterov", "dampening"]
    # the grandchild needs its parent active: with adam, nesterov is inactive, so dampening is too
    assert "dampening" not in space.active({"opt": "adam", "nesterov": False})


def test_validate_refuses_values_for_inactive_and_missing_active_keys() -> None:
    space = SearchSpace.from_config(TREE)
    assert space.validate({"opt": "adam", "lr": 0.01, "beta2": 0.99}) == {"opt": "adam", "lr": 0.01, "beta2": 0.99}
    with pytest.raises(SearchSpaceError, match=r"\['momentum'\] do not apply"):
        space.validate({"opt": "adam", "lr": 0.01, "beta2": 0.99, "momentum": 0.9})
    with pytest.raises(SearchSpaceError, match=r"missing values for parameters \['beta2'\]"):
        space.validate({"opt": "adam", "lr": 0.01})


def test_inactive_keys_never_make_two_configurations_distinct() -> None:
    space = SearchSpace.from_config(TREE)
    a = {"opt": "adam", "lr": 0.01, "beta2": 0.99}
    assert space.key(a) == space.key({**a, "momentum": 0.7}) == space.key({**a, "momentum": 0.8})
    assert space.key(a) != space.key({**a, "beta2": 0.98})


def test_random_samples_the_tree_and_each_branch_gets_only_its_keys() -> None:
    space = SearchSpace.from_config(TREE)
    points = RandomSearch(space, seed=0).ask(400)
    for p in points:
        assert set(p) == set(space.active(p))
        assert ("beta2" in p) == (p["opt"] == "adam")
        assert ("momentum" in p) == (p["opt"] == "sgd")
    # both branches are drawn: with 400 fair coin flips, fewer than 150 of one side has
    # probability below 1e-6 (binomial tail), so this cannot flake
    n_sgd = sum(p["opt"] == "sgd" for p in points)
    assert 150 < n_sgd < 250


def test_grid_runs_exactly_the_valid_combinations() -> None:
    space = SearchSpace.from_config({
        "opt": "choice(adam, sgd)",
        "momentum": {"type": "categorical", "choices": [0.0, 0.9], "when": {"opt": "sgd"}},
        "nesterov": {"type": "categorical", "choices": [True, False], "when": {"momentum": 0.9}},
        "beta2": {"sweep": "choice(0.99, 0.999, 0.9999)", "when": {"opt": "adam"}},
        "batch": "choice(32, 64)",
    })
    grid = GridSearch(space)
    points = grid.ask(1000)
    # adam: 3 beta2 x 2 batch = 6; sgd: momentum 0 (nesterov inactive) 2 + momentum 0.9 x 2 nesterov x 2 = 6
    assert grid.size == len(points) == 12 == space.cardinality()
    keys = {space.key(p) for p in points}
    assert len(keys) == 12
    # the same set, computed the plain way: the full product, pruned and deduplicated
    full = [dict(zip(["opt", "momentum", "nesterov", "beta2", "batch"], v)) for v in itertools.product(
        ["adam", "sgd"], [0.0, 0.9], [True, False], [0.99, 0.999, 0.9999], [32, 64])]
    assert keys == {space.key(space.prune(p)) for p in full}
    for p in points:
        assert set(p) == set(space.active(p))


def test_forbidden_combinations_are_never_proposed() -> None:
    space = SearchSpace.from_config({
        "opt": "choice(adam, sgd)",
        "batch": "choice(32, 64, 1024)",
        "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"opt": "sgd"}},
        "forbidden": [{"opt": "sgd", "batch": 1024}],
    })
    assert GridSearch(space, grid_points=2).size == 3 + 2 * 2
    for p in RandomSearch(space, seed=1).ask(300):
        assert not (p["opt"] == "sgd" and p["batch"] == 1024)
    with pytest.raises(SearchSpaceError, match="forbidden"):
        space.validate({"opt": "sgd", "batch": 1024, "momentum": 0.6})


@pytest.mark.parametrize("backend", ["jax", "skopt"])
def test_bayes_proposes_only_complete_allowed_configurations(backend: str) -> None:
    from hpo_sweeper.optimizers.bayes import BayesOptimizer

    space = SearchSpace.from_config({
        "opt": "choice(adam, sgd)",
        "x": {"type": "float", "low": 0.0, "high": 1.0},
        "momentum": {"type": "float", "low": 0.0, "high": 1.0, "when": {"opt": "sgd"}},
        "beta": {"type": "float", "low": 0.0, "high": 1.0, "when": {"opt": "adam"}},
        "forbidden": [{"opt": "adam", "x": [0.0, 1.0]}],
    })
    fast = {"n_points": 300, "n_restarts_optimizer": 1} if backend == "skopt" else {}
    opt = BayesOptimizer(space, seed=0, n_initial_points=6, backend=backend, engine_options=fast)

    def f(p: dict) -> float:  # the optimum, 0, lies in the sgd branch at x = 0.3, momentum = 0.8
        if p["opt"] == "sgd":
            return (p["x"] - 0.3) ** 2 + (p["momentum"] - 0.8) ** 2
        return 0.5 + (p["beta"] - 0.5) ** 2

    for _ in range(8):
        batch = opt.ask(2)
        for p in batch:
            assert set(p) == set(space.active(p)), p
            assert not space.is_forbidden(p)
        opt.tell(batch, [f(p) for p in batch])
    best, value = opt.best()  # type: ignore[misc]
    # 16 evaluations: the GP finds the better branch (adam's best is 0.5); 0.5 is a loose bar,
    # chosen so that only landing in the sgd branch passes, not a tuned optimum
    assert best["opt"] == "sgd" and value < 0.5


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"a": "choice(x, y)", "b": {"type": "int", "low": 1, "high": 3, "when": {"c": "x"}}},
         r"parameter 'b': when: unknown parent 'c'"),
        ({"a": "choice(x, y)", "b": {"type": "int", "low": 1, "high": 3, "when": {"a": "z"}}},
         r"parameter 'b': when: 'z' is not a value the parent 'a' can take"),
        ({"a": {"type": "categorical", "choices": [1, 2], "when": {"b": 1}},
          "b": {"type": "categorical", "choices": [1, 2], "when": {"a": 1}}},
         r"conditions form a cycle"),
        ({"a": 3, "b": {"type": "int", "low": 1, "high": 3, "when": {"a": 3}}},
         r"parameter 'b': when: the parent 'a' has a fixed value"),
        ({"a": "interval(0, 1)", "b": {"type": "int", "low": 1, "high": 3, "when": {"a": 0.5}}},
         r"the parent 'a' is continuous"),
        ({"a": "choice(x, y)", "b": {"type": "int", "low": 1, "high": 3, "when": "a"}},
         r"parameter 'b': when must map parent keys"),
        ({"a": "choice(x, y)", "forbidden": [{"q": 1}]}, r"forbidden\[0\]: 'q' is not a searched parameter"),
        ({"a": "choice(x, y)", "forbidden": [{"a": "z"}]}, r"forbidden\[0\]: 'z' is not a value 'a' can take"),
    ],
)
def test_mistakes_are_named_errors(config: dict, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace.from_config(config)


def test_an_unconditional_space_describes_itself_as_before() -> None:
    space = SearchSpace.from_config({"a": "choice(x, y)", "b": "interval(0, 1)"})
    assert set(space.describe()) == {"params", "fixed"}
    assert not space.conditional


SWEEP_SPACE = {
    "opt": "choice(adam, sgd)",
    "x": {"type": "float", "low": 0.0, "high": 1.0},
    "momentum": {"type": "float", "low": 0.0, "high": 1.0, "when": {"opt": "sgd"}},
}


def objective(p: dict) -> float:
    return (p["x"] - 0.3) ** 2 + (p.get("momentum", 0.5) - 0.8) ** 2


def test_enqueue_is_validated_against_the_tree() -> None:
    from hpo_sweeper.sweep import Sweep
    from hpo_sweeper.warm_start import WarmStartError

    space = SearchSpace.from_config(SWEEP_SPACE)
    with pytest.raises(WarmStartError, match=r"enqueue\[0\].*\['momentum'\] do not apply"):
        Sweep(space, "random", enqueue=[{"opt": "adam", "x": 0.5, "momentum": 0.3}])
    with pytest.raises(WarmStartError, match=r"enqueue\[0\].*missing values for parameters \['momentum'\]"):
        Sweep(space, "random", enqueue=[{"opt": "sgd", "x": 0.5}])


def test_resume_and_warm_start_keep_inactive_cells_empty(tmp_path: Any) -> None:
    from conftest import read_trials

    from hpo_sweeper.sweep import Sweep

    space = SearchSpace.from_config(SWEEP_SPACE)
    first = tmp_path / "first"
    store = str(tmp_path / "trials.db")
    Sweep(space, "random", sweep_dir=first, storage=store, seed=3,
          enqueue=[{"opt": "adam", "x": 0.5}]).optimize(objective, 6)
    # resumed from the store: the six recorded trials are read back (adam rows without momentum), six more run
    Sweep(space, "random", sweep_dir=first, storage=store, seed=3,
          enqueue=[{"opt": "adam", "x": 0.5}]).optimize(objective, 12)
    rows = read_trials(first)
    assert len(rows) == 12
    assert len({(r["opt"], r["x"], r["momentum"]) for r in rows}) == 12
    for r in rows:
        assert (r["momentum"] == "") == (r["opt"] == "adam"), r
    # a warm start from that trials.csv: every row fits the tree, so all twelve are told
    second = Sweep(space, "bayes", sweep_dir=tmp_path / "second", seed=0, n_initial_points=2,
                   warm_start=[str(first / "trials.csv")])
    assert len(second.warm_start) == 12
    second.optimize(objective, 3)
    for r in read_trials(tmp_path / "second"):
        assert (r["momentum"] == "") == (r["opt"] == "adam"), r


def test_skopt_is_told_one_constant_for_each_inactive_dimension() -> None:
    """skopt has no conditions: an observation's inactive parameters reach it as one constant
    each (the middle of a numeric range, a categorical's first choice), so within a branch the
    GP sees that dimension as constant, as the JAX engine's imputation does."""
    from hpo_sweeper.optimizers.bayes import BayesOptimizer

    space = SearchSpace.from_config(TREE)
    opt = BayesOptimizer(space, seed=1, n_initial_points=6, backend="skopt",
                         engine_options={"n_points": 300, "n_restarts_optimizer": 1})
    for _ in range(5):
        batch = opt.ask(2)
        for p in batch:
            assert set(p) - set(space.fixed) == set(space.active(p)), p
        opt.tell(batch, [p["lr"] + (p.get("momentum", 0.0) if p["opt"] == "sgd" else 0.3) for p in batch])
    told = opt.engine_state.opt.Xi
    names = [p.name for _, p in opt.engine_state.searched]
    rows = [dict(zip(names, x)) for x in told]
    adam = [r for r in rows if r["opt"] == str(space.params[0].index_of("adam"))]
    sgd = [r for r in rows if r["opt"] == str(space.params[0].index_of("sgd"))]
    assert adam and sgd  # both branches observed (else the test would not bite)
    mid = (0.5 + 0.99) / 2
    assert all(r["momentum"] == pytest.approx(mid) and r["nesterov"] == "0" for r in adam), adam
    assert all(r["beta2"] == pytest.approx((0.9 + 0.9999) / 2) for r in sgd), sgd
    assert len({r["momentum"] for r in sgd}) > 1  # active: the real values


def test_fixing_a_parent_keeps_to_its_branch() -> None:
    """What the command line's ``opt=adam`` does to the tree (conditions.fix_parents): sgd's children
    go, with their own children (dampening hangs on nesterov), adam's lose the condition."""
    from hpo_sweeper.conditions import fix_parents, split_conditions

    space = SearchSpace.from_config(TREE)
    _, when, _ = split_conditions(TREE)
    forbidden = [{"opt": "sgd", "lr": 0.1}, {"opt": "adam", "lr": 0.1}, {"nesterov": True}]
    opt = {"opt": space.params[0]}
    remaining, kept, dropped = fix_parents(when, forbidden, {"opt": "adam"}, opt)
    assert dropped == ["momentum", "nesterov", "dampening"]
    assert remaining == {}  # beta2's 'when' held: searched in every job
    assert kept == [{"lr": 0.1}]  # sgd's entry cannot match, nesterov is gone; adam's keeps its other key
    remaining, kept, dropped = fix_parents(when, forbidden, {"opt": "sgd"}, opt)
    assert dropped == ["beta2"] and set(remaining) == {"dampening"}
    assert kept == [{"lr": 0.1}, {"nesterov": True}]
    with pytest.raises(SearchSpaceError, match=r"forbidden\[0\] forbids every configuration .* opt='sgd'"):
        fix_parents(when, [{"opt": "sgd"}], {"opt": "sgd"}, opt)
    with pytest.raises(SearchSpaceError, match=r"parameter 'beta2': when: 'adma' is not a value the parent 'opt'"):
        fix_parents({"beta2": {"opt": "adma"}}, [], {"opt": "sgd"}, opt)
