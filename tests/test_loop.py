"""The sweep loop with a fake ``launch`` callable or a plain objective: fast, no Hydra.

Covers the order trials run in, reruns of jobs that died, the failure rate, early
stopping, pruned trials, resume after a simulated kill (a store left with running
trials), and the asynchronous executor driver (in-flight trials as pending points).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hpo_sweeper import Kind, Parameter, SearchSpace, TrialPruned
from hpo_sweeper.drivers import BatchDriver, ExecutorDriver, InlineDriver, JobResult
from hpo_sweeper.loop import SweepFailed, SweepLoop
from hpo_sweeper.optimizers import create_optimizer
from hpo_sweeper.settings import EarlyStop, SweepSettings
from hpo_sweeper.store import TrialStore
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus


def grid_space() -> SearchSpace:
    return SearchSpace((Parameter("x", Kind.CATEGORICAL, choices=(0, 1, 2, 3)),
                        Parameter("y", Kind.CATEGORICAL, choices=(0, 1))), {})


def line_space() -> SearchSpace:
    return SearchSpace((Parameter("x", Kind.FLOAT, low=0.0, high=1.0),), {})


def value_of(params: dict[str, Any]) -> float:
    return float(params["x"]) + 10 * float(params["y"])


def launch_ok(trials: list[Trial]) -> list[JobResult]:
    return [JobResult(returned=value_of(t.params)) for t in trials]


def loop(kind: str, driver: Any, n: int, **kw: Any) -> SweepLoop:
    space = kw.pop("space", grid_space())
    settings = kw.pop("settings", SweepSettings())
    opt = create_optimizer(kind, space, seed=0)
    return SweepLoop(opt, driver, n_trials=n, settings=settings, **kw)


def test_batches_are_numbered_in_order_and_launched_whole() -> None:
    launched: list[list[int]] = []

    def launch(trials: list[Trial]) -> list[JobResult]:
        launched.append([t.number for t in trials])
        return launch_ok(trials)

    run = loop("grid", BatchDriver(launch, 3), 8)
    run.run()
    assert launched == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert [t.status for t in run.trials] == [TrialStatus.COMPLETED] * 8
    assert run.best() is not None and run.best().value == 0.0  # type: ignore[union-attr]


def test_trials_are_recorded_running_before_the_launch() -> None:
    seen: list[list[TrialStatus]] = []
    log = TrialLog()

    def launch(trials: list[Trial]) -> list[JobResult]:
        seen.append([log.get(t.number).status for t in trials])  # type: ignore[union-attr]
        return launch_ok(trials)

    loop("grid", BatchDriver(launch, 2), 4, trials=log).run()
    assert seen == [[TrialStatus.RUNNING] * 2] * 2


def test_failed_and_pruned_results_are_recorded_as_such() -> None:
    def launch(trials: list[Trial]) -> list[JobResult]:
        out = []
        for t in trials:
            if t.params["x"] == 1:
                out.append(JobResult(error="RuntimeError: boom"))
            elif t.params["x"] == 2:
                out.append(JobResult(pruned=True))
            else:
                out.append(JobResult(returned=value_of(t.params)))
        return out

    run = loop("grid", BatchDriver(launch, 8), 8)
    run.run()
    status = {(t.params["x"], t.params["y"]): t.status for t in run.trials}
    assert status[(1, 0)] is TrialStatus.FAILED and status[(2, 1)] is TrialStatus.PRUNED
    assert run.trials.count(TrialStatus.PRUNED) == 2 and run.trials.n_finished() == 8
    best = run.best()
    assert best is not None and best.status is TrialStatus.COMPLETED  # a pruned trial is never best


def test_failure_rate_stops_the_sweep_after_five_finished() -> None:
    def launch(trials: list[Trial]) -> list[JobResult]:
        return [JobResult(error="ValueError: always") for _ in trials]

    run = loop("grid", BatchDriver(launch, 1), 8)
    with pytest.raises(SweepFailed, match="5 of 5 finished trials failed"):
        run.run()
    assert len(run.trials) == 5


def test_pruned_trials_do_not_count_as_failures() -> None:
    def launch(trials: list[Trial]) -> list[JobResult]:
        return [JobResult(error="E: x") if t.number % 2 else JobResult(pruned=True) for t in trials]

    # Odd trials fail: never more than half of those finished (2 of 5, 3 of 6, ..., 4 of 8), the limit
    # max_failure_rate=0.5 is not passed, so the sweep runs to its end; pruned ones are no failures.
    run = loop("grid", BatchDriver(launch, 1), 8)
    run.run()
    assert run.trials.count(TrialStatus.FAILED) == 4 and run.trials.count(TrialStatus.PRUNED) == 4


def test_early_stop_patience_is_judged_after_each_event_group() -> None:
    values = iter([5.0, 4.0, 4.5, 4.6, 4.7, 1.0, 0.5, 0.1])

    def objective(params: dict[str, Any]) -> float:
        return next(values)

    settings = SweepSettings(early_stop=EarlyStop(patience=3))
    run = loop("random", InlineDriver(objective), 8, space=line_space(), settings=settings)
    run.run()
    assert len(run.trials) == 5  # trial 1 was the last gain; 2, 3 and 4 made no gain
    assert "patience 3" in (run.stop_reason or "")


def test_resume_after_a_kill_reruns_what_died_under_new_numbers(tmp_path: Path) -> None:
    """A store as a killed sweep leaves it: 2 completed, trial 2 started and died, trial 3
    proposed but never started. 2 counts a death and runs again; 3 runs again without one; the
    completed trials are kept; no number is used twice."""
    db = tmp_path / "trials.db"
    with TrialStore(db) as store:
        store.add(Trial(0, {"x": 0, "y": 0}, TrialStatus.COMPLETED, 0.0, started_at=1.0, duration_s=1.0))
        store.add(Trial(1, {"x": 1, "y": 0}, TrialStatus.COMPLETED, 1.0, started_at=1.0, duration_s=1.0))
        store.add(Trial(2, {"x": 2, "y": 0}, started_at=2.0))
        store.add(Trial(3, {"x": 3, "y": 0}))
    with TrialStore(db) as store:
        run = loop("grid", InlineDriver(value_of), 8, trials=store)
        run.run()
        trials = list(store)
        deaths = store.get_meta("deaths")
    numbers = [t.number for t in trials]
    assert numbers == [0, 1, *range(4, 10)]  # 2 and 3 ran again as 4 and 5: no number reused
    assert [(t.params["x"], t.params["y"]) for t in trials[2:4]] == [(2, 0), (3, 0)]
    assert all(t.status is TrialStatus.COMPLETED for t in trials)
    assert deaths == {"[2, 0]": 1}  # only the trial that had started died


def test_a_trial_that_dies_again_is_failed_after_max_reruns(tmp_path: Path) -> None:
    log = TrialLog([Trial(0, {"x": 2, "y": 0}, started_at=2.0)])
    log.set_meta("deaths", {"[2, 0]": 1})
    run = loop("grid", InlineDriver(value_of), 8, trials=log)
    run.run()
    first = log.get(0)
    assert first is not None and first.status is TrialStatus.FAILED
    assert "died while this trial ran, twice" in (first.error or "")
    assert len(log) == 8 and (2, 0) not in [(t.params["x"], t.params["y"]) for t in list(log)[1:]]


def test_inline_driver_records_the_start_before_the_objective_runs() -> None:
    log = TrialLog()

    def objective(params: dict[str, Any]) -> float:
        running = [t for t in log if t.status is TrialStatus.RUNNING]
        assert len(running) == 1 and running[0].started_at is not None
        return value_of(params)

    loop("grid", InlineDriver(objective), 3, trials=log).run()
    assert log.count(TrialStatus.COMPLETED) == 3


def test_inline_objective_exceptions_and_prunes() -> None:
    def objective(params: dict[str, Any]) -> float:
        if params["x"] == 1:
            raise ValueError("bad x")
        if params["x"] == 2:
            raise TrialPruned()
        return value_of(params)

    run = loop("grid", InlineDriver(objective), 8)
    run.run()
    by_x = {t.params["x"]: t for t in run.trials}
    assert by_x[1].status is TrialStatus.FAILED and by_x[1].error == "ValueError: bad x"
    assert by_x[2].status is TrialStatus.PRUNED and by_x[2].value is None


def test_executor_driver_keeps_max_concurrent_trials_in_flight() -> None:
    """Four threads, trials of unequal length: at no time more than 3 run, and a new trial starts
    while others still run (the loop does not wait for a batch)."""
    lock = threading.Lock()
    running, peak, spans = [0], [0], []

    def objective(params: dict[str, Any]) -> float:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        start = time.monotonic()
        time.sleep(0.05 + 0.15 * params["x"])
        with lock:
            running[0] -= 1
            spans.append((start, time.monotonic()))
        return float(params["x"])

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        run = loop("random", ExecutorDriver(pool, objective, 3), 12, space=line_space())
        run.run()
    assert len(run.trials) == 12 and run.trials.count(TrialStatus.COMPLETED) == 12
    assert peak[0] == 3
    # Asynchronous: some trial started before an earlier-started one ended, after the first ended.
    spans.sort()
    first_end = min(end for _, end in spans)
    assert any(start > first_end and start < max(end for _, end in spans[:3]) for start, _ in spans[3:])
    # Every proposal is distinct although several were asked while others were pending.
    assert len({t.params["x"] for t in run.trials}) == 12


def test_exhausted_space_stops_with_a_reason() -> None:
    run = loop("grid", BatchDriver(launch_ok, 3), 20)
    run.run()
    assert len(run.trials) == 8 and "exhausted" in (run.stop_reason or "")


def test_ctrl_c_in_an_inline_trial_leaves_it_to_run_again_without_a_death(tmp_path: Path) -> None:
    def objective(params: dict[str, Any]) -> float:
        if params["x"] == 2:
            raise KeyboardInterrupt
        return value_of(params)

    with TrialStore(tmp_path / "t.db") as store:
        with pytest.raises(KeyboardInterrupt):
            loop("grid", InlineDriver(objective), 8, trials=store).run()
        stopped = [t for t in store if t.status is TrialStatus.RUNNING]
    assert len(stopped) == 1 and stopped[0].started_at is None
    with TrialStore(tmp_path / "t.db") as store:
        loop("grid", InlineDriver(value_of), 8, trials=store).run()
        assert store.get_meta("deaths") is None and store.n_finished() == 8
