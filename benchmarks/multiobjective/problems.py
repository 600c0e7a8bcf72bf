"""Multi-objective test problems with known Pareto fronts, all minimised on [0, 1]^d.

Written from the published definitions:

* ZDT1, ZDT2: Zitzler, Deb and Thiele, "Comparison of multiobjective evolutionary
  algorithms: empirical results", Evolutionary Computation 8(2), 2000.
  ``f1 = x1``, ``g = 1 + 9/(d-1) sum_{i>=2} x_i``, ``f2 = g (1 - sqrt(f1/g))`` (ZDT1) or
  ``g (1 - (f1/g)^2)`` (ZDT2). The front is ``g = 1`` (x_2.. = 0): ``f2 = 1 - sqrt(f1)``
  (convex) / ``1 - f1^2`` (concave). Published with d = 30; here d = 6 (BoTorch's test
  problems accept any d; 6 keeps a 50-trial GP run cheap on a loaded 2-core machine).
* DTLZ2: Deb, Thiele, Laumanns and Zitzler, "Scalable test problems for evolutionary
  multi-objective optimization", 2005. M = 3 objectives, ``g = sum_{i>=M} (x_i - 0.5)^2``,
  ``f1 = (1+g) cos(x1 pi/2) cos(x2 pi/2)``, ``f2 = (1+g) cos(x1 pi/2) sin(x2 pi/2)``,
  ``f3 = (1+g) sin(x1 pi/2)``. The front is the positive octant of the unit sphere.
  Published with k = d - M + 1 = 10 (d = 12); here d = 6 (k = 4), as in BoTorch's examples.

Reference points are BoTorch's (``botorch.test_functions.multi_objective``): 11 for ZDT,
1.1 for DTLZ2, so ``max_hv`` (the front's hypervolume) is known in closed form:
ZDT1 ``121 - 1/3``, ZDT2 ``121 - 2/3``, DTLZ2 ``1.1^3 - pi/6``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["PROBLEMS", "MOProblem"]


@dataclass(frozen=True)
class MOProblem:
    name: str
    dim: int
    n_obj: int
    f: Callable[[np.ndarray], np.ndarray]  # (n, d) -> (n, m)
    ref: tuple[float, ...]
    max_hv: float
    #: (n, d) -> (n, d): the points as recorded (the example app's integers), None: as proposed
    snap: Callable[[np.ndarray], np.ndarray] | None = None


def zdt1(X: np.ndarray) -> np.ndarray:
    X = np.atleast_2d(X)
    f1 = X[:, 0]
    g = 1.0 + 9.0 / (X.shape[1] - 1) * X[:, 1:].sum(axis=1)
    return np.stack([f1, g * (1.0 - np.sqrt(f1 / g))], axis=1)


def zdt2(X: np.ndarray) -> np.ndarray:
    X = np.atleast_2d(X)
    f1 = X[:, 0]
    g = 1.0 + 9.0 / (X.shape[1] - 1) * X[:, 1:].sum(axis=1)
    return np.stack([f1, g * (1.0 - (f1 / g) ** 2)], axis=1)


def dtlz2(X: np.ndarray, n_obj: int = 3) -> np.ndarray:
    X = np.atleast_2d(X)
    g = np.sum((X[:, n_obj - 1 :] - 0.5) ** 2, axis=1)
    t = X[:, : n_obj - 1] * (math.pi / 2)
    out = []
    for i in range(n_obj):
        v = 1.0 + g
        for j in range(n_obj - 1 - i):
            v = v * np.cos(t[:, j])
        if i > 0:
            v = v * np.sin(t[:, n_obj - 1 - i])
        out.append(v)
    return np.stack(out, axis=1)


PROBLEMS: dict[str, MOProblem] = {
    "zdt1": MOProblem("zdt1", 6, 2, zdt1, (11.0, 11.0), 121.0 - 1.0 / 3.0),
    "zdt2": MOProblem("zdt2", 6, 2, zdt2, (11.0, 11.0), 121.0 - 2.0 / 3.0),
    "dtlz2": MOProblem("dtlz2", 6, 3, dtlz2, (1.1, 1.1, 1.1), 1.1**3 - math.pi / 6.0),
}
