"""What every pruner reads: each trial's reported curve, with the time of every report.

Notation: a *curve* is one trial's reports, ``(step, value, time)`` with strictly increasing
steps. ``time`` is the wall-clock time at which the job wrote the report; pruners use it only to
order reports (who reached a rung first), never to measure durations, so a decision taken again
later, by the sweeper or on resume, from the same files sees exactly the reports the job saw.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

__all__ = ["Curve", "Curves", "Report"]


@dataclasses.dataclass(frozen=True)
class Report:
    step: int
    value: float  # NaN for a report that was not a finite number (the trial diverged)
    time: float


@dataclasses.dataclass(frozen=True)
class Curve:
    """One trial's reports (steps strictly increasing) and, if a pruner stopped it, when."""

    reports: tuple[Report, ...] = ()
    #: time of the job's "pruned" decision, None while it was never told to stop.
    pruned_time: float | None = None

    def at(self, step: int) -> Report | None:
        """The report at exactly ``step``."""
        for r in self.reports:
            if r.step == step:
                return r
        return None

    def first_at_or_after(self, step: int) -> Report | None:
        """The report with which this trial reached ``step`` (a rung's entry), None if it never did."""
        for r in self.reports:
            if r.step >= step:
                return r
        return None

    def before(self, step: int) -> Report | None:
        """The report just before the one at ``step``."""
        last = None
        for r in self.reports:
            if r.step >= step:
                return last
            last = r
        return last

    @property
    def last(self) -> Report | None:
        return self.reports[-1] if self.reports else None

    def pruned_before(self, time: float) -> bool:
        return self.pruned_time is not None and self.pruned_time <= time


#: trial number -> its curve
Curves = Mapping[int, Curve]


def earlier(a: Report, a_trial: int, b: Report, b_trial: int) -> bool:
    """Whether report ``a`` (of ``a_trial``) came before ``b``: by time, ties by trial number."""
    return (a.time, a_trial) < (b.time, b_trial)


def is_nan(value: float) -> bool:
    return math.isnan(value)
