"""Sweeps through hydra-ray-launcher on a real local Ray cluster (issue 18): the README's recipe as
written, and faults (a task that raises, a worker killed) that must become failed trials."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, readme_command

pytestmark = pytest.mark.ray

APP = Path(__file__).parent / "launcher_app" / "app.py"


def run(script: Path, args: list[str], address: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAY_ADDRESS": address, "HYDRA_FULL_ERROR": "0", "JAX_PLATFORMS": "cpu",
           "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, str(script), "-m", *args], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_readme_ray_recipe(ray_cluster: str, tmp_path: Path) -> None:
    args = readme_command("ray")
    res = run(ROOT / "train.py", [*args, f"hydra.sweep.dir={tmp_path / 's'}"], ray_cluster)
    assert res.returncode == 0, res.stdout[-5000:]
    assert "Connected to Ray cluster" in res.stdout or "Connecting to existing Ray cluster" in res.stdout, (
        "the sweep must run on the test cluster, not on a Ray instance of its own"
    )
    trials = rows(tmp_path / "s")
    n_trials = int(next(a for a in args if a.startswith("hydra.sweeper.n_trials=")).split("=")[1])
    assert len(trials) == n_trials and all(t["status"] == "completed" for t in trials), trials
    summary = yaml.safe_load((tmp_path / "s" / "optimization_results.yaml").read_text())
    assert summary["n_completed"] == n_trials and summary["n_failed"] == 0
    # Each value is the val_loss its own job logged (train.py logs it in its job dir), so every
    # result came back to the trial that produced it.
    for t in trials:
        log = (tmp_path / "s" / t["number"] / "train.log").read_text()
        assert f"val_loss={float(t['value']):.4f}" in log


@pytest.mark.parametrize("crash", ["raise", "kill"])
def test_ray_faults_become_failed_trials(ray_cluster: str, tmp_path: Path, crash: str) -> None:
    # The first batch of 4 is enqueued, so the crash (x > 0.7) hits a batch with three healthy
    # batch-mates whatever the seed draws. max_retries=0: Ray would otherwise rerun a killed task 3 times.
    res = run(APP, [f"hydra.sweep.dir={tmp_path / 's'}", "hydra/sweeper=bayes", "hydra/launcher=ray",
                    "+hydra.launcher.ray.init.object_store_memory=null", "+hydra.launcher.ray.remote.max_retries=0",
                    "hydra.sweeper.batch_size=4", "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0",
                    "hydra.sweeper.max_failure_rate=1.0", "sleep=0.5", "crash_above=0.7", f"crash={crash}",
                    "hydra.sweeper.enqueue=[{x: 0.1}, {x: 0.9}, {x: 0.2}, {x: 0.4}]"],
              ray_cluster)
    assert res.returncode == 0, res.stdout[-5000:]
    trials = rows(tmp_path / "s")
    finished = [t for t in trials if t["status"] in ("completed", "failed")]
    assert len(finished) == len(trials) == 8, trials
    assert len({t["x"] for t in trials}) == 8  # no configuration ran twice as a trial
    crashed = [t for t in trials if float(t["x"]) > 0.7]
    assert any(float(t["x"]) == 0.9 for t in crashed)
    for t in crashed:
        assert t["status"] == "failed", t
        if crash == "raise":  # Hydra catches it in the worker: an ordinary failed trial
            assert "RuntimeError: x=" in t["error"], t
        else:  # the worker process died, in its first run and in its one rerun (max_reruns=1)
            assert "worker process died" in t["error"] and "twice" in t["error"], t
    # Everything else completed, each with its own result: a killed worker's batch-mates were run
    # again rather than failed (hydra-ray-launcher gives up on the whole batch at the dead worker).
    for t in trials:
        if float(t["x"]) <= 0.7:
            assert t["status"] == "completed", t
            assert float(t["value"]) == pytest.approx((float(t["x"]) - 0.3) ** 2, rel=1e-9)
