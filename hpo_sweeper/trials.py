"""Trial records and the in-memory trial log.

A ``Trial`` is numbered by its job number (Hydra's ``hydra.job.num``), so the
number in the results files names the job directory that produced it.

A trial's life: proposed and recorded ``running``, started, (intermediate values
reported), then finished as ``completed``, ``failed``, ``pruned`` or ``infeasible``. A pruned
trial was stopped on purpose: it counts as finished, is never run again and is never
the best trial (it did not run to its full budget). An infeasible trial ran and broke a
constraint (``hpo_sweeper.constraints``), or crashed out of memory with
``constraints_oom=infeasible``: finished, never run again, not a failure, never the best.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["FINISHED", "Trial", "TrialLog", "TrialPruned", "TrialStatus"]


class TrialStatus(str, enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    PRUNED = "pruned"
    INFEASIBLE = "infeasible"


#: The states a trial ends in; it never leaves them.
FINISHED = frozenset({TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.PRUNED, TrialStatus.INFEASIBLE})


class TrialPruned(Exception):
    """Raised by an objective to stop its trial on purpose: recorded ``pruned``, not failed."""


@dataclass
class Trial:
    number: int
    params: dict[str, Any]
    status: TrialStatus = TrialStatus.RUNNING
    # In the user's units. One number per trial today; a multi-objective sweep (#16) would add a
    # vector beside it rather than change what this field means.
    value: float | None = None
    error: str | None = None
    started_at: float | None = None  # seconds since the epoch
    duration_s: float | None = None
    job_dir: str | None = None
    # A multi-objective sweep (direction a list): one number per objective; ``value`` stays None.
    # Last, so that positional construction keeps its meaning.
    values: list[float] | None = None
    # A constrained sweep: the value of each constraint key the task returned (None where it has
    # none: failed, or crashed out of memory).
    constraint_values: dict[str, float] | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def replace(self, **changes: Any) -> Trial:
        return dataclasses.replace(self, **changes)


class TrialLog:
    """Trials of one sweep, in job-number order."""

    def __init__(self, trials: list[Trial] | None = None) -> None:
        self._meta: dict[str, Any] = {}
        self._replace_all(trials or [])
        self._intermediate: dict[int, list[tuple[int, float, float]]] = {}

    def __iter__(self) -> Iterator[Trial]:
        return iter(sorted(self._trials.values(), key=lambda t: t.number))

    def __len__(self) -> int:
        return len(self._trials)

    def next_number(self) -> int:
        return max(self._trials, default=-1) + 1

    def get(self, number: int) -> Trial | None:
        return self._trials.get(number)

    def add(self, trial: Trial) -> None:
        self._put(trial)

    def update(self, trial: Trial) -> None:
        self._put(trial)

    def remove(self, number: int) -> None:
        old = self._trials.pop(number, None)
        if old is not None:
            self._counts[old.status] -= 1

    def count(self, status: TrialStatus) -> int:
        return self._counts[status]

    def n_finished(self) -> int:
        return sum(n for status, n in self._counts.items() if status in FINISHED)

    # The loop asks for counts after every event: kept as trials change, not counted each time
    # (that was O(n) per event, O(n^2) per sweep; issue #20).
    def _replace_all(self, trials: Iterable[Trial]) -> None:
        self._trials: dict[int, Trial] = {t.number: t for t in trials}
        self._counts: collections.Counter[TrialStatus] = collections.Counter(
            t.status for t in self._trials.values())

    def _put(self, trial: Trial) -> None:
        old = self._trials.get(trial.number)
        if old is not None:
            self._counts[old.status] -= 1
        self._trials[trial.number] = trial
        self._counts[trial.status] += 1

    # Facts about the sweep beside its trials (a ``TrialStore`` persists them).
    def get_meta(self, key: str) -> Any:
        return self._meta.get(key)

    def set_meta(self, key: str, value: Any) -> None:
        self._meta[key] = value

    # Each trial's intermediate values, (step, value, time), for pruning (a ``TrialStore`` persists them).
    def set_intermediate(self, number: int, reports: list[tuple[int, float, float]]) -> None:
        self._intermediate[number] = list(reports)

    def intermediate(self, number: int) -> list[tuple[int, float, float]]:
        return list(self._intermediate.get(number, []))
