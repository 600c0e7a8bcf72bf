"""Per-job records written by the job itself, beside the sweep.

A launcher hands results back only when its whole batch is done, so a sweep
killed mid-batch would lose the results of jobs that had already finished. Each
job therefore writes a small JSON record (start time, duration, return value or
error) into ``<sweep_dir>/.hpo_sweeper/jobs/<number>.json`` as it ends, and an
empty ``<number>.started`` marker as it starts. The sweep reads timings from the
records; a resumed sweep recovers the results of trials that finished after the
last save instead of running them again; and the markers tell a job that died
(started, never finished) from one that never started (a batch-mate of a crashed
worker, or a job the dead sweep never launched).

Every file is created exclusively and never through a symbolic link: a link
planted in the sweep dir must not make a job overwrite its target.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo_sweeper.files import atomic_write

if TYPE_CHECKING:
    from hpo_sweeper.drivers import JobResult

__all__ = [
    "JobRecord", "clear_job_started", "job_started", "read_job_record", "record_path", "recover_result",
    "write_job_record", "write_job_started",
]

RECORDS_DIR = Path(".hpo_sweeper") / "jobs"
#: Error text kept in a record (and in the store): head and tail of a longer text.
MAX_ERROR_CHARS = 20_000


@dataclasses.dataclass
class JobRecord:
    started_at: float
    duration_s: float
    returned: Any = None
    error: str | None = None
    #: False when the return value could not be stored as JSON (it is then unrecoverable).
    stored: bool = True
    #: The task raised ``TrialPruned``: the trial stopped on purpose (never run again).
    pruned: bool = False


def record_path(sweep_dir: str | os.PathLike[str], number: int) -> Path:
    return Path(sweep_dir) / RECORDS_DIR / f"{number}.json"


def started_path(sweep_dir: str | os.PathLike[str], number: int) -> Path:
    return Path(sweep_dir) / RECORDS_DIR / f"{number}.started"


def bound_text(text: str | None, limit: int = MAX_ERROR_CHARS) -> str | None:
    """``text`` cut to about ``limit`` characters, keeping its head and tail (where the error is)."""
    if text is None or len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters left out] ...\n{text[-half:]}"


def write_job_started(sweep_dir: str | os.PathLike[str], number: int) -> None:
    path = started_path(sweep_dir, number)
    _records_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    except FileExistsError:
        if path.is_symlink():
            raise
        return  # numbers are never reused; an existing marker is this job's
    os.close(fd)


def clear_job_started(sweep_dir: str | os.PathLike[str], number: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(started_path(sweep_dir, number))


def job_started(sweep_dir: str | os.PathLike[str], number: int) -> bool:
    return started_path(sweep_dir, number).is_file() or record_path(sweep_dir, number).is_file()


def write_job_record(sweep_dir: str | os.PathLike[str], number: int, record: JobRecord) -> None:
    path = record_path(sweep_dir, number)
    _records_dir(path.parent)
    returned, stored = _jsonable(record.returned)
    if not stored:
        returned = None  # keep records small; such a result cannot be recovered anyway
    data = dataclasses.asdict(dataclasses.replace(record, returned=None, error=bound_text(record.error)))
    data.update(returned=returned, stored=stored)
    atomic_write(path, json.dumps(data, allow_nan=True))


def read_job_record(sweep_dir: str | os.PathLike[str], number: int) -> JobRecord | None:
    path = record_path(sweep_dir, number)
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return JobRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def _records_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for d in (folder, folder.parent):
        if d.is_symlink():
            raise OSError(f"{d} is a symbolic link; job records are never written through a link")


def _jsonable(value: Any, depth: int = 0) -> tuple[Any, bool]:
    """A JSON-able copy of a return value: numbers, strings, and containers of them."""
    if depth > 20:
        return None, False
    if value is None or isinstance(value, (bool, int, str)):
        return value, True
    if isinstance(value, float):
        return value, True
    if hasattr(value, "_metadata") and hasattr(value, "_get_node"):  # OmegaConf container
        from omegaconf import OmegaConf

        value = OmegaConf.to_container(value, resolve=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        out, ok = {}, True
        for k, v in value.items():
            out[str(k)], good = _jsonable(v, depth + 1)
            ok = ok and good
        return out, ok
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v, depth + 1) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    try:  # numpy / JAX scalars and 0-d arrays
        number = float(value)
        return number, True
    except (TypeError, ValueError):
        return repr(value), False


def recover_result(sweep_dir: str | os.PathLike[str], number: int) -> JobResult | None:
    """The ``JobResult`` a job left in its record, for a trial a dead sweep left running; None when
    it left none, or only a return value that could not be stored (the job must then run again)."""
    from hpo_sweeper.drivers import JobResult

    record = read_job_record(sweep_dir, number)
    if record is None or (record.error is None and not record.stored):
        return None
    return JobResult(record.returned, record.error, record.started_at, record.duration_s,
                     str(Path(sweep_dir) / str(number)), pruned=record.pruned)
