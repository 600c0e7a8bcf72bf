"""``hpo_sweeper.Sweep``, the Python API: durable sweeps of a Python function, no Hydra.

The last test is the real thing: a 30-trial ``bayes`` sweep (scikit-optimize engine) in a
subprocess, SIGKILLed mid-sweep from outside, then rerun: it resumes from its store with
no completed trial lost or changed and no trial number used twice.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from hpo_sweeper import Kind, OptimizerError, Parameter, SearchSpace, Sweep, SweepConfigError, TrialStatus
from hpo_sweeper.store import StoreError

ROOT = Path(__file__).resolve().parents[1]


def space(high: float = 2.0) -> SearchSpace:
    return SearchSpace((Parameter("x", Kind.FLOAT, low=-2.0, high=high),
                        Parameter("c", Kind.CATEGORICAL, choices=("a", "b"))), {})


def objective(params: dict[str, Any]) -> float:
    return (params["x"] - 0.5) ** 2 + (0.0 if params["c"] == "a" else 1.0)


def test_optimize_records_every_trial_and_resumes_from_the_store(tmp_path: Path) -> None:
    db = tmp_path / "trials.db"
    first = Sweep(space(), "random", storage=str(db), seed=3)
    first.optimize(objective, n_trials=6)
    assert [t.number for t in first.trials] == list(range(6))
    again = Sweep(space(), "random", storage=str(db))  # no seed: the stored one is used
    best = again.optimize(objective, n_trials=10)
    trials = again.trials
    assert [t.number for t in trials] == list(range(10))
    assert [(t.params, t.value) for t in trials[:6]] == [(t.params, t.value) for t in first.trials]
    assert best is not None and best.value == min(t.value for t in trials if t.value is not None)
    # The same seed from a fresh store gives the same 10 proposals: the stored seed was 3.
    fresh = Sweep(space(), "random", storage=str(tmp_path / "b.db"), seed=3)
    fresh.optimize(objective, n_trials=10)
    assert [t.params for t in fresh.trials] == [t.params for t in trials]


def test_trials_of_an_earlier_run_are_readable_before_optimize(tmp_path: Path) -> None:
    db = tmp_path / "trials.db"
    Sweep(space(), "random", storage=str(db), seed=0).optimize(objective, n_trials=3)
    assert len(Sweep(space(), "random", storage=str(db)).trials) == 3


def test_a_changed_space_or_setting_is_refused_unless_allowed(tmp_path: Path) -> None:
    db = tmp_path / "trials.db"
    Sweep(space(), "random", storage=str(db), seed=0).optimize(objective, n_trials=3)
    with pytest.raises(StoreError, match=r"search space differs .* allow_space_change=True"):
        Sweep(space(high=3.0), "random", storage=str(db)).optimize(objective, n_trials=4)
    with pytest.raises(StoreError, match="direction changed from minimize to maximize"):
        Sweep(space(), "random", storage=str(db), direction="maximize").optimize(objective, n_trials=4)
    with pytest.raises(StoreError, match="sampler changed from random to sobol"):
        Sweep(space(), "random", storage=str(db), sampler="sobol").optimize(objective, n_trials=4)
    assert len(Sweep(space(), "random", storage=str(db)).trials) == 3  # nothing was changed
    Sweep(space(high=3.0), "random", storage=str(db), allow_space_change=True).optimize(objective, n_trials=4)
    assert len(Sweep(space(), "random", storage=str(db)).trials) == 4


def test_exceptions_fail_trials_and_the_sweep_goes_on() -> None:
    def flaky(params: dict[str, Any]) -> float:
        if params["c"] == "b":
            raise RuntimeError("no b")
        return objective(params)

    sweep = Sweep(space(), "random", seed=1, max_failure_rate=1.0)
    sweep.optimize(flaky, n_trials=8)
    failed = [t for t in sweep.trials if t.status is TrialStatus.FAILED]
    assert failed and all(t.params["c"] == "b" and t.error == "RuntimeError: no b" for t in failed)
    assert len(sweep.trials) == 8


def test_a_dict_result_is_read_with_objective() -> None:
    sweep = Sweep(space(), "random", seed=0, objective="metrics.loss")
    best = sweep.optimize(lambda p: {"metrics": {"loss": objective(p)}}, n_trials=4)
    assert best is not None and best.value == min(objective(t.params) for t in sweep.trials)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"seed": -1}, "seed must be an integer in [0, 4294967295] or null, got -1"),
        ({"direction": "up"}, "direction must be one of ['minimize', 'maximize'], got 'up'"),
        ({"max_failure_rate": 2}, "max_failure_rate must be a finite number in [0, 1], got 2"),
        ({"early_stop": {"patience": 0}}, "early_stop.patience must be an integer >= 1 or null, got 0"),
        ({"n_initial_point": 3}, "unknown option(s) ['n_initial_point'] for the 'bayes' optimizer"),
    ],
)
def test_bad_settings_are_named_errors_before_anything_runs(tmp_path: Path, kwargs: dict[str, Any],
                                                            words: str) -> None:
    with pytest.raises((SweepConfigError, OptimizerError)) as info:
        Sweep(space(), "bayes", storage=str(tmp_path / "t.db"), **kwargs)
    assert words in str(info.value)
    assert not (tmp_path / "t.db").exists()


def test_n_trials_is_required_except_for_a_grid() -> None:
    with pytest.raises(SweepConfigError, match="n_trials must be set for the random sweeper"):
        Sweep(space(), "random", n_trials=None).optimize(objective)
    grid = SearchSpace((Parameter("c", Kind.CATEGORICAL, choices=("a", "b", "c")),), {})
    sweep = Sweep(grid, "grid")
    sweep.optimize(lambda p: float(ord(p["c"])))
    assert [t.params["c"] for t in sweep.trials] == ["a", "b", "c"]


def test_results_files_are_written_where_asked(tmp_path: Path) -> None:
    sweep = Sweep(space(), "random", seed=0, storage=str(tmp_path / "trials.db"), sweep_dir=tmp_path, plots=False)
    sweep.optimize(objective, n_trials=3)
    assert (tmp_path / "trials.csv").read_text().count("\n") == 4
    assert "best_value" in (tmp_path / "optimization_results.yaml").read_text()


def test_optimize_on_a_process_pool() -> None:
    sweep = Sweep(space(), "random", seed=0)
    # spawn, not fork: the test process may hold JAX's threads (another test loaded it), and a
    # forked child of a multithreaded process can deadlock.
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        sweep.optimize(objective, n_trials=6, executor=pool)
    assert sorted(t.number for t in sweep.trials) == list(range(6))
    assert all(t.status is TrialStatus.COMPLETED for t in sweep.trials)
    assert all(t.value == pytest.approx(objective(t.params)) for t in sweep.trials)


SCRIPT = """
import sys, time
from hpo_sweeper import Kind, Parameter, SearchSpace, Sweep

