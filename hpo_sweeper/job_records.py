"""Per-job records written by the job itself, beside the sweep.

A launcher hands results back only when its whole batch is done, so a sweep
killed mid-batch would lose the results of jobs that had already finished. Each
job therefore writes a small JSON record (start time, duration, return value or
error) into ``<sweep_dir>/.hpo_sweeper/jobs/<number>.json`` as it ends. The sweep
reads timings from these records, and a resumed sweep recovers the results of
trials that finished after the last save instead of running them again.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["JobRecord", "read_job_record", "record_path", "write_job_record"]

RECORDS_DIR = Path(".hpo_sweeper") / "jobs"


@dataclasses.dataclass
class JobRecord:
    started_at: float
    duration_s: float
    returned: Any = None
    error: str | None = None
    #: False when the return value could not be stored as JSON (it is then unrecoverable).
    stored: bool = True


def record_path(sweep_dir: str | os.PathLike[str], number: int) -> Path:
    return Path(sweep_dir) / RECORDS_DIR / f"{number}.json"


def write_job_record(sweep_dir: str | os.PathLike[str], number: int, record: JobRecord) -> None:
    path = record_path(sweep_dir, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    returned, stored = _jsonable(record.returned)
    if not stored:
        returned = None  # keep records small; such a result cannot be recovered anyway
    data = dataclasses.asdict(dataclasses.replace(record, returned=None))
    data.update(returned=returned, stored=stored)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, allow_nan=True))
    os.replace(tmp, path)


def read_job_record(sweep_dir: str | os.PathLike[str], number: int) -> JobRecord | None:
    try:
        data = json.loads(record_path(sweep_dir, number).read_text())
        return JobRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


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
