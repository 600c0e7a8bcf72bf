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

``tie_streak(y)``: how many of the last observations tie an incumbent found before them.
The gentler rules key on it: instead of a random point, the next proposal's EI asks for a
larger margin (``plateau_xi``: xi grows with the streak) or becomes an LCB with a larger
kappa (``plateau_kappa``), both of which favour points where the model is unsure over the
plateau it has already mapped, while still using the model.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TIE_RTOL", "on_plateau", "tie_streak"]

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


def _ties(y: np.ndarray) -> np.ndarray:
    """(n,) bool: ``y[i]`` ties ``min(y)`` (the tolerance of ``on_plateau``)."""
    best = float(np.min(y))
    scale = max(float(np.max(y)) - best, abs(best), 1e-300)
    return np.abs(y - best) <= TIE_RTOL * scale


def tie_streak(y: np.ndarray) -> int:
    """How many trailing values of ``y: (n,)`` tie ``min(y)``, not counting the first to reach it.

    ``[0.9, 0.5, 0.5, 0.5] -> 2``; ``[0.9, 0.5] -> 0`` (a new best is not a tie); ``[0.5, 0.7] -> 0``.
    """
    y = np.asarray(y, dtype=float)
    if len(y) < 2:
        return 0
    tie = _ties(y)
    trailing = len(y) if tie.all() else int(np.argmin(tie[::-1]))
    first = int(np.argmax(tie))
    return trailing - 1 if first >= len(y) - trailing else trailing
