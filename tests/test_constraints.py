"""Constrained sweeps (issue #16) through the library: the ``constraints`` and ``constraints_oom``
settings, the ``infeasible`` status (stored, resumed, never the best), the results files, and the
JAX model's probability of feasibility. The Hydra run of the example app is in
test_constraints_hydra.py."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from hpo_sweeper import Kind, OptimizerError, Parameter, SearchSpace, Sweep, SweepConfigError, TrialStatus
from hpo_sweeper.constraints import model_bounds, model_rows, parse_constraints
from hpo_sweeper.pareto import hypervolume
from hpo_sweeper.store import load_trials


def space() -> SearchSpace:
    return SearchSpace((Parameter("x", Kind.FLOAT, low=-2.0, high=2.0), Parameter("y", Kind.FLOAT, low=-2.0, high=2.0)),
                       {})


def bowl(p: dict[str, Any]) -> dict[str, float]:
    """Minimised at (0, 0), which breaks g >= 1: the constrained optimum is (0.5, 0.5), loss 0.5."""
    x, y = p["x"], p["y"]
    return {"loss": x * x + y * y, "g": x + y}


BOWL = {"objective": "loss", "constraints": {"g": {"min": 1.0}}}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"constraints": {"g": {"max": 1}}}, "objective is null (the task returns a bare number"),
        ({**BOWL, "constraints": {"g": {"maximum": 1}}}, "constraints.g has no bound maximum"),
        ({**BOWL, "constraints": {"g": {"min": 2, "max": 1}}}, "constraints.g: min 2 is greater than max 1"),
        ({**BOWL, "constraints": {"g": {"max": "40GB"}}}, "constraints.g.max must be a finite number, got '40GB'"),
        ({**BOWL, "constraints": {"g": {"max": math.nan}}}, "constraints.g.max must be a finite number"),
        ({**BOWL, "constraints": {"g": 40}}, "constraints.g must be a mapping with min and/or max"),
        ({**BOWL, "constraints": {"g": {}}}, "constraints.g needs min, max or both"),
        ({**BOWL, "constraints": {"metrics..g": {"max": 1}}}, "is not a dotted key"),
        ({**BOWL, "constraints": [{"g": {"max": 1}}]}, "constraints must be a mapping of dotted keys"),
        ({**BOWL, "constraints_oom": "ignore"}, "constraints_oom must be one of ['failed', 'infeasible']"),
        ({**BOWL, "warm_start": ["old.db"]}, "warm_start trials have no constraint values"),
        ({**BOWL, "pruner": {"type": "median"}}, "pruner with constraints is not supported"),
        ({"ref_point": [1.0, 2.0]}, "ref_point is the hypervolume reference of a multi-objective sweep"),
        ({"direction": ["minimize", "minimize"], "ref_point": [1.0]}, "ref_point must be a list of 2 numbers"),
        ({"direction": ["minimize", "minimize"], "ref_point": [1.0, math.inf]}, "ref_point[1] must be a finite"),
        ({"direction": ["minimize", "minimize"], "ref_point": [1.0, "far"]}, "ref_point[1] must be a finite"),
    ],
)
def test_bad_constraint_settings_are_named_before_any_trial(settings: dict[str, Any], words: str) -> None:
    calls = []
    with pytest.raises(SweepConfigError) as e:
        Sweep(space(), "random", **settings).optimize(lambda p: calls.append(p) or 0.0, n_trials=2)
    assert words in str(e.value) and not calls


def test_an_infeasible_trial_is_recorded_with_its_values_and_never_best(tmp_path: Path) -> None:
    # Every infeasible trial of the bowl is better than the constrained optimum: a best that
    # ignored the constraints would be one of them.
    out, db = tmp_path / "out", tmp_path / "t.db"
    sweep = Sweep(space(), "random", seed=0, storage=str(db), sweep_dir=out, **BOWL)
    best = sweep.optimize(bowl, n_trials=20)
    trials = sweep.trials
    infeasible = [t for t in trials if t.status is TrialStatus.INFEASIBLE]
    feasible = [t for t in trials if t.status is TrialStatus.COMPLETED]
    assert infeasible and feasible and len(infeasible) + len(feasible) == 20
    assert all(t.value == bowl(t.params)["loss"] and t.constraint_values == {"g": bowl(t.params)["g"]}
               for t in trials)
    assert all(t.constraint_values["g"] < 1.0 and "g=" in (t.error or "") for t in infeasible)  # type: ignore[index]
    assert best is not None and best.status is TrialStatus.COMPLETED
    assert best.value == min(t.value for t in feasible)  # type: ignore[type-var]
    assert min(t.value for t in infeasible) < best.value  # type: ignore[operator, type-var]
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["best_trial"] == best.number and results["n_feasible"] == len(feasible)
    assert results["n_infeasible"] == len(infeasible) and results["n_failed"] == 0 and "feasibility" not in results
    rows = read_csv(out / "trials.csv")
    assert [r["status"] for r in rows] == [t.status.value for t in trials]
    assert [float(r["constraint.g"]) for r in rows] == [t.constraint_values["g"] for t in trials]  # type: ignore[index]
    # Durable: a new process's view of the store has the status and the constraint values.
    stored, _ = load_trials(db)
    assert [(t.status, t.value, t.constraint_values) for t in stored] == [
        (t.status, t.value, t.constraint_values) for t in trials]
    # Resumed: nothing runs again; only the 5 new trials are evaluated.
    calls: list[dict[str, Any]] = []
    again = Sweep(space(), "random", seed=0, storage=str(db), sweep_dir=out, **BOWL)
    again.optimize(lambda p: calls.append(p) or bowl(p), n_trials=25)
    assert len(calls) == 5 and len(again.trials) == 25
    assert [t.status for t in again.trials[:20]] == [t.status for t in trials]


def test_a_changed_constraint_is_a_changed_meaning_on_resume(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    Sweep(space(), "random", seed=0, storage=db, **BOWL).optimize(bowl, n_trials=3)
    with pytest.raises(Exception, match="constraints"):
        Sweep(space(), "random", seed=0, storage=db, objective="loss",
              constraints={"g": {"min": 0.0}}).optimize(bowl, n_trials=4)


def test_no_feasible_trial_is_said_and_the_sweep_succeeds(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    # max_failure_rate=0: a single failure would stop the sweep; infeasible trials are not failures.
    sweep = Sweep(space(), "random", seed=1, sweep_dir=out, objective="loss", max_failure_rate=0.0,
                  constraints={"g": {"min": 5.0}})  # x + y <= 4 everywhere
    with caplog.at_level("WARNING", logger="hpo_sweeper"):
        assert sweep.optimize(bowl, n_trials=6) is None
    assert all(t.status is TrialStatus.INFEASIBLE for t in sweep.trials)
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["best_trial"] is None and results["n_feasible"] == 0 and results["n_infeasible"] == 6
    assert "no trial was feasible" in results["feasibility"]
    assert "No trial was feasible" in caplog.text


def test_a_missing_constraint_key_fails_the_trial_by_name() -> None:
    sweep = Sweep(space(), "random", seed=0, objective="loss", constraints={"metrics.mem": {"max": 1}},
                  max_failure_rate=1.0)
    with pytest.raises(Exception, match="every trial failed"):
        sweep.optimize(bowl, n_trials=2)
    assert all(t.status is TrialStatus.FAILED and "constraint metrics.mem" in (t.error or "") for t in sweep.trials)


@pytest.mark.parametrize("crash", [MemoryError("alloc"), RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")])
def test_out_of_memory_counts_as_infeasible_when_asked(crash: Exception, tmp_path: Path) -> None:
    def task(p: dict[str, Any]) -> dict[str, float]:
        if p["x"] > 0:
            raise crash
        return bowl(p)

    for oom, status in (("failed", TrialStatus.FAILED), ("infeasible", TrialStatus.INFEASIBLE)):
        sweep = Sweep(space(), "random", seed=0, max_failure_rate=1.0, sweep_dir=tmp_path / oom, constraints_oom=oom,
                      **BOWL)
        sweep.optimize(task, n_trials=10)
        crashed = [t for t in sweep.trials if t.params["x"] > 0]
        assert crashed and all(t.status is status and t.value is None and t.constraint_values is None
                               and type(crash).__name__ in (t.error or "") for t in crashed)
    results = yaml.safe_load((tmp_path / "infeasible" / "optimization_results.yaml").read_text())
    assert results["n_failed"] == 0 and results["n_infeasible"] >= len(crashed)


def test_a_multi_objective_front_leaves_infeasible_trials_out(tmp_path: Path) -> None:
    def task(p: dict[str, Any]) -> dict[str, float]:
        return {"a": p["x"], "b": p["y"], "g": p["x"] + p["y"]}

    out = tmp_path / "out"
    sweep = Sweep(space(), "random", seed=0, sweep_dir=out, direction=["minimize", "minimize"], objective=["a", "b"],
                  constraints={"g": {"min": 0.0}}, plots=True)
    sweep.optimize(task, n_trials=20)
    front = sweep.pareto_front()
    infeasible = [t for t in sweep.trials if t.status is TrialStatus.INFEASIBLE]
    assert infeasible and front and all(t.status is TrialStatus.COMPLETED for t in front)
    # Without the constraint, some infeasible point would dominate the front (they lie below it).
    assert any(all(i.values[j] <= f.values[j] for j in range(2)) for i in infeasible for f in front)  # type: ignore[index]
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert {s["trial"] for s in results["solutions"]} == {t.number for t in front}
    assert results["n_infeasible"] == len(infeasible) and (out / "pareto.png").stat().st_size > 0


def test_ref_point_is_the_hypervolume_reference_in_the_objectives_own_units(tmp_path: Path) -> None:
    def task(p: dict[str, Any]) -> tuple[float, float]:
        return p["x"] ** 2, -((p["y"] - 1) ** 2)  # the second is maximised

    out = tmp_path / "out"
    Sweep(space(), "random", seed=0, sweep_dir=out, direction=["minimize", "maximize"],
          ref_point=[5.0, -10.0]).optimize(task, n_trials=12)
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["ref_point"] == [5.0, -10.0]
    values = np.array([s["values"] for s in results["solutions"]])
    assert results["hypervolume"] == pytest.approx(hypervolume(values * [1, -1], [5.0, 10.0]))
    assert results["hypervolume"] > 0


def test_the_skopt_backend_refuses_constraints_by_name() -> None:
    with pytest.raises(OptimizerError, match="backend='skopt' cannot model constraints"):
        Sweep(space(), "bayes", backend="skopt", **BOWL).check(5)


def test_a_crash_is_imputed_beyond_the_worst_violation() -> None:
    bounds = model_bounds(parse_constraints({"mem": {"max": 40}, "t": {"min": 1}}, error=ValueError), True)
    C = model_rows([[10.0, 2.0], [50.0, 0.5], [math.nan, math.nan]], bounds)
    assert C[2, 0] > 50.0 and C[2, 1] < 0.5  # past the worst on the violating side of each bound
    assert np.all(C[:2] == [[10.0, 2.0], [50.0, 0.5]])
    # With no constraint, an out-of-memory crash is a 0/1 column bounded by 0.5.
    assert model_bounds([], True).tolist() == [[-math.inf, 0.5]]


def test_bayes_finds_the_constrained_optimum_and_proposes_feasible_points() -> None:
    """The JAX engine with one GP per output, LogEI x P(feasible). 20 trials (6 initial). The
    unconstrained optimum (0, 0) is infeasible, so EI alone would keep proposing near it.
    Thresholds, measured over seeds 0-2 (2026-12-02, load 12): the best was within 0.002 of 0.5 and
    14 of the 14 model-guided trials feasible; random search with the same seeds got best 0.81-1.05
    and 4-6 of those 14 trials feasible. "Within 0.1, at least 9 of 14" leaves room for noise and
    still fails an engine that ignored the constraint (it would cluster at the infeasible (0, 0))."""
    for seed in (0, 1):
        sweep = Sweep(space(), "bayes", seed=seed, n_initial_points=6, **BOWL)
        best = sweep.optimize(bowl, n_trials=20)
        assert best is not None and best.value < 0.5 + 0.1 and best.params["x"] + best.params["y"] >= 1.0
        guided = sweep.trials[6:]
        assert sum(t.status is TrialStatus.COMPLETED for t in guided) >= 9, [t.status for t in guided]


def test_bayes_learns_where_trials_run_out_of_memory() -> None:
    """constraints_oom=infeasible with no constraints: the 0/1 "ran out of memory" column. The
    task crashes for x < 0.5 (5/8 of the space, the unconstrained optimum (0, 0) in it), so a
    model that learnt nothing from the crashes would keep proposing there. Threshold, measured
    over seeds 0-2 (2026-12-02, load 12): 0-1 of the 14 model-guided trials crashed; random
    search with the same seeds crashed in 6-12 of them. At most 3 leaves room for noise."""
    def task(p: dict[str, Any]) -> dict[str, float]:
        if p["x"] < 0.5:
            raise MemoryError("out of memory")
        return bowl(p)

    for seed in (0, 1):
        sweep = Sweep(space(), "bayes", seed=seed, n_initial_points=6, objective="loss", constraints_oom="infeasible",
                      max_failure_rate=0.0)  # a crash is not a failure here
        sweep.optimize(task, n_trials=20)
        guided = sweep.trials[6:]
        assert sum(t.status is TrialStatus.INFEASIBLE for t in guided) <= 3, [t.params for t in guided]
        best = sweep.best()
        assert best is not None and best.params["x"] >= 0.5
