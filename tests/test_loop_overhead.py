"""Constant work per trial in the loop (issue #20): throttled results files, an incremental set of
recorded configurations, and the store's durability pragmas. Fast, no Hydra."""

from __future__ import annotations

import csv
import sqlite3
import time
from pathlib import Path

import pytest

from hpo_sweeper import Kind, Parameter, SearchSpace
from hpo_sweeper import loop as loop_module
from hpo_sweeper.drivers import BatchDriver, JobResult
from hpo_sweeper.loop import SweepLoop
from hpo_sweeper.optimizers import create_optimizer
from hpo_sweeper.store import TrialStore
from hpo_sweeper.trials import Trial, TrialStatus


def line_space() -> SearchSpace:
    return SearchSpace((Parameter("x", Kind.FLOAT, low=0.0, high=1.0),), {})


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_fast_events_rewrite_the_results_files_at_most_once_per_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                          ) -> None:
    """Trials that return at once: with an interval longer than the whole sweep, trials.csv is written
    for the first batch, then not again until the end, where it is complete."""
    monkeypatch.setattr(loop_module, "RESULTS_INTERVAL_S", 3600.0)
    seen: list[int] = []

    def launch(trials: list[Trial]) -> list[JobResult]:
        seen.append(len(rows(tmp_path / "trials.csv")) if (tmp_path / "trials.csv").exists() else -1)
        return [JobResult(returned=t.params["x"]) for t in trials]

    opt = create_optimizer("random", line_space(), seed=0)
    SweepLoop(opt, BatchDriver(launch, 1), n_trials=20, sweep_dir=tmp_path).run()
    assert seen[0] == 1  # the first trial listed running before it ran
    assert set(seen[1:]) == {1}  # not rewritten while events came fast
    final = rows(tmp_path / "trials.csv")
    assert [r["status"] for r in final] == ["completed"] * 20


def test_slow_events_rewrite_the_results_files_after_every_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    """When events come further apart than the interval (trials that take longer), every batch is
    listed running before it runs, as before the throttle."""
    monkeypatch.setattr(loop_module, "RESULTS_INTERVAL_S", 0.05)
    seen: list[list[str]] = []

    def launch(trials: list[Trial]) -> list[JobResult]:
        seen.append([r["status"] for r in rows(tmp_path / "trials.csv")])
        time.sleep(0.1)  # longer than the interval, so each batch is written before it runs
        return [JobResult(returned=t.params["x"]) for t in trials]

    opt = create_optimizer("random", line_space(), seed=0)
    SweepLoop(opt, BatchDriver(launch, 2), n_trials=6, sweep_dir=tmp_path).run()
    assert seen == [["running"] * 2, ["completed"] * 2 + ["running"] * 2, ["completed"] * 4 + ["running"] * 2]


def test_a_removed_trial_frees_its_configuration_and_a_recorded_one_is_never_proposed(tmp_path: Path) -> None:
    """A grid of 4 points: the loop's running key set must say exactly which are taken, through
    a death (the trial is removed and its configuration queued again) and a resume."""
    space = SearchSpace((Parameter("x", Kind.CATEGORICAL, choices=(0, 1, 2, 3)),), {})
    store = TrialStore(tmp_path / "trials.db").open()
    died: list[int] = []

    def launch(trials: list[Trial]) -> list[JobResult]:
        if trials[0].params["x"] == 2 and not died:
            died.append(trials[0].number)
            raise RuntimeError("worker died")
        return [JobResult(returned=float(t.params["x"])) for t in trials]

    opt = create_optimizer("grid", space, seed=0)
    run = SweepLoop(opt, BatchDriver(launch, 1), n_trials=4, trials=store)
    run.run()
    done = sorted(t.params["x"] for t in run.trials if t.status is TrialStatus.COMPLETED)
    assert done == [0, 1, 2, 3] and died  # x=2 ran again after its death, once
    assert len(run.trials) == 4
    store.close()


def test_the_store_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    store = TrialStore(tmp_path / "trials.db").open()
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        store.close()
    # the file itself is in WAL mode for any reader
    with sqlite3.connect(tmp_path / "trials.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_status_counts_follow_adds_updates_and_removals_and_survive_a_reopen(tmp_path: Path) -> None:
    """The counts are kept, not recounted: they must equal a recount after every kind of change."""
    store = TrialStore(tmp_path / "trials.db").open()

    def recount(log: TrialStore) -> dict[TrialStatus, int]:
        return {s: sum(t.status is s for t in log) for s in TrialStatus}

    for i in range(6):
        store.add(Trial(number=i, params={"x": i / 10}))
    store.update(store.get(0).replace(status=TrialStatus.COMPLETED, value=1.0))  # type: ignore[union-attr]
    store.update(store.get(1).replace(status=TrialStatus.FAILED, error="boom"))  # type: ignore[union-attr]
    store.update(store.get(2).replace(status=TrialStatus.PRUNED, value=2.0))  # type: ignore[union-attr]
    store.update(store.get(2).replace(status=TrialStatus.PRUNED, value=2.5))  # type: ignore[union-attr]
    store.remove(3)
    store.remove(3)  # a second removal changes nothing
    assert {s: store.count(s) for s in TrialStatus} == recount(store)
    assert store.n_finished() == 3 and store.count(TrialStatus.RUNNING) == 2
    store.close()
    again = TrialStore(tmp_path / "trials.db").open()
    try:
        assert {s: again.count(s) for s in TrialStatus} == recount(again)
        assert again.n_finished() == 3
    finally:
        again.close()
