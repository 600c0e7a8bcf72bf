"""Plateaus: when the model keeps proposing points that tie the incumbent, explore instead.

Real tuning objectives are often piecewise constant: a decision tree whose
``min_impurity_decrease`` makes it a stump gives the same cross-validated loss over a large
part of the space. Once such a plateau holds the incumbent, EI keeps sampling it (there
the mean is the incumbent and the variance never quite vanishes), and every further trial
ties it. Measured on the Bayesmark-style suite (benchmarks/notes/issue19_engine_quality.md):
on DT_breast_nll the engine's 50 trials tied the incumbent 20-38 times in 6 of 10 seeds and
ended on the stump's loss, where random search moved on.

``on_plateau(y, k)``: the last ``k`` observations all tie the best value (to a relative
tolerance, since a mean over folds may differ in its last bits). The engine then makes its
next proposal a uniformly random point: the model has shown it cannot tell the plateau's
points apart, and a random point costs one trial. On a smooth objective values never tie,
so the rule never fires there.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TIE_RTOL", "on_plateau"]

#: two values tie when they differ by at most this fraction of the observed range (or of |best|)
TIE_RTOL = 1e-9


def on_plateau(y: np.ndarray, k: int) -> bool:
    """True when ``k >= 1`` and the last ``k`` of ``y: (n,)`` (tell order, minimised) tie ``min(y)``."""
    y = np.asarray(y, dtype=float)
    if k < 1 or len(y) < k + 1:
        return False
    best = float(np.min(y))
    scale = max(float(np.max(y)) - best, abs(best), 1e-300)
    return bool(np.all(np.abs(y[-k:] - best) <= TIE_RTOL * scale))
