"""What a pruner is: a pure decision over the curves of every trial, and the ``none`` pruner."""

from __future__ import annotations

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning.curves import Curves
from hpo_sweeper.pruning.settings import PrunerSettings

__all__ = ["NoPruner", "Pruner"]


class Pruner:
    """``should_prune(curves, trial, step)``: whether ``trial``, having reported at ``step``, stops.

    A pruner holds only its settings and the direction: the decision is a pure function of those,
    of the curves (reports and their times; see curves.py) and of the trial asking and its step.
    The job process (through ``hpo_sweeper.should_prune()``) and the sweeper (on resume, or to
    record a decision) therefore reach the same answer from the same report files.
    """

    def __init__(self, settings: PrunerSettings, direction: Direction | str = Direction.MINIMIZE) -> None:
        self.settings = settings
        self.direction = Direction.parse(direction)

    def should_prune(self, curves: Curves, trial: int, step: int) -> bool:
        raise NotImplementedError


class NoPruner(Pruner):
    """``type: none``: every trial runs its full budget (its reports are still recorded)."""

    def should_prune(self, curves: Curves, trial: int, step: int) -> bool:
        return False
