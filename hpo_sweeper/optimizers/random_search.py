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

__all__ = ["LHS_BLOCK_NUMBERS", "SAMPLERS", "RandomSearch", "UnitCubeSampler", "equal_level_cells"]

SAMPLERS = ("random", "sobol", "halton", "lhs")


#: A Latin hypercube is drawn a block at a time, at most this many numbers (32 MB) at once:
#: ``n_trials=10**8`` over 200 dimensions asked for 149 GiB when the whole design was drawn.
LHS_BLOCK_NUMBERS = 2**22


class UnitCubeSampler:
    """Draws points of [0, 1]^d, independently or from one scrambled quasi-random sequence.

    Shared by random search and by the initial design of Bayesian optimisation. The i-th
    point drawn is the same however the draws are split into calls (``draw(5)`` then
    ``draw(7)`` is ``draw(12)``), which is what makes ``skip`` on resume exact.
    """

    def __init__(self, d: int, sampler: str, seed: int | None, budget: int | None = None) -> None:
        if sampler not in SAMPLERS:
            raise OptimizerError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
        self.d, self.sampler, self.budget = d, sampler, budget
        self.rng = np.random.default_rng(seed)
        self._engine: Any = None
        self._lhs: np.ndarray | None = None
        self._lhs_used = 0

    @property
    def lhs_block(self) -> int | None:
        """Points per Latin-hypercube block: the whole budget when it fits in
        ``LHS_BLOCK_NUMBERS`` (one design, stratified over all of it), else the most that fit;
        each block is a Latin hypercube of its own."""
        if self.budget is None:
            return None
        return max(1, min(self.budget, LHS_BLOCK_NUMBERS // max(self.d, 1)))

    def draw(self, n: int) -> np.ndarray:
        """The next ``n`` points, ``(n, d)``."""
        if n <= 0:
            return np.zeros((0, self.d))
        if self.sampler == "random" or self.d == 0:
            return self.rng.random((n, self.d))
        if self.sampler == "lhs":
            return np.concatenate(list(self._lhs_rows(n)), axis=0)
        return self._qmc().random(n)

    def skip(self, n: int) -> None:
        """Advance past ``n`` points without keeping them (a resumed sweep), in bounded memory."""
        if n <= 0:
            return
        if self.sampler == "random" or self.d == 0:
            chunk = max(1, LHS_BLOCK_NUMBERS // max(self.d, 1))
            while n > 0:  # the same stream as one draw(n): numpy fills row after row
                self.rng.random((min(n, chunk), self.d))
                n -= chunk
        elif self.sampler == "lhs":
            for _ in self._lhs_rows(n):
                pass
        else:
            self._qmc().fast_forward(n)

    def _lhs_rows(self, n: int) -> Any:
        """The next ``n`` rows of the block sequence, as a few views of the current blocks."""
        from scipy.stats import qmc

        while n > 0:
            if self._lhs is None or self._lhs_used >= len(self._lhs):
                # Without a budget each call is its own hypercube (as before budgets were known).
                size = self.lhs_block or n
                self._lhs = qmc.LatinHypercube(d=self.d, seed=self.rng).random(size)
                self._lhs_used = 0
            take = min(n, len(self._lhs) - self._lhs_used)
            yield self._lhs[self._lhs_used : self._lhs_used + take]
            self._lhs_used += take
            n -= take

    def _qmc(self) -> Any:
        if self._engine is None:
            from scipy.stats import qmc

            cls = qmc.Sobol if self.sampler == "sobol" else qmc.Halton
            self._engine = cls(d=self.d, scramble=True, seed=self.rng)
        return _QuietQMC(self._engine)


class _QuietQMC:
    """Sobol warns when n is not a power of two; a prefix of the sequence is still fine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def random(self, n: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self.engine.random(n)

    def fast_forward(self, n: int) -> None:
        from scipy.stats import qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if isinstance(self.engine, qmc.Sobol):
                self.engine.fast_forward(n)  # a jump, no points drawn
                return
            chunk = max(1, LHS_BLOCK_NUMBERS // max(self.engine.d, 1))
            while n > 0:  # Halton's fast_forward draws all n points at once
                self.engine.random(min(n, chunk))
                n -= chunk


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
        out = self.space.from_unit(equal_level_cells(self.space, self.sampler.draw(n)))
        if self.space.conditional:
            # A forbidden draw is replaced by further draws (bounded: a space that is almost all
            # forbidden gives fewer points rather than a hang). The tree itself needs nothing here:
            # from_unit drops the children whose parents do not let them exist.
            out = [p for p in out if not self.space.is_forbidden(p)]
            for _ in range(100):
                if len(out) >= n:
                    break
                more = self.space.from_unit(equal_level_cells(self.space, self.sampler.draw(n - len(out))))
                out += [p for p in more if not self.space.is_forbidden(p)]
        return out

    def resume(self, n_proposed: int) -> None:
        self.sampler.skip(n_proposed)


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
