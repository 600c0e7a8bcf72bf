"""Checks that a sweep directory is safe to write into, made before the store is opened.

A sweep writes job directories, job records and results files into its sweep dir.
Before anything is written: the folder must be writable; no results file may be a
directory or a symbolic link (writing there would fail mid-sweep, or replace what a
link points at); and a sweep dir that holds the results of an earlier sweep but no
readable trial store (deleted, or emptied to 0 bytes) is refused rather than
silently overwritten by a new sweep numbered from 0.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.job_records import RECORDS_DIR
from hpo_sweeper.results import RESULTS_FILE, TRIALS_FILE

__all__ = ["SweepDirError", "check_sweep_dir"]

#: Files a sweep (re)writes in its sweep dir.
WRITTEN_FILES = (RESULTS_FILE, TRIALS_FILE, "multirun.yaml", "convergence.png", "params.png")


class SweepDirError(HpoSweeperError, RuntimeError):
    """The sweep dir cannot be written as asked; nothing in it was changed."""


def check_sweep_dir(sweep_dir: str | os.PathLike[str], storage: str | os.PathLike[str]) -> None:
    sweep_dir, storage = Path(sweep_dir), Path(storage)
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SweepDirError(f"cannot create the sweep dir {sweep_dir}: {e.strerror}; set hydra.sweep.dir") from None
    if not os.access(sweep_dir, os.W_OK | os.X_OK):
        raise SweepDirError(
            f"the sweep dir {sweep_dir} is not writable: job dirs and results files are written there. "
            "Set hydra.sweep.dir to a writable folder (hydra.sweeper.storage moves only the trial store)"
        )
    for name in WRITTEN_FILES:
        path = sweep_dir / name
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            raise SweepDirError(f"{path} is a symbolic link; the sweep never writes through a link. Remove it")
        if not stat.S_ISREG(mode):
            raise SweepDirError(f"{path} is a directory or other non-file; the sweep writes its results there. "
                                "Move it away")
    if _has_store(storage):
        return
    earlier = earlier_results(sweep_dir)
    if earlier:
        shown = ", ".join(earlier[:6]) + (f" and {len(earlier) - 6} more" if len(earlier) > 6 else "")
        state = "is empty" if storage.exists() else "does not exist"
        raise SweepDirError(
            f"the sweep dir {sweep_dir} holds results of an earlier sweep ({shown}), but its trial store "
            f"{storage} {state}, so the sweep cannot resume and a new one would overwrite them. Nothing was "
            "changed. To resume, restore the trial store from a copy (or point hydra.sweeper.storage at it); "
            "to start a new sweep, use another hydra.sweep.dir or move these files away"
        )


def _has_store(storage: Path) -> bool:
    try:
        return os.stat(storage).st_size > 0
    except OSError:
        return False


def earlier_results(sweep_dir: Path) -> list[str]:
    """Names of what an earlier sweep left: results files, job records, job directories."""
    found = [name for name in (RESULTS_FILE, TRIALS_FILE) if (sweep_dir / name).exists()]
    records = sweep_dir / RECORDS_DIR
    if records.is_dir() and any(records.iterdir()):
        found.append(str(RECORDS_DIR))
    jobs = sorted((p.name for p in sweep_dir.iterdir() if p.name.isdigit() and p.is_dir()), key=int)
    return found + [f"job dir {n}" for n in jobs]
