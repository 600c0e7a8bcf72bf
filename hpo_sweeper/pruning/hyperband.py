"""Hyperband (Li et al., JMLR 2018) over ASHA brackets, as Optuna's HyperbandPruner.

Notation: ``r`` = min_resource, ``R`` = max_resource, ``eta`` = reduction_factor.
There are ``n = floor(log_eta(R / r)) + 1`` brackets; bracket i is ASHA with
min_early_stopping_rate i (bracket 0 prunes hardest, bracket n-1 runs every trial to R), and its
trials compete only with each other. Bracket i receives a share of the trials proportional to
``ceil(n * eta**(n-1-i) / (n-i))`` (Optuna's budgets; the paper's n_i per bracket).

A trial's bracket is a function of its number alone, so it is the same in every process: the
numbers are spread over the brackets by a stride permutation of ``0..W-1`` (W = the sum of the
shares), so any W consecutive trial numbers fill each bracket with exactly its share, interleaved.

With max_resource null, R is inferred per trial as the largest step any trial had reported before
that trial's first report (so a trial's bracket is fixed when it starts and never changes); the
first trials of a sweep, before any curve has gone past r * eta, are all in one bracket, plain ASHA
(rungs then have no cap at R, as in asha with max_resource null).
Optuna instead waits for the first completed trial; set max_resource for textbook Hyperband.
"""

from __future__ import annotations

import math

from hpo_sweeper.pruning.asha import AshaPruner
from hpo_sweeper.pruning.base import Pruner
from hpo_sweeper.pruning.curves import Curves

__all__ = ["HyperbandPruner", "bracket_of", "bracket_shares", "n_brackets"]


def n_brackets(min_resource: int, max_resource: int, reduction_factor: int) -> int:
    """floor(log_eta(R / r)) + 1, computed in integers; 1 when R < r * eta."""
    n = 1
    while min_resource * reduction_factor**n <= max_resource:
        n += 1
    return n


def bracket_shares(n: int, reduction_factor: int) -> list[int]:
    return [math.ceil(n * reduction_factor ** (n - 1 - i) / (n - i)) for i in range(n)]


def bracket_of(trial: int, n: int, reduction_factor: int) -> int:
    shares = bracket_shares(n, reduction_factor)
    total = sum(shares)
    stride = max(1, round(total * 0.6180339887))
    while math.gcd(stride, total) != 1:
        stride += 1
    position = (trial * stride) % total
    for i, share in enumerate(shares):
        if position < share:
            return i
        position -= share
    raise AssertionError("unreachable: position < total")


class HyperbandPruner(Pruner):
    def should_prune(self, curves: Curves, trial: int, step: int) -> bool:
        if trial not in curves or curves[trial].at(step) is None:
            return False
        s = self.settings
        resources = self._max_resources(curves)
        brackets = {
            number: bracket_of(number, n_brackets(s.min_resource, r, s.reduction_factor)
                               if r >= s.min_resource else 1, s.reduction_factor)
            for number, r in resources.items()
        }
        mine = brackets[trial]
        asha = AshaPruner(self.settings, self.direction, rate=mine, competes=lambda number: brackets[number] == mine)
        return asha.should_prune(curves, trial, step)

    def _max_resources(self, curves: Curves) -> dict[int, int]:
        """R per trial: max_resource, or the largest step reported before the trial's first report."""
        if self.settings.max_resource is not None:
            return dict.fromkeys(curves, self.settings.max_resource)
        # One pass over every report in arrival order (time, then trial number): O(P log P).
        arrivals = sorted((r.time, number, r.step) for number, c in curves.items() for r in c.reports)
        first = {number: (c.reports[0].time, number) for number, c in curves.items() if c.reports}
        out = dict.fromkeys(curves, 0)
        largest, i = 0, 0
        for number, key in sorted(first.items(), key=lambda kv: kv[1]):
            while i < len(arrivals) and arrivals[i][:2] < key:
                largest = max(largest, arrivals[i][2])
                i += 1
            out[number] = largest
        return out
