"""Trial records and the in-memory trial log.

A ``Trial`` is numbered by its job number (Hydra's ``hydra.job.num``), so the
number in the results files names the job directory that produced it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Trial", "TrialLog", "TrialStatus"]


class TrialStatus(str, enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass
class Trial:
    number: int
    params: dict[str, Any]
    status: TrialStatus = TrialStatus.RUNNING
    value: float | None = None  # in the user's units
    error: str | None = None
    started_at: float | None = None  # seconds since the epoch
    duration_s: float | None = None
    job_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Trial:
        return dataclasses.replace(self, **changes)


class TrialLog:
    """Trials of one sweep, in job-number order."""

    def __init__(self, trials: list[Trial] | None = None) -> None:
        self._trials: dict[int, Trial] = {t.number: t for t in trials or []}
        self._meta: dict[str, Any] = {}

    def __iter__(self) -> Iterator[Trial]:
        return iter(sorted(self._trials.values(), key=lambda t: t.number))

    def __len__(self) -> int:
        return len(self._trials)

    def next_number(self) -> int:
        return max(self._trials, default=-1) + 1

    def add(self, trial: Trial) -> None:
        self._trials[trial.number] = trial

    def update(self, trial: Trial) -> None:
        self._trials[trial.number] = trial

    def remove(self, number: int) -> None:
        self._trials.pop(number, None)

    def count(self, status: TrialStatus) -> int:
        return sum(1 for t in self._trials.values() if t.status is status)

    # Facts about the sweep beside its trials (a ``TrialStore`` persists them).
    def get_meta(self, key: str) -> Any:
        return self._meta.get(key)

    def set_meta(self, key: str, value: Any) -> None:
        self._meta[key] = value
