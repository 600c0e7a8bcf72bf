"""What the Bayesian model fits in a pruning sweep: BOHB's one-budget rule (model_data.py) fed live.

A pruned trial's last value is a value at a small budget; told to the model as if final it would
teach the model the budget, not the hyperparameters. So with a pruner, ``BayesOptimizer`` fits
``model_observations``: the values of every trial (finished, pruned or still running) at the
largest budget that at least ``n_dims + 2`` trials reached (BOHB's threshold). Once that many
trials ran the full budget, this is plain BO on their final values; pruned trials then are not in
the model at all (they say nothing about the value at the full budget).
"""

from __future__ import annotations

from typing import Any

from hpo_sweeper.pruning.ingest import CurveIngest
from hpo_sweeper.pruning.model_data import model_observations
from hpo_sweeper.pruning.settings import PrunerSettings
from hpo_sweeper.trials import TrialLog, TrialStatus

__all__ = ["model_source"]


def model_source(trials: TrialLog, curves: CurveIngest, settings: PrunerSettings, n_dims: int) -> Any:
    """A ``BayesOptimizer.model_source``: the (configuration, value) pairs to fit, or None."""

    def source() -> list[tuple[dict[str, Any], float]] | None:
        data = model_observations(curves.read(), settings, min_observations=n_dims + 2)
        if data.step is None:
            return None
        pairs = []
        for number, value in sorted(data.values.items()):
            t = trials.get(number)
            # a trial of another attempt (removed, run again under a new number) or one that failed later
            if t is not None and t.status is not TrialStatus.FAILED:
                pairs.append((t.params, value))
        return pairs or None

    return source
