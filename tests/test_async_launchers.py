"""hydra.sweeper.schedule=async on Hydra's real launchers (issue #15).

Each sweep runs tests/async_app/app.py, whose jobs record when they ran, in which process and
directory. Concurrency is proven by what ran, not by timing: jobs 0-3 wait for each other (all
four ran at once), and job 0 then waits until 8 other jobs have finished, which only a schedule
that starts a new trial the moment a slot frees can give it (in batches of 4, no job starts
before job 0 ends: it would time out and fail).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).parent / "async_app" / "app.py"


def sweep(sweep_dir: Path, *overrides: str, timeout: int = 400) -> tuple[subprocess.CompletedProcess[str], int]:
    cmd = [sys.executable, str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", f"trace_dir={sweep_dir.parent / 'trace'}",
           *overrides]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HYDRA_FULL_ERROR": "0", "JAX_PLATFORMS": "cpu"})
    out, _ = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(cmd, proc.returncode, out), proc.pid


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def traces(tmp_path: Path) -> dict[int, dict[str, Any]]:
    folder = tmp_path / "trace"
    return {int(p.stem): json.loads(p.read_text()) for p in folder.glob("*.json")}


def max_overlap(records: list[dict[str, Any]]) -> int:
    """The most jobs whose recorded [start, end] intervals overlap at one moment. Each job
    records its start after its process began and its end before it returned, so a recorded
    overlap can only understate the true one: never more than the launcher really ran."""
    events = sorted([(r["start"], 1) for r in records] + [(r["end"], -1) for r in records],
                    key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, d in events:
        running += d
        most = max(most, running)
    return most


def check_async_sweep(res: subprocess.CompletedProcess[str], sweeper_pid: int, sweep_dir: Path, *, n_trials: int,
                      max_concurrent: int, min_inside: int) -> None:
    """What every async test checks of a finished sweep of app.py: it succeeded, every trial
    completed with its own job's value, job 0 saw ``min_inside`` other jobs start and end while it
    ran (the freed slots took new trials at once), never more than ``max_concurrent`` ran at once,
    and Hydra's per-job state stayed per job: each job in a process other than the sweeper's, in its
    own job dir <sweep dir>/<trial number>, numbers never shared."""
    assert res.returncode == 0, res.stdout[-5000:]
    assert f"asynchronous, max_concurrent={max_concurrent}" in res.stdout
    trials = rows(sweep_dir)
    assert len(trials) == n_trials and all(t["status"] == "completed" for t in trials), trials
    for t in trials:  # each value is its own job's result
        assert float(t["value"]) == pytest.approx((float(t["x"]) - 0.3) ** 2, rel=1e-9)
    ran = traces(sweep_dir.parent)
    assert sorted(ran) == list(range(n_trials))
    inside = [n for n, r in ran.items() if n != 0 and r["start"] >= ran[0]["start"] and r["end"] <= ran[0]["end"]]
    assert len(inside) >= min_inside, (inside, ran)
    assert max_overlap(list(ran.values())) <= max_concurrent
    for n, r in ran.items():
        assert r["pid"] != sweeper_pid
        assert Path(r["job_dir"]) == sweep_dir / str(n)


ASYNC_CASES = {
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=4"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5",
                       "hydra.sweeper.max_concurrent=4"],
}


@pytest.mark.parametrize("launcher", list(ASYNC_CASES))
def test_async_keeps_every_slot_busy(tmp_path: Path, launcher: str) -> None:
    sweep_dir = tmp_path / "s"
    res, sweeper_pid = sweep(sweep_dir, "hydra/sweeper=random", *ASYNC_CASES[launcher], "hydra.sweeper.schedule=async",
                             "hydra.sweeper.n_trials=12", "hydra.sweeper.seed=0", "meet=4", "hold_for=8")
    # jobs 4.. can only start after job 0 did; 1-3 met it at the start: 5 of the 8 it waits for ran inside it.
    check_async_sweep(res, sweeper_pid, sweep_dir, n_trials=12, max_concurrent=4, min_inside=5)
    assert len({t["x"] for t in rows(sweep_dir)}) == 12


def test_async_on_the_basic_launcher_falls_back_to_batches(tmp_path: Path) -> None:
    res, _ = sweep(tmp_path / "s", "hydra/sweeper=random", "hydra.sweeper.schedule=async", "hydra.sweeper.n_trials=3",
                   "sleep=0")
    assert res.returncode == 0, res.stdout[-5000:]
    assert "schedule=async: the basic launcher runs each job in this process" in res.stdout
    assert "running in batches instead" in res.stdout
    trials = rows(tmp_path / "s")
    assert len(trials) == 3 and all(t["status"] == "completed" for t in trials)


def test_async_failed_trial(tmp_path: Path) -> None:
    """A failing job fails its trial and the sweep goes on."""
    res, _ = sweep(tmp_path / "s", "hydra/sweeper=random", *ASYNC_CASES["joblib"], "hydra.sweeper.schedule=async",
                   "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0", "crash_job=2", "sleep=0.1")
    assert res.returncode == 0, res.stdout[-5000:]
    trials = {int(t["number"]): t for t in rows(tmp_path / "s")}
    assert len(trials) == 8
    assert trials[2]["status"] == "failed" and "crashed on purpose" in trials[2]["error"]
    assert all(t["status"] == "completed" for n, t in trials.items() if n != 2)
