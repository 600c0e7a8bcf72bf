"""Sweeps on Hydra's real launchers (issue 6): joblib processes and submitit's local executor."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

APP = Path(__file__).parent / "launcher_app" / "app.py"


def sweep(sweep_dir: Path, *overrides: str, timeout: int = 400) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", *overrides]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          env={**os.environ, "HYDRA_FULL_ERROR": "0"})


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def check_values(trials: list[dict[str, str]]) -> None:
    """Each completed trial's value is the task's result for that trial's own x."""
    for r in trials:
        if r["status"] == "completed":
            assert float(r["value"]) == pytest.approx((float(r["x"]) - 0.3) ** 2, rel=1e-9)


@pytest.mark.parametrize("kind", ["random", "bayes"])
def test_joblib_batch_runs_concurrently(tmp_path: Path, kind: str) -> None:
    extra = ["hydra.sweeper.backend=skopt"] if kind == "bayes" else []
    res = sweep(tmp_path / "s", f"hydra/sweeper={kind}", *extra, "hydra/launcher=joblib", "hydra.launcher.n_jobs=4",
                "hydra.sweeper.batch_size=4", "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0",
                f"rendezvous_dir={tmp_path / 'meet'}", "rendezvous_size=4")
    assert res.returncode == 0, res.stdout
    trials = rows(tmp_path / "s")
    # Every job waited for its 3 batch-mates to start (tests/launcher_app/app.py): a job only
    # completes when all 4 of its batch ran at once; run one after another, each would fail.
    assert len(trials) == 8 and all(t["status"] == "completed" for t in trials), trials
    check_values(trials)
    assert len({t["x"] for t in trials}) == 8  # no two workers got the same configuration
    assert "workers would idle" not in res.stdout


def test_warning_when_batch_smaller_than_workers(tmp_path: Path) -> None:
    res = sweep(tmp_path / "s", "hydra/sweeper=random", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4",
                "hydra.sweeper.batch_size=2", "hydra.sweeper.n_trials=2")
    assert res.returncode == 0, res.stdout
    assert "batch_size=2 but the launcher runs up to 4 jobs at once" in res.stdout


@pytest.mark.parametrize("crash", ["exit", "kill", "raise"])
def test_joblib_crashed_worker_is_a_failed_trial(tmp_path: Path, crash: str) -> None:
    res = sweep(tmp_path / "s", "hydra/sweeper=random", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                "hydra.sweeper.batch_size=2", "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=1",
                "hydra.sweeper.max_failure_rate=1.0", "crash_above=0.7", f"crash={crash}")
    assert res.returncode == 0, res.stdout
    trials = rows(tmp_path / "s")
    assert len(trials) == 8
    check_values(trials)
    crashed = [t for t in trials if float(t["x"]) > 0.7]
    assert crashed, "seed 1 must draw some x > 0.7 for this test to mean anything"
    assert all(t["status"] == "failed" and t["error"] for t in crashed)
    # The sweep went on: batches without a crash completed in full. (When a worker dies, joblib
    # tears down the whole pool, so a batch-mate still running then fails too, unless it had
    # already finished and left its record.)
    for b in range(0, 8, 2):
        batch = trials[b : b + 2]
        if all(float(t["x"]) <= 0.7 for t in batch):
            assert all(t["status"] == "completed" for t in batch)
    assert any(t["status"] == "completed" for t in trials[4:])


def test_submitit_local_bayes_sweep(tmp_path: Path) -> None:
    res = sweep(tmp_path / "s", "hydra/sweeper=bayes", "hydra.sweeper.backend=skopt", "hydra/launcher=submitit_local",
                "hydra.sweeper.batch_size=2", "hydra.sweeper.n_trials=6", "hydra.sweeper.seed=0",
                "hydra.sweeper.n_initial_points=2", "hydra.launcher.timeout_min=5")
    assert res.returncode == 0, res.stdout
    trials = rows(tmp_path / "s")
    assert len(trials) == 6 and all(t["status"] == "completed" for t in trials)
    check_values(trials)
    summary = yaml.safe_load((tmp_path / "s" / "optimization_results.yaml").read_text())
    assert summary["best_value"] == min(float(t["value"]) for t in trials)


def test_submitit_local_killed_worker_is_a_failed_trial(tmp_path: Path) -> None:
    res = sweep(tmp_path / "s", "hydra/sweeper=random", "hydra/launcher=submitit_local", "hydra.sweeper.batch_size=3",
                "hydra.sweeper.n_trials=6", "hydra.sweeper.seed=1", "hydra.sweeper.max_failure_rate=1.0",
                "crash_above=0.7", "crash=kill", "hydra.launcher.timeout_min=5")
    assert res.returncode == 0, res.stdout
    trials = rows(tmp_path / "s")
    assert len(trials) == 6
    check_values(trials)
    crashed = [t for t in trials if float(t["x"]) > 0.7]
    assert crashed
    assert all(t["status"] == "failed" for t in crashed)
    # submitit runs each job in its own process: a killed job takes no batch-mate with it.
    assert all(t["status"] == "completed" for t in trials if float(t["x"]) <= 0.7)


def test_readme_joblib_recipe(tmp_path: Path) -> None:
    from conftest import ROOT, readme_command

    args = readme_command("joblib")
    res = subprocess.run([sys.executable, str(ROOT / "train.py"), "-m", *args, f"hydra.sweep.dir={tmp_path / 's'}"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=400,
                         env={**os.environ, "HYDRA_FULL_ERROR": "0", "JAX_PLATFORMS": "cpu"})
    assert res.returncode == 0, res.stdout[-5000:]
    trials = rows(tmp_path / "s")
    n_trials = int(next(a for a in args if a.startswith("hydra.sweeper.n_trials=")).split("=")[1])
    assert len(trials) == n_trials and all(t["status"] == "completed" for t in trials), trials
    for t in trials:  # each value is the val_loss its own job logged
        assert f"val_loss={float(t['value']):.4f}" in (tmp_path / "s" / t["number"] / "train.log").read_text()
