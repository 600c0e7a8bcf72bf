"""The median stopping rule (Golovin et al., Google Vizier, KDD 2017), as Optuna's MedianPruner.

A trial is stopped at step s when its best value so far is worse than the median of the values
that other trials reported at exactly step s. "Other trials" are those that reported at s
*before* this trial did and were not themselves pruned by then: in a sequential sweep that is
Optuna's set of completed trials; with parallel workers it also counts running trials, so a trial
is judged against everything known when it reaches s, not only against finished trials.
"""

from __future__ import annotations

import statistics

from hpo_sweeper.pruning.base import Pruner
from hpo_sweeper.pruning.curves import Curves, earlier, is_nan

__all__ = ["MedianPruner"]


class MedianPruner(Pruner):
    def should_prune(self, curves: Curves, trial: int, step: int) -> bool:
        s = self.settings
        curve = curves.get(trial)
        report = curve.at(step) if curve is not None else None
        if curve is None or report is None or trial < s.n_startup_trials or step < s.warmup_steps:
            return False
        previous = curve.before(step)
        if not _first_in_interval(step, previous.step if previous else -1, s.warmup_steps, s.interval_steps):
            return False
        own = [r.value for r in curve.reports if r.step <= step and not is_nan(r.value)]
        if not own:
            return True  # nothing but NaN so far: the trial diverged
        best = min(own, key=self.direction.to_minimize)
        others = []
        for number, other in curves.items():
            r = other.at(step)
            if (number == trial or r is None or is_nan(r.value) or other.pruned_before(report.time)
                    or not earlier(r, number, report, trial)):
                continue
            others.append(r.value)
        if len(others) < s.min_trials:
            return False
        return self.direction.better(statistics.median(others), best)


def _first_in_interval(step: int, previous_step: int, warmup_steps: int, interval_steps: int) -> bool:
    """Whether ``step`` is the first report at or after a judging step (Optuna's rule): judging
    steps are warmup_steps, warmup_steps + interval_steps, ...; a trial that skips steps is judged
    at its first report past each of them."""
    judging_step = (step - warmup_steps) // interval_steps * interval_steps + warmup_steps
    return previous_step < judging_step
