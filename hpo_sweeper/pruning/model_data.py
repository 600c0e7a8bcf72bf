"""Which values of pruned and running trials a model may learn from (issue 14, item 3).

A pruned trial's last value is a value at a small budget (epoch 3, say), not a final value: told
to the Bayesian engine as if it were final, it would look like a good configuration whenever
losses fall with training, or a bad one whenever they do not, and the model would learn the
budget instead of the hyperparameters. BOHB's rule (Falkner et al., ICML 2018, section 3.2)
avoids this: fit the model on the observations of *one* budget, the largest budget for which
enough observations exist, so that every value it sees was measured at the same step.

:func:`model_observations` applies that rule over the pruner's rungs and the full budget: the
budgets are the rung steps of bracket 0 and the full budget (max_resource, or the largest step
any trial reported); for each budget b, from the largest down, the observations are the values
with which trials reached b (their first report at or after b, as a rung records them); the first
budget with at least ``min_observations`` finite values wins. BOHB's own threshold is the number
of hyperparameters + 2 (its N_min = d + 1, plus one, so the KDEs have a point to spare).

Once ``min_observations`` trials have run to the full budget this is plain BO on final values;
before that, the model ranks configurations by their value at the highest rung that is well
populated, which is what the pruner itself ranks them by. Trials that stopped below the chosen
budget are left out of the model (they are not evidence about the value at that budget).

Two alternatives that keep every pruned trial in the model, measured against it
(benchmarks/pruning/RESULTS.md, "What bayes learns from"):

* :func:`rank_observations`: one value per trial, the Gaussian quantile of its rank by (rung
  reached, value there), failures last;
* :func:`fidelity_observations`: every trial's value at every budget it reached, the budget
  ``log(step) / log(full)`` as a GP input; the optimiser proposes at fidelity 1.

Both hand the GP at most ``MAX_ROWS`` rows (the best half by rank and an even sample of the rest).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping

import numpy as np

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning.asha import rung_steps
from hpo_sweeper.pruning.curves import Curves, is_nan
from hpo_sweeper.pruning.settings import PrunerSettings

__all__ = ["FidelityRow", "ModelData", "budgets", "fidelity_observations", "model_observations", "rank_observations"]


@dataclasses.dataclass(frozen=True)
class ModelData:
    """The budget chosen (None when no budget has enough data) and trial number -> value there."""

    step: int | None
    values: dict[int, float]


def budgets(curves: Curves, settings: PrunerSettings) -> list[int]:
    """The budgets a model may compare trials at, ascending: bracket 0's rung steps and the full
    budget (max_resource, or the largest step any trial reported); [] before any report."""
    seen = max((c.last.step for c in curves.values() if c.last is not None), default=0)
    full = settings.max_resource if settings.max_resource is not None else seen
    if full < 1:
        return []
    return sorted(set(rung_steps(settings.min_resource, settings.reduction_factor, 0, full, full)) | {full})


def model_observations(curves: Curves, settings: PrunerSettings, *, min_observations: int) -> ModelData:
    if min_observations < 1:
        raise ValueError(f"min_observations must be >= 1, got {min_observations}")
    for budget in reversed(budgets(curves, settings)):
        values = {}
        for number, curve in curves.items():
            entry = curve.first_at_or_after(budget)
            if entry is not None and not is_nan(entry.value):
                values[number] = entry.value
        if len(values) >= min_observations:
            return ModelData(budget, values)
    return ModelData(None, {})


#: The most rows a feed gives the GP (a fit costs ~ rows^3): past it, the best-ranked trials fill
#: half and the rest is an even sample of the others, by rank (see :func:`_keep`).
MAX_ROWS = 256


def _keep(order: list[int], rows: Mapping[int, int], max_rows: int | None) -> set[int]:
    """Trials to keep, ``order`` best first, each weighing ``rows[trial]`` rows: the best until half
    of ``max_rows`` is used, then evenly spaced ones of the rest until it is full."""
    if max_rows is None or sum(rows[t] for t in order) <= max_rows:
        return set(order)
    kept: set[int] = set()
    used, i = 0, 0
    while i < len(order) and used + rows[order[i]] <= max_rows // 2:
        kept.add(order[i])
        used += rows[order[i]]
        i += 1
    rest = order[i:]
    left = max_rows - used
    mean = sum(rows[t] for t in rest) / max(1, len(rest))
    picks = max(1, int(left // max(mean, 1.0)))
    for j in np.unique(np.linspace(0, len(rest) - 1, picks).round().astype(int)):
        if used + rows[rest[j]] <= max_rows:
            kept.add(rest[j])
            used += rows[rest[j]]
    return kept


def _ranked(curves: Curves, steps: list[int], d: Direction, failed: set[int]) -> dict[int, float]:
    """trial -> its 1-based rank (mean rank for ties) by level, then value there; failed last."""
    from scipy.stats import rankdata  # lazy: scipy.stats imports scipy.optimize (tests/test_lazy_imports.py)

    by_level: dict[int, list[tuple[int, float]]] = {}
    for number, curve in curves.items():
        if number in failed:
            continue
        for k in reversed(range(len(steps))):
            entry = curve.first_at_or_after(steps[k])
            if entry is not None and not is_nan(entry.value):
                by_level.setdefault(k, []).append((number, d.to_minimize(entry.value)))
                break
    ranks: dict[int, float] = {}
    ahead = 0  # trials at higher levels
    for k in sorted(by_level, reverse=True):
        numbers, values = zip(*by_level[k])
        for number, r in zip(numbers, rankdata(values)):
            ranks[number] = ahead + float(r)
        ahead += len(numbers)
    for number in failed:
        ranks[number] = ahead + (len(failed) + 1) / 2
    return ranks


def rank_observations(curves: Curves, settings: PrunerSettings, direction: Direction | str = Direction.MINIMIZE,
                      *, failed: Collection[int] = (), max_rows: int | None = MAX_ROWS) -> ModelData:
    """Every trial once, scored by how far it got and how well it did there (the ``rank`` feed).

    A trial's *level* is the largest budget it reached (bracket 0's rungs and the full budget, as
    in :func:`model_observations`); trials are ordered by level (higher first), then by their value
    at that level, and ``failed`` trials come last (``on_failure="worst"``); the score is the
    Gaussian quantile of the rank, ``ndtri((rank - 0.5) / n)`` (ties share their mean rank). So a
    trial the pruner stopped at rung k counts as worse than every trial that got past rung k, which
    is what the pruner itself decided, and still tells the model how it compared with the others
    stopped there: every trial informs the model, none with a value from another budget mistaken
    for a final one. Values are returned in the objective's direction (a maximised objective's
    scores negated), to be read like the task's own values; ``step`` is the full budget.
    """
    d = Direction.parse(direction)
    steps = budgets(curves, settings)
    ranks = _ranked(curves, steps, d, set(failed)) if steps else {}
    if not ranks:
        return ModelData(None, {})
    from scipy.special import ndtri

    n = len(ranks)
    kept = _keep(sorted(ranks, key=lambda t: (ranks[t], t)), dict.fromkeys(ranks, 1), max_rows)
    return ModelData(steps[-1], {number: d.sign * float(ndtri((r - 0.5) / n))
                                 for number, r in sorted(ranks.items()) if number in kept})


@dataclasses.dataclass(frozen=True)
class FidelityRow:
    """One observation of the multi-fidelity model: ``trial``'s ``value`` at ``step``, and the
    step as a feature in [0, 1], ``log(step) / log(full budget)`` (1 at the full budget)."""

    trial: int
    step: int
    value: float
    fidelity: float


def fidelity_observations(curves: Curves, settings: PrunerSettings, direction: Direction | str = Direction.MINIMIZE,
                          *, failed: Collection[int] = (), max_rows: int | None = MAX_ROWS) -> list[FidelityRow]:
    """Every trial's value at every budget it reached, with the budget as an input (``fidelity`` feed).

    The model is one GP over (hyperparameters, log step): it learns how values at small budgets
    relate to final ones from the trials that went on, and proposes at fidelity 1 (the full
    budget). Rows are in the order they were reported (time, then trial), so that each call only
    appends to the previous one's rows. A ``failed`` trial is one row at the first budget with the
    worst value seen there (``on_failure="worst"``: no better than any trial measured). Past
    ``max_rows``, whole trials are kept by the rank of :func:`rank_observations` (``_keep``).
    """
    d = Direction.parse(direction)
    steps = budgets(curves, settings)
    if not steps:
        return []
    full = steps[-1]
    failed = set(failed)

    def fidelity(step: int) -> float:
        return min(1.0, math.log(step) / math.log(full)) if full > 1 else 1.0

    keyed: list[tuple[tuple[float, int], FidelityRow]] = []
    for number, curve in curves.items():
        if number in failed:
            continue
        taken: set[int] = set()
        for b in steps:
            entry = curve.first_at_or_after(b)
            if entry is None or entry.step in taken or is_nan(entry.value):
                continue
            taken.add(entry.step)
            keyed.append(((entry.time, number), FidelityRow(number, entry.step, entry.value, fidelity(entry.step))))
    keyed.sort(key=lambda kv: kv[0])
    rows = [row for _, row in keyed]
    first = [d.to_minimize(r.value) for r in rows if r.step <= steps[0]]
    if failed and first:
        worst = d.sign * float(np.max(first))
        rows += [FidelityRow(number, steps[0], worst, fidelity(steps[0])) for number in sorted(failed)]
    if max_rows is not None and len(rows) > max_rows:
        ranks = _ranked(curves, steps, d, failed)
        weight: dict[int, int] = {}
        for r in rows:
            weight[r.trial] = weight.get(r.trial, 0) + 1
        order = sorted(weight, key=lambda t: (ranks.get(t, math.inf), t))
        kept = _keep(order, weight, max_rows)
        rows = [r for r in rows if r.trial in kept]
    return rows
