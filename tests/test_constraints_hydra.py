"""A constrained sweep of the example app, as a user runs it: ``python train.py -m
+experiment=constrained_mlp`` (issue #16: "a constrained sweep of the example app never reports
an infeasible trial as best"), and its bad settings refused before any job."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, job_dirs, read_results, read_trials, run_app_subprocess


def test_a_constrained_sweep_of_the_example_app_never_reports_an_infeasible_best(tmp_path: Path) -> None:
    # A budget of 5,000 weights and biases: with 2 hidden layers, widths above ~40 break it. (That an
    # infeasible trial better than the best is still never the best: test_constraints.py, where
    # every infeasible trial is better.)
    sweep_dir = tmp_path / "sweep"
    proc = run_app_subprocess(
        [f"hydra.sweep.dir={sweep_dir}", "+experiment=constrained_mlp", "hydra.sweeper.constraints.n_params.max=5000",
         "hydra.sweeper.n_trials=6", "hydra.sweeper.n_initial_points=4", "hydra.sweeper.seed=0", "train.epochs=2",
         "hydra.sweeper.plots=false"],
        script=ROOT / "train.py", timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_trials(sweep_dir)
    results = read_results(sweep_dir)
    infeasible = [r for r in rows if r["status"] == "infeasible"]
    feasible = [r for r in rows if r["status"] == "completed"]
    assert infeasible and feasible and len(rows) == 6
    assert all(float(r["constraint.n_params"]) > 5000 and "n_params=" in r["error"] for r in infeasible)
    assert all(float(r["constraint.n_params"]) <= 5000 for r in feasible)
    best = min(feasible, key=lambda r: float(r["value"]))
    assert results["best_trial"] == int(best["number"]) and results["best_value"] == float(best["value"])
    assert results["n_feasible"] == len(feasible) and results["n_infeasible"] == len(infeasible)
    assert results["n_failed"] == 0 and "feasibility" not in results


@pytest.mark.parametrize("override, words", [
    ("hydra.sweeper.constraints.n_params.maxi=5000", "constraints.n_params has no bound maxi"),
    ("hydra.sweeper.constraints.n_params={min: 9, max: 1}", "constraints.n_params: min 9 is greater than max 1"),
    ("hydra.sweeper.objective=null", "objective is null (the task returns a bare number"),
    ("hydra.sweeper.constraints_oom=maybe", "constraints_oom must be one of ['failed', 'infeasible']"),
])
def test_bad_constraints_are_named_before_any_job(tmp_path: Path, override: str, words: str) -> None:
    sweep_dir = tmp_path / "sweep"
    proc = run_app_subprocess([f"hydra.sweep.dir={sweep_dir}", "+experiment=constrained_mlp", override],
                              script=ROOT / "train.py", timeout=300)
    assert proc.returncode != 0
    assert words in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert not job_dirs(sweep_dir) and not (sweep_dir / "trials.db").exists()
