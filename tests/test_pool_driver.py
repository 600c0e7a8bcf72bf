"""PoolDriver (hpo_sweeper/pool_driver.py): one blocking launch call per trial from a thread
pool, with a plain Python launch function (no Hydra in this unit)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hpo_sweeper import Kind, Parameter, SearchSpace, Sweep, TrialStatus
from hpo_sweeper.drivers import JobResult, call_objective
from hpo_sweeper.loop import SweepFailed
from hpo_sweeper.pool_driver import PoolDriver
from hpo_sweeper.trials import Trial


def space() -> SearchSpace:
    return SearchSpace((Parameter("x", Kind.FLOAT, low=0.0, high=1.0),), {})


class Launcher:
    """Runs a trial in the calling thread; remembers how many calls ran at once."""

    def __init__(self, objective: Any, hold: dict[int, threading.Event] | None = None, meet: int = 0) -> None:
        self.objective, self.hold = objective, hold or {}
        # Trials 0..meet-1 wait for each other: they can only go on if they ran at once.
        self.meet = threading.Barrier(meet) if meet else None
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.order: list[tuple[str, int]] = []

    def __call__(self, trial: Trial) -> JobResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.order.append(("start", trial.number))
        try:
            if self.meet is not None and trial.number < self.meet.parties:
                self.meet.wait(30)
            if trial.number in self.hold:
                assert self.hold[trial.number].wait(30), "held trial was never released"
            return call_objective(self.objective, trial.params)
        finally:
            with self.lock:
                self.running -= 1
                self.order.append(("end", trial.number))


def test_a_new_trial_starts_the_moment_one_ends(tmp_path: Path) -> None:
    release = threading.Event()
    launcher: Launcher

    def objective(p: dict[str, Any]) -> float:
        # Trial 0 is held until trial 7 ran: only possible if the three other slots were refilled.
        if len([e for e in launcher.order if e[0] == "end"]) >= 7:
            release.set()
        return (p["x"] - 0.3) ** 2

    launcher = Launcher(objective, hold={0: release}, meet=4)
    sweep = Sweep(space(), "random", storage=str(tmp_path / "t.db"), seed=0)
    best = sweep.run(PoolDriver(launcher, 4), n_trials=12)
    trials = sweep.trials
    assert [t.number for t in trials] == list(range(12))
    assert all(t.status is TrialStatus.COMPLETED for t in trials)
    assert best is not None and best.value == min(t.value for t in trials if t.value is not None)
    assert launcher.most == 4  # never more than max_concurrent calls at once; 4 while trial 0 waited
    assert launcher.order.index(("end", 0)) > launcher.order.index(("end", 7))


def test_failure_rate_stops_an_async_sweep(tmp_path: Path) -> None:
    def objective(p: dict[str, Any]) -> float:
        raise RuntimeError("broken task")

    sweep = Sweep(space(), "random", storage=str(tmp_path / "t.db"), seed=0, max_failure_rate=0.5)
    with pytest.raises(SweepFailed, match="max_failure_rate=0.5"):
        sweep.run(PoolDriver(Launcher(objective), 3), n_trials=40)
    # Judged after each finished trial: stopped at the first check (5 finished), plus what was in flight.
    assert 5 <= len(sweep.trials) <= 5 + 3


def test_early_stop_target_stops_an_async_sweep(tmp_path: Path) -> None:
    sweep = Sweep(space(), "random", storage=str(tmp_path / "t.db"), seed=0, early_stop={"target": 0.5})
    sweep.run(PoolDriver(Launcher(lambda p: p["x"]), 2), n_trials=50)
    trials = sweep.trials
    done = [t for t in trials if t.status is TrialStatus.COMPLETED]
    # x is uniform on [0, 1]: the first value below 0.5 comes long before 50 trials (seed 0).
    assert len(trials) < 50
    assert min(t.value for t in done) <= 0.5
    # The trial still in flight when the rule fired finished and was recorded: none left running.
    assert all(t.status is TrialStatus.COMPLETED for t in trials)


def test_a_launch_that_raises_before_its_job_started_stops_the_sweep(tmp_path: Path) -> None:
    def launch(trial: Trial) -> JobResult:
        time.sleep(0.01)
        raise OSError("no cluster")

    sweep = Sweep(space(), "random", storage=str(tmp_path / "t.db"), seed=0)
    with pytest.raises(SweepFailed, match="no cluster"):
        sweep.run(PoolDriver(launch, 2, started=lambda t: False), n_trials=4)
