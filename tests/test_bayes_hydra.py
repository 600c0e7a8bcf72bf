"""The bayes sweeper through Hydra, on both engines: mixed spaces, failures, NaN, batches."""

from __future__ import annotations

import pytest
from conftest import read_results, read_trials

MIXED = [
    "x=interval(-1, 1)",
    "y=tag(log, interval(0.01, 1))",
    "a=tag(log, int(interval(1, 64)))",
    "value='hello world',true,null,2.5",
    "group=x,y",
]


@pytest.mark.parametrize("backend", ["skopt", "jax"])
def test_mixed_space_with_crashing_and_nan_trials_completes(quadratic_sweep, backend: str) -> None:
    sweep_dir, _ = quadratic_sweep([
        "hydra/sweeper=bayes", f"hydra.sweeper.backend={backend}", "hydra.sweeper.n_trials=12",
        "hydra.sweeper.seed=0", "hydra.sweeper.n_initial_points=4",
        "fail_jobs=[1,6]", "nan_jobs=[2,8]", *MIXED,
    ])
    trials = read_trials(sweep_dir)
    assert len(trials) == 12
    failed = {int(t["number"]) for t in trials if t["status"] == "failed"}
    assert failed == {1, 2, 6, 8}
    assert all(t["error"] for t in trials if t["status"] == "failed")
    # Every configuration is distinct and inside the space, with the right types in the CSV.
    # The parameter named "value" gets the column params.value; "value" is the objective.
    keys = {(t["x"], t["y"], t["a"], t["params.value"], t["group"]) for t in trials}
    assert len(keys) == 12
    for t in trials:
        assert -1 <= float(t["x"]) <= 1 and 0.01 <= float(t["y"]) <= 1
        assert 1 <= int(t["a"]) <= 64 and t["params.value"] in ("hello world", "true", "null", "2.5")
        assert t["group"] in ("x", "y")
    summary = read_results(sweep_dir)
    assert summary["n_completed"] == 8 and summary["n_failed"] == 4
    assert summary["best_value"] == min(float(t["value"]) for t in trials if t["status"] == "completed")


@pytest.mark.parametrize("backend", ["skopt", "jax"])
def test_batches_of_four_are_distinct_valid_points(quadratic_sweep, backend: str) -> None:
    sweep_dir, returns = quadratic_sweep([
        "hydra/sweeper=bayes", f"hydra.sweeper.backend={backend}", "hydra.sweeper.n_trials=12",
        "hydra.sweeper.batch_size=4", "hydra.sweeper.seed=1", "hydra.sweeper.n_initial_points=4",
        "x=interval(0, 1)", "y=interval(-1, 1)",
    ])
    assert [len(batch) for batch in returns] == [4, 4, 4]  # one launch() call per batch
    trials = read_trials(sweep_dir)
    for b in range(3):
        batch = trials[4 * b : 4 * b + 4]
        assert len({(t["x"], t["y"]) for t in batch}) == 4
        # Spread out: no two points of a model-guided batch sit on top of each other.
        if b:
            pts = [(float(t["x"]), float(t["y"])) for t in batch]
            gaps = [abs(p[0] - q[0]) + abs(p[1] - q[1]) for i, p in enumerate(pts) for q in pts[i + 1 :]]
            assert min(gaps) > 1e-3


def test_maximize_reports_the_users_values(quadratic_sweep) -> None:
    sweep_dir, _ = quadratic_sweep([
        "hydra/sweeper=bayes", "hydra.sweeper.backend=skopt", "hydra.sweeper.direction=maximize",
        "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0", "x=interval(0, 1)",
    ])
    trials = read_trials(sweep_dir)
    values = [float(t["value"]) for t in trials]
    assert all(v > 0 for v in values)  # the quadratic's own (positive) values, not negated ones
    summary = read_results(sweep_dir)
    assert summary["best_value"] == max(values)
