"""The kill loop: a real sweep SIGKILLed at random moments, rerun until done (issue 11).

Five sweeps (random and grid, batch 1 and 3, random async on joblib, some trials failing) are each killed
5 times, at moments drawn from a seeded RNG within a run's duration, and then
rerun with the same command until one run ends by itself. A grid that ends by itself
before its five kills is checked and left (run again, a finished grid starts over, as
Hydra's basic sweeper does); its remaining kills go to the same grid in a fresh sweep
dir. A random sweep that ends by itself is simply rerun (it resumes, with nothing
left to do). A kill moment is either
a time during start-up, or a short random delay after the k-th job of this run
finished (k random): the second kind lands amid batches, where some jobs of a batch
have finished and left their records and others have not. After every kill and at
the end: no completed trial changed, no job dir was overwritten, no job number
was used twice. At the end: exactly ``n_trials`` finished trials, exact grid
coverage, and ``trials.csv`` / ``optimization_results.yaml`` equal to the store.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from hpo_sweeper.rerun import ENDED_BY_ITSELF

APP = Path(__file__).parent / "durable_app" / "app.py"
KILLS_PER_SWEEP = 5
#: Start-up kills, in seconds after the start: Hydra needs about 1.5 s to start a sweep here, so
#: these fall before the store exists, while it is created, or in the first batch.
STARTUP_WINDOW = (0.3, 2.5)
#: Other kills: after the k-th job of the run finished (k in 1..4), plus up to this many seconds
#: (a job takes about 0.1-0.2 s here, so the kill lands in that job's batch or the next).
AFTER_JOB_DELAY = 0.25
FAIL_ABOVE = 0.75
GRID_X = (0.1, 0.3, 0.5, 0.7, 0.9)
GRID_Y = (0, 1)

SWEEPS = {
    "random-batch1": (["hydra/sweeper=random", "hydra.sweeper.seed=11", "hydra.sweeper.batch_size=1"], 6),
    "random-batch3": (["hydra/sweeper=random", "hydra.sweeper.seed=12", "hydra.sweeper.batch_size=3"], 9),
    "grid-batch1": (["hydra/sweeper=grid", "hydra.sweeper.batch_size=1"], 10),
    "grid-batch3": (["hydra/sweeper=grid", "hydra.sweeper.batch_size=3"], 10),
    # Async (issue #15): one launch per trial from 3 threads, on joblib's processes; kills land
    # while trials of different ages are in flight.
    "random-async3": (["hydra/sweeper=random", "hydra.sweeper.seed=13", "hydra.sweeper.schedule=async",
                       "hydra/launcher=joblib", "hydra.launcher.n_jobs=3"], 9),
}


def command(sweep_dir: Path, settings: list[str], n_trials: int, kind_is_grid: bool) -> list[str]:
    space = ([f"x=choice({','.join(map(str, GRID_X))})", f"y=choice({','.join(map(str, GRID_Y))})"]
             if kind_is_grid else [])
    return [sys.executable, str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", *settings, *space,
            f"hydra.sweeper.n_trials={n_trials}", "hydra.sweeper.max_failure_rate=1.0", "hydra.sweeper.plots=false",
            f"fail_above={FAIL_ABOVE}", "sleep=0.05"]


def ended_by_itself(sweep_dir: Path) -> bool:
    """Whether the store says its last run's loop ended by itself (hpo_sweeper.rerun.ENDED_BY_ITSELF)."""
    db = sweep_dir / "trials.db"
    if not db.exists() or db.stat().st_size == 0:
        return False
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = ?", (ENDED_BY_ITSELF,)).fetchone()
    except sqlite3.OperationalError:  # killed while the schema was being created
        return False
    finally:
        con.close()
    return row is not None and json.loads(row[0]) is True


def store_rows(sweep_dir: Path) -> dict[int, dict[str, Any]]:
    db = sweep_dir / "trials.db"
    if not db.exists() or db.stat().st_size == 0:
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT number, params, status, value, error FROM trials").fetchall()
    except sqlite3.OperationalError:  # killed while the schema was being created
        return {}
    finally:
        con.close()
    return {n: {"params": json.loads(p), "status": s, "value": v, "error": e} for n, p, s, v, e in rows}


def job_dir_snapshot(sweep_dir: Path) -> dict[str, str]:
    """What each job dir was started with: Hydra writes it once, when the job starts."""
    out = {}
    for d in sweep_dir.iterdir() if sweep_dir.exists() else ():
        overrides = d / ".hydra" / "overrides.yaml"
        if d.name.isdigit() and overrides.exists():
            out[d.name] = overrides.read_text()
    return out


