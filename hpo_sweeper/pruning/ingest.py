"""The sweeper's side of the channel: each trial's report file copied into the trial store.

The report files (channel.py) are the source of truth: jobs write them, wherever they run. When a
job finishes, the sweep reads the bytes appended since its last look (``CurveReader``) and stores
that trial's curve in the store's ``intermediate`` table, so that the store holds every
intermediate value (``python -m hpo_sweeper report``, the results files, a warm start) even if the
sweep dir's files are later cleaned up. On resume every trial is read again from the files, which
a job may have appended to after the sweep process died.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from hpo_sweeper.pruning.channel import CurveReader
from hpo_sweeper.pruning.curves import Curve
from hpo_sweeper.trials import TrialLog

__all__ = ["CurveIngest"]


class CurveIngest:
    def __init__(self, sweep_dir: str | os.PathLike[str] | None, trials: TrialLog) -> None:
        self.reader = CurveReader(sweep_dir) if sweep_dir is not None else None
        self.trials = trials
        #: trial number -> its curve as last read from the files
        self.curves: dict[int, Curve] = {}

    def ingest(self, numbers: Iterable[int]) -> None:
        """Store the curves of ``numbers`` (those that reported anything) as the files hold them now."""
        if self.reader is None:
            return
        self.curves = self.reader.read()
        for number in numbers:
            curve = self.curves.get(number)
            if curve is None:
                continue
            reports = [(r.step, r.value, r.time) for r in curve.reports]
            if reports != self.trials.intermediate(number):
                self.trials.set_intermediate(number, reports)

    def read(self) -> dict[int, Curve]:
        """Every trial's curve as the files hold them now (running trials' reports included)."""
        if self.reader is not None:
            self.curves = self.reader.read()
        return self.curves

    def last_step(self, number: int) -> int | None:
        """The last step trial ``number`` reported (from the store: the files may be gone)."""
        reports = self.trials.intermediate(number)
        return reports[-1][0] if reports else None

    def last_steps(self) -> dict[int, int]:
        """Trial number -> its last reported step, for every recorded trial that reported."""
        out = {}
        for t in self.trials:
            step = self.last_step(t.number)
            if step is not None:
                out[t.number] = step
        return out
