"""Random and quasi-random search.

``sampler``: ``random`` (independent uniform draws in the unit cube, so
log-uniform on log scales), or a scrambled quasi-random design from
``scipy.stats.qmc``: ``sobol``, ``halton`` or ``lhs``. Designs cover the cube
more evenly than independent draws, which helps at small budgets.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hpo_sweeper.optimizers.base import Optimizer, OptimizerError
from hpo_sweeper.space import Kind, SearchSpace

__all__ = ["SAMPLERS", "RandomSearch", "UnitCubeSampler", "equal_level_cells"]

SAMPLERS = ("random", "sobol", "halton", "lhs")


class UnitCubeSampler:
    """Draws points of [0, 1]^d, independently or from one scrambled quasi-random sequence.

    Shared by random search and by the initial design of Bayesian optimisation.
    """

    def __init__(self, d: int, sampler: str, seed: int | None, budget: int | None = None) -> None:
        if sampler not in SAMPLERS:
            raise OptimizerError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
        self.d, self.sampler, self.budget = d, sampler, budget
        self.rng = np.random.default_rng(seed)
        self._engine: Any = None
        self._lhs: np.ndarray | None = None
        self._lhs_used = 0

    def draw(self, n: int) -> np.ndarray:
        if n <= 0:
            return np.zeros((0, self.d))
        if self.sampler == "random" or self.d == 0:
            return self.rng.random((n, self.d))
        from scipy.stats import qmc

        if self.sampler == "lhs":
            # A Latin hypercube is stratified over its whole size: draw the full budget once.
            if self._lhs is None or self._lhs_used + n > len(self._lhs):
                size = max(n, self.budget or n)
                self._lhs = qmc.LatinHypercube(d=self.d, seed=self.rng).random(size)
                self._lhs_used = 0
            out = self._lhs[self._lhs_used : self._lhs_used + n]
            self._lhs_used += n
            return out
        if self._engine is None:
            cls = qmc.Sobol if self.sampler == "sobol" else qmc.Halton
            self._engine = cls(d=self.d, scramble=True, seed=self.rng)
        with warnings.catch_warnings():
            # Sobol warns when n is not a power of two; a prefix of the sequence is still fine.
            warnings.simplefilter("ignore", UserWarning)
            return self._engine.random(n)


class RandomSearch(Optimizer):
    """Independent (or quasi-random) samples of the space; the results do not steer it."""

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int | None = None,
        direction: str = "minimize",
        sampler: str = "random",
        n_trials: int | None = None,
    ) -> None:
        super().__init__(space, seed=seed, direction=direction)
        self.sampler = UnitCubeSampler(len(space), sampler, seed, budget=n_trials)

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        return self.space.from_unit(equal_level_cells(self.space, self.sampler.draw(n)))

    def resume(self, n_proposed: int) -> None:
        self.sampler.draw(n_proposed)


def equal_level_cells(space: SearchSpace, U: np.ndarray) -> np.ndarray:
    """Give every level of a linear discrete parameter (int, range, step) the same chance.

    ``Parameter.from_unit`` rounds to the nearest level, which suits snapping but leaves the
    two end levels half-width cells (``range(1, 6)`` drew 1 and 5 half as often as 2, 3, 4).
    Here the k-th of n equal cells of [0, 1] maps onto the unit coordinate of level k; the map
    is monotone, so quasi-random designs keep their stratification. Log-scaled parameters keep
    their log-uniform draw. ``U: (n, d)``.
    """
    U = np.array(U, dtype=float)
    for j, p in enumerate(space.params):
        n = p.n_levels
        if p.kind is Kind.CATEGORICAL or p.log or n is None or n < 2:
            continue
        assert p.low is not None and p.high is not None
        step = p.step if p.step is not None else 1
        k = np.minimum(np.floor(U[:, j] * n), n - 1)
        U[:, j] = np.clip(k * step / (p.high - p.low), 0.0, 1.0)
    return U
