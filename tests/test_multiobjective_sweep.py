"""Multi-objective sweeps (issue #16) through the library: a list ``direction``, a vector of
values per trial in the store and the results files, the Pareto front as the sweep's best.
Plain Python objectives (no Hydra here); the Hydra runs are in test_dropin_examples.py."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
import yaml

from hpo_sweeper import Kind, OptimizerError, Parameter, SearchSpace, Sweep, SweepConfigError, TrialStatus
from hpo_sweeper.loop import SweepFailed
from hpo_sweeper.optimizers.factory import create_optimizer
from hpo_sweeper.store import TrialStore, load_trials


def space() -> SearchSpace:
    return SearchSpace((Parameter("x", Kind.FLOAT, low=0.0, high=5.0), Parameter("y", Kind.FLOAT, low=0.0, high=3.0)),
                       {})


def binh_korn(p: dict) -> tuple[float, float]:
    x, y = p["x"], p["y"]
    return 4 * x**2 + 4 * y**2, (x - 5) ** 2 + (y - 5) ** 2


def dominated(a: list[float], b: list[float]) -> bool:
    """Whether ``a`` is dominated by ``b`` (both minimised)."""
    return all(bi <= ai for ai, bi in zip(a, b)) and any(bi < ai for ai, bi in zip(a, b))


def test_random_sweep_records_vectors_and_writes_the_front(tmp_path: Path) -> None:
    sweep = Sweep(space(), "random", seed=0, direction=["minimize", "minimize"], storage=str(tmp_path / "t.db"),
                  sweep_dir=tmp_path / "out")
    assert sweep.optimize(binh_korn, n_trials=15) is None  # no single best: see pareto_front()
    trials = sweep.trials
    assert len(trials) == 15 and all(t.status is TrialStatus.COMPLETED and t.value is None for t in trials)
    assert all(t.values == list(binh_korn(t.params)) for t in trials)
    # the front, checked by brute force against the definition of dominance
    expected = [t.number for t in trials if not any(dominated(t.values, o.values) for o in trials)]
    assert [t.number for t in sweep.pareto_front()] == expected and expected
    results = yaml.safe_load((tmp_path / "out" / "optimization_results.yaml").read_text())
    assert [s["trial"] for s in results["solutions"]] == expected
    assert all(s["values"] == trials[s["trial"]].values and s["params"] == trials[s["trial"]].params
               for s in results["solutions"])
    assert results["n_feasible"] == 15 and results["best_value"] is None
    with open(tmp_path / "out" / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["value_0"]) for r in rows] == [t.values[0] for t in trials]
    assert [float(r["value_1"]) for r in rows] == [t.values[1] for t in trials]
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 0
    # the vectors survive in the store: read back by a new process's view of it
    stored, _ = load_trials(tmp_path / "t.db")
    assert [t.values for t in stored] == [t.values for t in trials]


def test_a_grid_records_the_tuples_it_gets() -> None:
    grid = SearchSpace((Parameter("c", Kind.CATEGORICAL, choices=("a", "b", "c")),
                        Parameter("x", Kind.FLOAT, low=0.0, high=1.0)), {})
    sweep = Sweep(grid, "grid", direction=["minimize", "maximize"], grid_points=3)
    sweep.optimize(lambda p: (p["x"], "abc".index(p["c"]) + p["x"]))
    trials = sweep.trials
    assert len(trials) == 9 and all(t.values == [t.params["x"], "abc".index(t.params["c"]) + t.params["x"]]
                                    for t in trials)
    # minimise x, maximise index + x: at each x, c="c" beats the others; x=0 and x=1 trade off
    assert sorted((t.params["c"], t.params["x"]) for t in sweep.pareto_front()) == [
        ("c", 0.0), ("c", 0.5), ("c", 1.0)]


def test_keys_of_a_returned_dict_name_the_objectives_and_columns(tmp_path: Path) -> None:
    sweep = Sweep(space(), "random", seed=1, direction=["minimize", "maximize"],
                  objective=["metrics.loss", "metrics.acc"], sweep_dir=tmp_path)
    sweep.optimize(lambda p: {"metrics": {"loss": p["x"], "acc": p["y"]}}, n_trials=8)
    trials = sweep.trials
    assert all(t.values == [t.params["x"], t.params["y"]] for t in trials)
    # x minimised, y maximised: on the front unless another trial has both lower x and higher y
    expected = [t.number for t in trials if not any(o.params["x"] <= t.params["x"] and o.params["y"] >= t.params["y"]
                                                    and o is not t for o in trials)]
    assert [t.number for t in sweep.pareto_front()] == expected
    with open(tmp_path / "trials.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[-2:] == ["metrics.loss", "metrics.acc"]


@pytest.mark.parametrize("returned, words", [
    ((1.0, 2.0, 3.0), ["expected 2 objective values", "got 3"]),
    (1.0, ["expected 2 objective values", "float"]),
    ((1.0, float("nan")), ["nan"]),
])
def test_a_wrong_return_fails_the_trial_naming_expected_and_got(returned, words) -> None:
    sweep = Sweep(space(), "random", seed=0, direction=["minimize", "minimize"], max_failure_rate=1.0)
    with pytest.raises(SweepFailed, match="every trial failed"):
        sweep.optimize(lambda p: returned, n_trials=2)
    assert all(t.status is TrialStatus.FAILED and t.values is None for t in sweep.trials)
    assert all(w in sweep.trials[0].error for w in words), sweep.trials[0].error


def test_single_objective_sweeps_store_no_vector(tmp_path: Path) -> None:
    sweep = Sweep(space(), "random", seed=0, storage=str(tmp_path / "t.db"), sweep_dir=tmp_path / "out")
    sweep.optimize(lambda p: p["x"], n_trials=3)
    assert all(t.values is None and t.value == t.params["x"] for t in sweep.trials)
    results = yaml.safe_load((tmp_path / "out" / "optimization_results.yaml").read_text())
    assert "solutions" not in results and "n_feasible" not in results
    with open(tmp_path / "out" / "trials.csv", newline="") as f:
        assert next(csv.reader(f))[-1] == "started_at"
    assert not (tmp_path / "out" / "pareto.png").exists()


def test_a_store_written_before_the_vector_column_opens_and_gains_it(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    Sweep(space(), "random", seed=0, storage=str(db)).optimize(lambda p: p["x"], n_trials=2)
    with sqlite3.connect(db) as c:  # as the store was before issue #16
        c.execute("ALTER TABLE trials DROP COLUMN objective_values")
    assert [t.values for t in load_trials(db)[0]] == [None, None]  # read-only: no column, no vectors
    with TrialStore(db) as store:
        assert len(list(store)) == 2
    with sqlite3.connect(db) as c:
        assert "objective_values" in [r[1] for r in c.execute("PRAGMA table_info(trials)")]


def test_python_api_tell_vectors_and_best_is_the_front() -> None:
    opt = create_optimizer("random", space(), seed=0, direction=["minimize", "maximize"])
    params = opt.ask(3)
    opt.tell(params, [(1.0, 1.0), (2.0, 2.0), (3.0, 1.5)])
    assert opt.best() == [(params[0], [1.0, 1.0]), (params[1], [2.0, 2.0])]
    with pytest.raises(OptimizerError, match="expected 2 values per configuration"):
        opt.tell(params[:1], [(1.0,)])


def test_the_skopt_backend_refuses_a_list_direction_by_name() -> None:
    with pytest.raises(OptimizerError, match=r"backend='skopt' cannot run a multi-objective sweep.*backend=jax"):
        Sweep(space(), "bayes", direction=["minimize", "maximize"], backend="skopt").check(5)


def test_bayes_proposes_by_logehvi_and_records_the_front() -> None:
    sweep = Sweep(space(), "bayes", seed=0, direction=["minimize", "minimize"], n_initial_points=4)
    sweep.optimize(binh_korn, n_trials=8)
    trials = sweep.trials
    assert len(trials) == 8 and all(t.values == list(binh_korn(t.params)) for t in trials)
    assert all(0 <= t.params["x"] <= 5 and 0 <= t.params["y"] <= 3 for t in trials)
    assert len({(t.params["x"], t.params["y"]) for t in trials}) == 8  # no repeats
    expected = [t.number for t in trials if not any(dominated(t.values, o.values) for o in trials)]
    assert [t.number for t in sweep.pareto_front()] == expected


@pytest.mark.parametrize("settings, words", [
    ({"direction": ["minimize", "up"]}, ["direction[1]", "up"]),
    ({"direction": ["minimize", "minimize"], "objective": ["a"]}, ["objective has 1 keys", "direction has 2"]),
    ({"direction": ["minimize", "minimize"], "objective": ["a", "b..c"]}, ["objective[1]", "b..c"]),
    ({"direction": ["minimize", "minimize"], "early_stop": {"patience": 2}}, ["early_stop", "multi-objective"]),
    ({"direction": ["minimize", "minimize"], "warm_start": ["x.db"]}, ["warm_start", "multi-objective"]),
])
def test_bad_multi_objective_settings_are_named(settings, words) -> None:
    with pytest.raises(SweepConfigError) as e:
        Sweep(space(), "random", **settings)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_the_default_ref_point_is_the_default_rule_and_a_given_one_reaches_the_model(tmp_path: Path, monkeypatch) -> None:
    import numpy as np

    from hpo_sweeper import pareto
    from hpo_sweeper.engines.jax_gp import multiobjective as mo

    def task(p: dict) -> tuple[float, float]:
        return p["x"] ** 2, -((p["y"] - 1) ** 2)  # the second is maximised

    out = tmp_path / "default"
    Sweep(space(), "random", seed=0, sweep_dir=out, direction=["minimize", "maximize"]).optimize(task, n_trials=10)
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    Y = np.array([s["values"] for s in results["solutions"]])
    all_values = pareto.to_minimize(np.array([[r["value_0"], r["value_1"]] for r in _csv_rows(out)], dtype=float),
                                    ["minimize", "maximize"])
    np.testing.assert_allclose(results["ref_point"], pareto.reference_point(all_values) * [1, -1])
    assert results["hypervolume"] == pytest.approx(pareto.hypervolume(Y * [1, -1], pareto.reference_point(all_values)))

    seen = []
    real = mo.suggest_multiobjective

    def spy(*args, **kwargs):
        seen.append(kwargs.get("ref_point"))
        return real(*args, **kwargs)

    monkeypatch.setattr(mo, "suggest_multiobjective", spy)
    out = tmp_path / "given"
    Sweep(space(), "bayes", seed=0, sweep_dir=out, direction=["minimize", "maximize"], n_initial_points=3,
          ref_point=[30.0, -9.0]).optimize(task, n_trials=5)
    assert seen and all(list(r) == [30.0, 9.0] for r in seen)  # in minimised units: the maximised one negated
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["ref_point"] == [30.0, -9.0]


def _csv_rows(out: Path) -> list[dict]:
    with open(out / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))
