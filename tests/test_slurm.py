"""Sweeps through hydra-submitit-launcher on a real one-node SLURM cluster (issue 18), started by the
``slurm_cluster`` fixture with scripts/slurm-local.sh: real sbatch jobs, scancel, SLURM's time limit,
and a sweep process killed while its jobs are queued."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, readme_command, replace_args

pytestmark = pytest.mark.slurm

APP = Path(__file__).parent / "slurm_app" / "app.py"

#: The README recipe's cluster-specific values, for this one-node CPU cluster (2 CPUs, no GPUs,
#: partition `debug`), and n_trials cut from 64 to keep the test short. The README names these.
CLUSTER_VALUES = {
    "hydra.launcher.partition": "debug",
    "hydra.launcher.gpus_per_node": "null",
    "hydra.launcher.cpus_per_task": "1",
    "hydra.sweeper.batch_size": "2",
    "hydra.sweeper.n_trials": "4",
}


def env() -> dict[str, str]:
    return {**os.environ, "HYDRA_FULL_ERROR": "0", "JAX_PLATFORMS": "cpu"}


def command(script: Path, args: list[str]) -> list[str]:
    return [sys.executable, str(script), "-m", *args]


def run(script: Path, args: list[str], timeout: int = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(script, args), cwd=ROOT, env=env(), text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def jobs(name: str) -> list[tuple[str, str]]:
    """(job id, state) of the queued and running jobs named ``name``, array tasks one by one."""
    out = subprocess.run(["squeue", "-h", "-r", "-n", name, "-o", "%i %T"], capture_output=True, text=True,
                         check=True).stdout
    return [tuple(line.split()) for line in out.splitlines()]  # type: ignore[misc]


def sacct_states(job_ids: list[str]) -> dict[str, str]:
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "JobID,State", *(f"-j{j}" for j in job_ids)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("|", 1) for line in out.splitlines())


def wait_until(what: str, condition: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def check_values(trials: list[dict[str, str]]) -> None:
    for t in trials:
        if t["status"] == "completed":
            assert float(t["value"]) == pytest.approx((float(t["x"]) - 0.3) ** 2, rel=1e-9)


def test_readme_slurm_recipe(slurm_cluster: None, tmp_path: Path) -> None:
    args = replace_args(readme_command("submitit_slurm"), CLUSTER_VALUES)
    sweep_dir = tmp_path / "s"
    res = run(ROOT / "train.py", [*args, f"hydra.sweep.dir={sweep_dir}"])
    assert res.returncode == 0, res.stdout[-5000:]
    trials = rows(sweep_dir)
    assert len(trials) == 4 and all(t["status"] == "completed" for t in trials), trials
    summary = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert summary["n_completed"] == 4
    # Real sbatch jobs: submitit's folders are named by SLURM job id, and accounting has them all done.
    job_ids = sorted(p.name for p in (sweep_dir / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", p.name))
    assert len(job_ids) == 4, job_ids  # 2 batches, each an array job of 2 tasks (<job id>_<task>)
    assert set(sacct_states(job_ids).values()) == {"COMPLETED"}
    for t in trials:  # each value is the val_loss its own job logged
        log = (sweep_dir / t["number"] / "train.log").read_text()
        assert f"val_loss={float(t['value']):.4f}" in log


def test_scancel_and_time_limit_become_failed_trials(slurm_cluster: None, tmp_path: Path) -> None:
    name = f"hpo-faults-{uuid.uuid4().hex[:8]}"
    sweep_dir = tmp_path / "s"
    # Trials 0 and 2 hang (x > hang_above): 0 runs into timeout_min=1 and is ended by SLURM; the test
    # cancels 2 with scancel. Their batch-mates 1 and 3 finish normally; 4 and 5 are the GP's.
    # signal_delay_s=15: submitit's USR2 warning comes 15 s before the limit (its default of 120 s
    # is longer than this job's whole time).
    args = [f"hydra.sweep.dir={sweep_dir}", "hydra/sweeper=bayes", "hydra/launcher=submitit_slurm",
            f"hydra.launcher.name={name}", "hydra.launcher.partition=debug", "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.timeout_min=1", "hydra.launcher.signal_delay_s=15",
            "hydra.sweeper.batch_size=2", "hydra.sweeper.n_trials=6", "hydra.sweeper.seed=0",
            "hydra.sweeper.max_failure_rate=1.0", "hang_above=0.85", "sleep=1",
            # A job SLURM ends (time limit, scancel) leaves no record: to the sweeper its process
            # died, and by default it runs once more (max_reruns=1). 0: failed at once, as tested here.
            "hydra.sweeper.max_reruns=0",
            "hydra.sweeper.enqueue=[{x: 0.9}, {x: 0.1}, {x: 0.95}, {x: 0.2}]"]
    proc = subprocess.Popen(command(APP, args), cwd=ROOT, env=env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        # The second batch: cancel trial 2's job (array task 0) once trial 3's job (task 1) is done.
        def second_batch() -> str | None:
            if not (sweep_dir / "trials.csv").exists() or len(rows(sweep_dir)) < 4:
                return None
            queued = dict(jobs(name))
            hung = [j for j, state in queued.items() if j.endswith("_0") and state == "RUNNING"]
            return hung[0] if hung and not any(j.endswith("_1") for j in queued) else None

        job = wait_until("the second batch, trial 3 done", second_batch, timeout=240)
        subprocess.run(["scancel", job], check=True)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out[-5000:]
    trials = rows(sweep_dir)
    assert [float(t["x"]) for t in trials[:4]] == [0.9, 0.1, 0.95, 0.2]
    assert all(float(t["x"]) <= 0.85 for t in trials[4:]), "seed 0 must not make the GP's trials hang"
    by_number = {int(t["number"]): t for t in trials}
    # submitit's USR2 handler ends the job just before SLURM would (not checkpointable, so no requeue).
    assert by_number[0]["status"] == "failed" and "timed-out" in by_number[0]["error"], by_number[0]
    # scancel: SLURM sends the job submitit's USR2 first, so submitit words it the same way.
    assert by_number[2]["status"] == "failed" and by_number[2]["error"], by_number[2]
    assert sacct_states([job])[job].startswith("CANCELLED")
    # The batch-mates and the rest of the sweep completed, each with its own result.
    assert [by_number[n]["status"] for n in (1, 3, 4, 5)] == ["completed"] * 4, trials
    check_values(trials)


def test_resume_after_the_sweeper_is_killed_with_jobs_queued(slurm_cluster: None, tmp_path: Path) -> None:
    name = f"hpo-resume-{uuid.uuid4().hex[:8]}"
    sweep_dir = tmp_path / "s"
    # cpus_per_task=2 takes the whole node: of a batch of 2, one job runs and one waits in the queue.
    args = [f"hydra.sweep.dir={sweep_dir}", "hydra/sweeper=bayes", "hydra/launcher=submitit_slurm",
            f"hydra.launcher.name={name}", "hydra.launcher.partition=debug", "hydra.launcher.cpus_per_task=2",
            "hydra.launcher.timeout_min=5", "hydra.sweeper.batch_size=2", "hydra.sweeper.n_trials=4",
            "hydra.sweeper.seed=0", "sleep=4"]
    proc = subprocess.Popen(command(APP, args), cwd=ROOT, env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until("one job running, one pending",
                   lambda: sorted(s for _, s in jobs(name)) == ["PENDING", "RUNNING"], timeout=120)
    finally:
        proc.send_signal(signal.SIGKILL)  # as by the OOM killer or a lost login node: no clean-up at all
        proc.wait()
    before = rows(sweep_dir)
    assert [t["status"] for t in before] == ["running", "running"], before

    res = run(APP, args)
    assert res.returncode == 0, res.stdout[-5000:]
    assert "Resuming" in res.stdout
    trials = rows(sweep_dir)
    done = [t for t in trials if t["status"] == "completed"]
    assert len(done) == 4 and len(trials) == 4, trials  # n_trials finished trials, nothing lost or doubled
    check_values(trials)
    # The two configurations the killed sweep had queued were run (recovered, or run again).
    assert {t["x"] for t in before} <= {t["x"] for t in trials}
    numbers = [int(t["number"]) for t in trials]
    assert len(set(numbers)) == 4
    # No job dir was reused: the orphaned jobs kept theirs (0 and 1), and they finish on their own.
    wait_until("the orphaned jobs to leave the queue", lambda: not jobs(name), timeout=120)