space = SearchSpace((Parameter("x", Kind.FLOAT, low=-2.0, high=2.0),
                     Parameter("y", Kind.FLOAT, low=-2.0, high=2.0)), {})

def objective(p):
    time.sleep(0.15)   # long enough that the kill lands inside a trial most of the time
    return (p["x"] - 0.5) ** 2 + (p["y"] + 0.25) ** 2

Sweep(space, "bayes", storage=sys.argv[1], seed=0, backend="skopt", n_initial_points=8).optimize(objective, 30)
"""


def _rows(db: Path) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT number, params, status, value FROM trials ORDER BY number").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def test_a_killed_python_sweep_resumes_with_nothing_lost(tmp_path: Path) -> None:
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(SCRIPT))
    db = tmp_path / "trials.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(db)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(r[2] == "completed" for r in _rows(db)) >= 12:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the sweep ended before it was killed: {proc.stderr.read()!r}"  # type: ignore[union-attr]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows(db)
    completed = {r[0]: r for r in before if r[2] == "completed"}
    assert 12 <= len(completed) < 30
    rerun = subprocess.run([sys.executable, str(script), str(db)], env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = _rows(db)
    numbers = [r[0] for r in after]
    assert sum(r[2] in ("completed", "failed") for r in after) == 30
    assert all(after_row == completed[n] for n, after_row in ((r[0], r) for r in after) if n in completed)
    assert set(completed) <= set(numbers)  # no completed trial lost, none changed (above)
    # A trial running at the kill is rerun under a new number: numbers grow past every old one.
    old_max = max(r[0] for r in before)
    assert all(n > old_max for n in numbers if n not in completed)
    configs = [json.dumps(json.loads(r[1]), sort_keys=True) for r in after]
    assert len(set(configs)) == len(configs)  # no configuration run twice
