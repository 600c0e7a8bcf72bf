"""When to refit the GP's hyperparameters: a pure function of the data size and the
last fit, so the policy can be read, and tested, apart from the fitting itself.

A fit costs ~ restarts x iterations x n^3. Three kinds of call:

* ``full``: a multi-start MAP fit (previous optimum, default, random restarts), while
  n <= ``full_fit_below`` and whenever n has grown by ``refit_growth`` since the last one.
  Measured on 4 test functions, 10 seeds, 50 trials: refitting fully only then halves
  the engine's time at unchanged median regret (within seed noise; ``benchmarks/``);
* ``refine``: in between, ``REFINE_STEPS`` L-BFGS evaluations from the previous optimum,
  through the same compiled program (the other restarts get 0 evaluations);
* ``extend``: from bucket ``INCREMENTAL_BUCKET`` on, the hyperparameters are kept and the
  previous Cholesky factor is extended by the new observations, O(N^2) instead of O(N^3)
  (~50 ms at N = 1024 on one core). Measured at n = 200, d = 6 on one core: 19 ms -> 10 ms
  per suggestion. The engine falls back to ``refine`` when the previous posterior cannot
  be reused (another bucket, or earlier observations changed).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["INCREMENTAL_BUCKET", "REFINE_STEPS", "FitKind", "fit_kind", "fit_starts"]

INCREMENTAL_BUCKET = 256
REFINE_STEPS = 10
FitKind = Literal["full", "refine", "extend"]


def fit_kind(n_obs: int, N: int, has_previous: bool, full_fit_n: int, full_fit_below: int,
             refit_growth: float) -> FitKind:
    """The kind of fit for ``n_obs`` observations padded to ``N`` (see the module docstring).

    ``full_fit_n``: the size of the data at the last full fit; ``has_previous``: whether a
    previous optimum exists to warm-start from."""
    if not has_previous or n_obs <= full_fit_below or n_obs >= refit_growth * full_fit_n:
        return "full"
    return "extend" if N >= INCREMENTAL_BUCKET else "refine"


def fit_starts(kind: FitKind, previous: np.ndarray | None, default: np.ndarray, random: np.ndarray,
               n_restarts: int, maxiter: int) -> tuple[np.ndarray, np.ndarray]:
    """``(theta0: (R, P), maxiter: (R,))`` for ``gp.fit``: R = ``n_restarts`` starts.

    A full fit starts from the previous optimum (if any), the default and ``random`` draws
    from the prior; a refinement gives its evaluations to the previous optimum only."""
    if kind == "full":
        starts = [default] if previous is None else [previous, default]
        starts += list(random)
        return np.stack(starts[:n_restarts]), np.full(n_restarts, maxiter)
    assert previous is not None
    steps = np.zeros(n_restarts)
    steps[0] = REFINE_STEPS
    return np.tile(previous, (n_restarts, 1)), steps


def n_random_starts(previous: np.ndarray | None, n_restarts: int) -> int:
    """How many prior draws a full fit needs on top of the previous optimum and the default."""
    return max(0, n_restarts - (1 if previous is None else 2))
