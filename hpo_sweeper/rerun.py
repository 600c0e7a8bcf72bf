"""A finished grid, run again: the earlier run is moved aside, never overwritten.

Hydra's basic sweeper runs a grid again when the same command is run into the same
sweep dir, and ``grid`` is that sweeper plus intervals, so a Hydra user expects the
same (hydra-core's own IntegrationTestSuite does exactly this). An unfinished grid
resumes, as every hpo_sweeper sweep does: only a grid whose last run ended by itself
(its loop returned, recorded as ``ended_by_itself`` in the store) with nothing left to
run is run again. A grid killed after its last job finished, before its results were
written, has not ended: it resumes, writes them and ends.
Before a finished grid runs again, its store, results files, job records and job
directories are moved into
``<sweep dir>/.hpo_sweeper/previous/<k>/`` first, so the new run numbers its jobs
from 0 like the basic sweeper and no earlier result is lost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo_sweeper.job_records import RECORDS_DIR
from hpo_sweeper.store import StoreError, load_trials
from hpo_sweeper.sweep_dir import WRITTEN_FILES
from hpo_sweeper.trials import TrialStatus

__all__ = ["ENDED_BY_ITSELF", "PREVIOUS_DIR", "archive_finished_grid"]

PREVIOUS_DIR = Path(".hpo_sweeper") / "previous"
#: Store meta key: true once a run's loop ended by itself (finished, stopped early or failed), false while one runs.
ENDED_BY_ITSELF = "ended_by_itself"
_STORE_SIDECARS = ("-wal", "-shm", "-journal")


def archive_finished_grid(
    sweep_dir: str | os.PathLike[str], storage: str | os.PathLike[str], n_trials: int, identity: Mapping[str, Any],
    space: Mapping[str, Any],
) -> Path | None:
    """Move a finished grid's run aside; returns where it went, or None when there is nothing to move.

    Only a store in the sweep dir, for the same grid (settings identity and space as stored:
    any other difference is left to the resume checks, which refuse it with a message), with
    ``n_trials`` trials finished and none running or stopped early, whose last run ended by
    itself, counts as finished.
    """
    sweep_dir, storage = Path(sweep_dir), Path(storage)
    if storage.parent.resolve() != sweep_dir.resolve() or not storage.is_file() or storage.stat().st_size == 0:
        return None
    try:
        trials, meta = load_trials(storage)
    except StoreError:
        return None  # a damaged store: the store's own checks say so when it is opened
    if meta.get("kind") != "grid" or meta.get("identity") != identity or meta.get("space") != space:
        return None
    if meta.get(ENDED_BY_ITSELF) is not True:
        return None  # killed (or a store of an earlier version): it resumes
    finished = [t for t in trials if t.status in (TrialStatus.COMPLETED, TrialStatus.FAILED)]
    if len(finished) < n_trials or len(finished) != len(trials):
        return None  # unfinished, or stopped early: it resumes
    k = 1
    while (sweep_dir / PREVIOUS_DIR / str(k)).exists():
        k += 1
    dest = sweep_dir / PREVIOUS_DIR / str(k)
    dest.mkdir(parents=True)
    moved = [storage, *(storage.with_name(storage.name + s) for s in _STORE_SIDECARS)]
    moved += [sweep_dir / name for name in WRITTEN_FILES] + [sweep_dir / RECORDS_DIR]
    for t in trials:
        job_dir = Path(t.job_dir) if t.job_dir else sweep_dir / str(t.number)
        if job_dir.parent.resolve() == sweep_dir.resolve():  # only job dirs directly in this sweep dir
            moved.append(job_dir)
    for path in moved:
        if os.path.lexists(path):
            os.replace(path, dest / path.name)  # same filesystem: a rename, nothing is copied
    return dest
