"""Which observations the posterior holds once there are more than ``max_posterior_points``.

An exact posterior over all ``n`` observations costs O(n^3) to factor and O(n^2) per
predicted point, so at n = 10,000 (bucket 16,384) one suggestion takes minutes (issue #20).
Above the cap the posterior conditions on a subset of ``m`` rows instead, in the spirit of
a trust-region / local GP (TuRBO; the nearest-neighbour GPs of Gramacy and Apley):

* ``LOCAL_SHARE`` of them: the observations nearest the incumbent (the best observed point),
  in the metric of the last fitted lengthscales, where the acquisition search spends most of
  its candidates and needs the model sharp;
* ``BEST_SHARE``: the best-valued observations not already taken, so every basin the local
  candidates perturb (``engine.N_TOP`` best points) is modelled from its own data;
* the rest: a uniform random sample of what is left, so the model still knows the whole
  space roughly (the global candidates) with the same density the sweep explored it.

The cost is then that of an exact GP at ``m``, whatever ``n`` is; the selection itself is
O(n D) host-side work. Pure numpy, deterministic given ``rng``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BEST_SHARE", "LOCAL_SHARE", "select"]

#: shares of the subset (see the module docstring); the rest is the random spread sample
LOCAL_SHARE = 0.5
BEST_SHARE = 0.125


def select(X: np.ndarray, z: np.ndarray, m: int, inv_ls: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``m`` rows of ``X: (n, D)`` / ``z: (n,)`` (minimised) to condition on.

    ``inv_ls: (D,)`` inverse lengthscales of the last fit (None: the unit metric)."""
    n = len(z)
    if m >= n:
        return np.arange(n)
    taken = np.zeros(n, dtype=bool)
    incumbent = X[int(np.argmin(z))]
    scale = np.ones(X.shape[1]) if inv_ls is None else np.asarray(inv_ls, dtype=float)
    d2 = np.sum(((X - incumbent) * scale) ** 2, axis=1)
    n_local = max(1, int(m * LOCAL_SHARE))
    taken[np.argpartition(d2, n_local - 1)[:n_local]] = True
    n_best = int(m * BEST_SHARE)
    if n_best:
        by_value = np.argsort(z, kind="stable")
        taken[by_value[~taken[by_value]][:n_best]] = True
    rest = np.flatnonzero(~taken)
    k = m - int(taken.sum())
    if k > 0:
        taken[rng.choice(rest, k, replace=False)] = True
    return np.flatnonzero(taken)
