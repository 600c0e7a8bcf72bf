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
"""

from __future__ import annotations

import dataclasses

from hpo_sweeper.pruning.asha import rung_steps
from hpo_sweeper.pruning.curves import Curves, is_nan
from hpo_sweeper.pruning.settings import PrunerSettings

__all__ = ["ModelData", "model_observations"]


@dataclasses.dataclass(frozen=True)
class ModelData:
    """The budget chosen (None when no budget has enough data) and trial number -> value there."""

    step: int | None
    values: dict[int, float]


def model_observations(curves: Curves, settings: PrunerSettings, *, min_observations: int) -> ModelData:
    if min_observations < 1:
        raise ValueError(f"min_observations must be >= 1, got {min_observations}")
    seen = max((c.last.step for c in curves.values() if c.last is not None), default=0)
    full = settings.max_resource if settings.max_resource is not None else seen
    budgets = sorted(set(rung_steps(settings.min_resource, settings.reduction_factor, 0, full, full)) | {full})
    for budget in reversed(budgets):
        values = {}
        for number, curve in curves.items():
            entry = curve.first_at_or_after(budget)
            if entry is not None and not is_nan(entry.value):
                values[number] = entry.value
        if len(values) >= min_observations:
            return ModelData(budget, values)
    return ModelData(None, {})