def check_invariants(sweep_dir: Path, completed: dict[int, dict], job_dirs: dict[str, str]) -> None:
    """Nothing recorded earlier changed; then remember what is recorded now."""
    rows = store_rows(sweep_dir)
    for n, row in completed.items():
        assert rows.get(n) == row, f"completed trial {n} changed: {row} -> {rows.get(n)}"
    for n, row in rows.items():
        if row["status"] == "completed":
            p = row["params"]
            # Each value belongs to its own configuration: results were never mixed up.
            assert row["value"] == pytest.approx((p["x"] - 0.3) ** 2 + 0.01 * p["y"], rel=1e-12)
            completed[n] = row
    now = job_dir_snapshot(sweep_dir)
    for name, text in job_dirs.items():
        assert now.get(name) == text, f"job dir {name} was overwritten"
    job_dirs.update(now)


def run_with_kills(base: Path, settings: list[str], n_trials: int, grid: bool, rng: random.Random) -> int:
    part = 0
    sweep_dir = base / str(part)
    completed: dict[int, dict] = {}
    job_dirs: dict[str, str] = {}
    kills = 0
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    while kills < KILLS_PER_SWEEP:
        records = sweep_dir / ".hpo_sweeper" / "jobs"
        before = _records(records)
        k = rng.randint(0, 4)
        delay = rng.uniform(*STARTUP_WINDOW) if k == 0 else rng.uniform(0.0, AFTER_JOB_DELAY)
        # A session of its own: the launcher's worker processes (joblib's) can be found and ended
        # after the sweep is killed. stderr to a file: orphaned workers would hold a pipe open.
        base.mkdir(parents=True, exist_ok=True)
        err_file = base / "stderr.txt"
        with open(err_file, "w") as err_out:
            proc = subprocess.Popen(command(sweep_dir, settings, n_trials, grid), stdout=subprocess.DEVNULL,
                                    stderr=err_out, text=True, env=env, start_new_session=True)
        while k and proc.poll() is None and len(_records(records) - before) < k:
            time.sleep(0.005)
        deadline = time.monotonic() + delay
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)  # the sweep process alone, as `kill -9 <pid>`
            proc.wait()
            # Its orphaned workers may still finish a job (its record is recovered) or not: then end them.
            time.sleep(rng.uniform(0.0, AFTER_JOB_DELAY))
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # no worker process outlived it
                pass
            kills += 1
        else:
            proc.wait()
            assert proc.returncode == 0, err_file.read_text()
        # A grid whose loop ended by itself (killed or not in its last moments, after the store said so)
        # runs again from job 0 in the same dir (hpo_sweeper/rerun.py): check it, and spend the remaining
        # kills on a fresh sweep dir.
        if grid and (not killed or ended_by_itself(sweep_dir)):
                check_invariants(sweep_dir, completed, job_dirs)
                check_final(sweep_dir, n_trials, grid)
                part += 1
                sweep_dir, completed, job_dirs = base / str(part), {}, {}
                continue
        check_invariants(sweep_dir, completed, job_dirs)
    # Then the same command until a run ends by itself.
    res = subprocess.run(command(sweep_dir, settings, n_trials, grid), capture_output=True, text=True,
                         timeout=300, env=env)
    assert res.returncode == 0, res.stderr
    check_invariants(sweep_dir, completed, job_dirs)
    check_final(sweep_dir, n_trials, grid)
    return kills


def _records(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.json")} if folder.is_dir() else set()


def check_final(sweep_dir: Path, n_trials: int, grid: bool) -> None:
    rows = store_rows(sweep_dir)
    assert len(rows) == n_trials and all(r["status"] in ("completed", "failed") for r in rows.values())
    for r in rows.values():
        if r["status"] == "failed":
            # A failure is the task's own (x too large) or a trial killed twice while it ran.
            assert r["params"]["x"] > FAIL_ABOVE or "died while this trial ran, twice" in r["error"], r
    configs = [(r["params"]["x"], r["params"]["y"]) for r in rows.values()]
    assert len(set(configs)) == len(configs), "a configuration ran twice"
    if grid:
        assert sorted(configs) == sorted(itertools.product(GRID_X, GRID_Y))
    # Every job number is a job dir of its own trial.
    for n, r in rows.items():
        overrides = yaml.safe_load((sweep_dir / str(n) / ".hydra" / "overrides.yaml").read_text())
        assert f"x={r['params']['x']}" in overrides
    # The results files are views of the store.
    with open(sweep_dir / "trials.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert [int(r["number"]) for r in csv_rows] == sorted(rows)
    for r in csv_rows:
        stored = rows[int(r["number"])]
        assert r["status"] == stored["status"]
        assert (float(r["value"]) if r["value"] else None) == stored["value"]
        assert float(r["x"]) == stored["params"]["x"] and int(r["y"]) == stored["params"]["y"]
    summary = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    done = {n: r for n, r in rows.items() if r["status"] == "completed"}
    best = min(done, key=lambda n: (done[n]["value"], n))
    assert summary["best_trial"] == best and summary["best_value"] == done[best]["value"]
    assert summary["n_completed"] == len(done) and summary["n_failed"] == len(rows) - len(done)
    assert summary["n_running"] == 0


def test_kill_loop(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    total = 0
    for name, (settings, n_trials) in SWEEPS.items():
        grid = name.startswith("grid")
        total += run_with_kills(tmp_path / name, settings, n_trials, grid, rng)
    assert total >= 20
