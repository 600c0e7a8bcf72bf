"""What the Bayesian model fits in a pruning sweep (model_data.py), fed live.

A pruned trial's last value is a value at a small budget; told to the model as if final it would
teach the model the budget, not the hyperparameters. So with a pruner, ``BayesOptimizer`` fits
what :func:`feed_rows` returns instead of its told history, one of:

* ``bohb``: BOHB's one-budget rule (``model_observations``), the values of every trial at the
  largest budget that at least ``n_dims + 2`` trials reached; once that many trials ran the full
  budget, plain BO on their final values (pruned trials are then out of the model);
* ``rank``: every trial once, scored by the rung it reached and its rank there
  (``rank_observations``);
* ``fidelity``: every trial's value at every budget it reached, the budget as one more GP feature,
  proposals at the full budget (``fidelity_observations``; the jax backend only).

DEFAULT_FEED is the one the benchmark chose (benchmarks/pruning/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning.curves import Curves
from hpo_sweeper.pruning.ingest import CurveIngest
from hpo_sweeper.pruning.model_data import fidelity_observations, model_observations, rank_observations
from hpo_sweeper.pruning.settings import PrunerSettings
from hpo_sweeper.trials import TrialLog, TrialStatus

__all__ = ["DEFAULT_FEED", "FEEDS", "RANDOM_FRACTION", "feed_rows", "model_source", "wire"]

FEEDS = ("bohb", "rank", "fidelity")
DEFAULT_FEED = "bohb"
#: BayesOptimizer.random_fraction with a pruner (BOHB's own default is 1/3)
RANDOM_FRACTION = 1 / 3


def feed_rows(feed: str, curves: Curves, settings: PrunerSettings, direction: Direction | str, n_dims: int, *,
              failed: Collection[int] = ()) -> list[tuple[Any, ...]] | None:
    """``(trial, value)`` rows (``(trial, value, fidelity)`` for ``fidelity``) to fit, or None."""
    if feed == "bohb":
        data = model_observations(curves, settings, min_observations=n_dims + 2)
        return sorted(data.values.items()) if data.step is not None else None
    if feed == "rank":
        data = rank_observations(curves, settings, direction, failed=failed)
        return sorted(data.values.items()) or None
    if feed == "fidelity":
        rows = fidelity_observations(curves, settings, direction, failed=failed)
        return [(r.trial, r.value, r.fidelity) for r in rows] or None
    raise ValueError(f"feed must be one of {list(FEEDS)}, got {feed!r}")


def model_source(trials: TrialLog, curves: CurveIngest, settings: PrunerSettings, n_dims: int,
                 direction: Direction | str = Direction.MINIMIZE, feed: str = DEFAULT_FEED) -> Any:
    """A ``BayesOptimizer.model_source``: the (configuration, value[, fidelity]) rows to fit, or None."""

    def source() -> list[tuple[Any, ...]] | None:
        # only the rank and fidelity feeds score failures (bohb drops them below): no scan of
        # every trial per suggestion for the default
        failed = set() if feed == "bohb" else {t.number for t in trials if t.status is TrialStatus.FAILED}
        rows = feed_rows(feed, curves.read(), settings, direction, n_dims, failed=failed)
        out = []
        for number, *rest in rows or ():
            t = trials.get(number)
            # a trial of another attempt (removed, run again under a new number); the bohb feed also
            # leaves out one that failed later (the others score failures themselves)
            if t is not None and (feed != "bohb" or t.status is not TrialStatus.FAILED):
                out.append((t.params, *rest))
        return out or None

    return source


def wire(optimizer: Any, trials: TrialLog, curves: CurveIngest, settings: PrunerSettings, n_dims: int,
         direction: Direction | str = Direction.MINIMIZE) -> None:
    """What sweep.py does to a ``BayesOptimizer`` in a sweep with a pruner: DEFAULT_FEED as its
    model source (``fidelity`` needs the jax engine's extra column: ``rank`` on skopt) and
    RANDOM_FRACTION of its proposals at random."""
    feed = "rank" if DEFAULT_FEED == "fidelity" and getattr(optimizer, "backend", "jax") != "jax" else DEFAULT_FEED
    optimizer.model_source = model_source(trials, curves, settings, n_dims, direction, feed)
    optimizer.random_fraction = RANDOM_FRACTION
