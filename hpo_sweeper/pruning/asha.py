"""Asynchronous successive halving (ASHA; Li et al., MLSys 2020), as Optuna's SuccessiveHalvingPruner.

Notation: ``r`` = min_resource, ``eta`` = reduction_factor, ``s`` = min_early_stopping_rate.
Rung k sits at step ``r * eta ** (s + k)``; rungs at or beyond max_resource (when set) are left out,
since a trial there has spent its budget.

When a trial's report crosses a rung (its first report at or after the rung's step), it is judged
at once against the trials that entered that rung *before it* (by report time; ties by trial
number), never waiting for a full batch: with n values in the rung, its own included, it goes on
if it is among the best ``max(1, n // eta)``. So the first trial at a rung always goes on, and
while a rung holds fewer than eta values a trial goes on only if it is the best so far (Optuna's
rule: a stopped trial cannot be resumed later, as the paper's promotion scheme would). A NaN
report is always pruned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning.base import Pruner
from hpo_sweeper.pruning.curves import Curves, earlier, is_nan
from hpo_sweeper.pruning.settings import PrunerSettings

__all__ = ["AshaPruner", "promotable", "rung_steps"]


def rung_steps(
    min_resource: int, reduction_factor: int, rate: int, upto: int, max_resource: int | None
) -> Iterator[int]:
    """The rung steps <= ``upto`` (and < ``max_resource``, when given), ascending."""
    step = min_resource * reduction_factor**rate
    while step <= upto and (max_resource is None or step < max_resource):
        yield step
        step *= reduction_factor


def promotable(value: float, competing: list[float], reduction_factor: int, direction: Direction) -> bool:
    """Whether ``value`` is among the best ``max(1, len(competing) // eta)`` of ``competing`` (it included)."""
    k = max(1, len(competing) // reduction_factor)
    cutoff = sorted(direction.to_minimize(v) for v in competing)[k - 1]
    return direction.to_minimize(value) <= cutoff


class AshaPruner(Pruner):
    def __init__(self, settings: PrunerSettings, direction: Direction | str = Direction.MINIMIZE, *,
                 rate: int | None = None, competes: Callable[[int], bool] | None = None) -> None:
        super().__init__(settings, direction)
        self.rate = settings.min_early_stopping_rate if rate is None else rate
        self.competes = competes  # hyperband: only trials of the asking trial's bracket compete

    def should_prune(self, curves: Curves, trial: int, step: int) -> bool:
        curve = curves.get(trial)
        report = curve.at(step) if curve is not None else None
        if curve is None or report is None:
            return False
        previous = curve.before(step)
        s = self.settings
        crossed = [m for m in rung_steps(s.min_resource, s.reduction_factor, self.rate, step, s.max_resource)
                   if previous is None or previous.step < m]
        if not crossed:
            return False
        if is_nan(report.value):
            return True
        for rung in crossed:
            competing = [report.value]
            for number, other in curves.items():
                if number == trial or (self.competes is not None and not self.competes(number)):
                    continue
                entry = other.first_at_or_after(rung)
                if entry is not None and not is_nan(entry.value) and earlier(entry, number, report, trial):
                    competing.append(entry.value)
            if not promotable(report.value, competing, s.reduction_factor, self.direction):
                return True
        return False
