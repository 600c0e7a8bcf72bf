"""Grid search: the Cartesian product of every parameter's grid values.

The order is that of Hydra's basic sweeper: parameters in declaration order,
the last one varying fastest. Intervals contribute ``grid_points`` values
(log-spaced on a log scale); ranges, steps and choices contribute every level.

The grid is never materialised: a point is computed from its flat index (mixed
radix, last axis fastest), so its size is known arithmetically and a grid of
10**12 points costs nothing until points are asked for.

A grid capped by ``n_trials`` below its size runs an evenly spread subset, not the
first ``n_trials`` points: in basic-sweeper order the first points all share the
first axis's first value (12 trials of lightning-hydra-template's search all had
one learning rate). The subset is a rank-1 lattice over the grid (``spread_indices``):
deterministic, no seed, each axis's levels used equally often, and points visited in
an order whose every prefix is spread too, so a sweep stopped early is still useful.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from hpo_sweeper.optimizers.base import Optimizer, OptimizerError, _AllowsEmptySpace
from hpo_sweeper.space import SearchSpace

__all__ = ["MAX_FULL_GRID", "MAX_GRID_POINTS", "GridSearch", "spread_indices"]

#: An uncapped grid (n_trials null) runs every point; more than this many jobs is never what
#: was meant (a float step of 1e-12, a typo in grid_points), so it is refused with advice.
MAX_FULL_GRID = 10**6
#: grid_points above this would build an absurd axis (a million values of one interval).
MAX_GRID_POINTS = 10**6


class GridSearch(_AllowsEmptySpace, Optimizer):
    """Enumerates the grid; ``ask`` returns fewer points (then none) once it is exhausted.

    ``n_trials`` below the grid's size selects an evenly spread subset of that many points;
    None (or at least the size) runs the whole grid in basic-sweeper order.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int | None = None,
        direction: str = "minimize",
        grid_points: int = 5,
        n_trials: int | None = None,
    ) -> None:
        super().__init__(space, seed=seed, direction=direction)
        if isinstance(grid_points, bool) or not isinstance(grid_points, int) or not 1 <= grid_points <= MAX_GRID_POINTS:
            raise OptimizerError(f"grid_points must be an integer from 1 to {MAX_GRID_POINTS}, got {grid_points!r}")
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1):
            raise OptimizerError(f"n_trials must be an integer >= 1 or null, got {n_trials!r}")
        self.grid_points = grid_points
        self.axes: list[Sequence[Any]] = [p.grid(grid_points) for p in space.params]
        #: a conditional space's valid points, listed (see ``_conditional_points``); None otherwise
        self._points: list[dict[str, Any]] | None = None
        if space.conditional:
            self._points = self._conditional_points(n_trials)
        #: number of grid points, computed from the axes' lengths (a conditional space: its valid points)
        self.size = math.prod(len(axis) for axis in self.axes) if self._points is None else len(self._points)
        if n_trials is None and self.size > MAX_FULL_GRID:
            raise OptimizerError(
                f"the grid has {self.size} points ({' x '.join(str(len(a)) for a in self.axes)} over "
                f"{self.space.names}), more than {MAX_FULL_GRID} for a sweep with n_trials null; set n_trials "
                "to run an evenly spread subset of it, or make the grid coarser (fewer grid_points, larger steps)"
            )
        self.n_trials = n_trials
        #: whether n_trials selects a subset (else the whole grid runs, in basic-sweeper order)
        self.capped = n_trials is not None and n_trials < self.size
        self._iter: Iterator[int] = (
            spread_indices([len(axis) for axis in self.axes] if self._points is None else [self.size], n_trials)
            if n_trials is not None and self.capped
            else iter(range(self.size))
        )
        self._told: set[tuple[Any, ...]] = set()

    def point(self, index: int) -> dict[str, Any]:
        """The grid point of a flat index, in basic-sweeper order (last axis fastest)."""
        if self._points is not None:
            return dict(self._points[index])
        values: list[Any] = []
        for axis in reversed(self.axes):
            index, r = divmod(index, len(axis))
            values.append(axis[r])
        return dict(zip(self.space.names, reversed(values)))

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < n:
            index = next(self._iter, None)
            if index is None:
                break
            point = self.point(index)
            if self.space.key(point) in self._told:  # already run (a resumed sweep, an enqueued trial)
                continue
            point.update(self.space.fixed)
            out.append(point)
        return out

    def _observe(self, params: dict[str, Any], value: float | None) -> None:
        if all(name in params for name in self.space.active(params)):
            self._told.add(self.space.key(params))

    def _conditional_points(self, n_trials: int | None) -> list[dict[str, Any]]:
        """Only the valid combinations of a conditional space: a parameter varies only where its
        ``when`` holds, forbidden combinations are left out. The tree is walked parents first
        (declaration order otherwise), so the points are listed; counted first, and refused
        above ``MAX_FULL_GRID`` (a subset of a larger conditional grid is not supported)."""
        from hpo_sweeper import conditions

        space = self.space
        order, conds = space._order, space._conditions
        axes = dict(zip(space.names, self.axes))
        total = conditions.count_points(order, conds, axes)
        if total > MAX_FULL_GRID:
            raise OptimizerError(
                f"the conditional grid has {total} valid points over {space.names}, more than {MAX_FULL_GRID} "
                "(the most a conditional grid lists); make the grid coarser (fewer grid_points, larger steps)"
            )
        rank = {n: i for i, n in enumerate(space.names)}
        return [
            dict(sorted(pt.items(), key=lambda kv: rank[kv[0]]))
            for pt in conditions.iter_points(order, conds, axes)
            if not space.is_forbidden(pt)
        ]


def spread_indices(sizes: Sequence[int], n: int) -> Iterator[int]:
    """``n`` distinct flat indices of a grid with axis lengths ``sizes`` (``n`` < its size), spread evenly.

    Point k of a rank-1 lattice has, on axis j, the residue ``r = k * z_j mod n``, and the level
    ``floor((r + 1/2) * m_j / n)`` of the axis's ``m_j`` levels. Each ``z_j`` is coprime to ``n``, so
    every residue occurs once per axis: each level is used ``n / m_j`` times (rounded), or ``n``
    distinct levels evenly spaced when ``n < m_j``. ``z`` follows the generalised golden ratio
    (Roberts' R-sequence), which keeps the axes from moving in step. Two lattice points can fall
    into one grid cell; the later one takes the next free flat index (in basic-sweeper order),
    which moves its last axis by one level. Points are visited in bit-reversed order of k, so the
    first trials already cover every axis from end to end. Memory grows with the points taken,
    never with the grid.
    """
    size = math.prod(sizes)
    if not 0 < n < size:
        raise ValueError(f"spread_indices: need 0 < n < {size}, got {n}")
    z = _lattice_generators(len(sizes), n)
    taken: dict[int, int] = {}  # claimed index -> a later candidate (a union-find of free slots)
    for k in _bit_reversed(n):
        flat = 0
        for m, zj in zip(sizes, z):
            r = (k * zj) % n
            flat = flat * m + ((2 * r + 1) * m) // (2 * n)  # floor((r + 1/2) * m / n), exactly
        yield _claim(taken, flat, size)


def _lattice_generators(d: int, n: int) -> list[int]:
    if d == 0:
        return []
    # phi: the root of x**d = x + 1 (the golden ratio for d = 2); its inverse powers are
    # the most irrational steps for d - 1 further axes.
    phi = 2.0
    for _ in range(60):
        phi = (1.0 + phi) ** (1.0 / d)
    z = [1]
    for j in range(1, d):
        c = max(1, round((phi**-j % 1.0) * n)) % n or 1
        while math.gcd(c, n) != 1:
            c = c % n + 1
        z.append(c)
    return z


def _bit_reversed(n: int) -> Iterator[int]:
    """0 .. n-1 in bit-reversed order (van der Corput): every prefix is spread over the range."""
    bits = max(1, (n - 1).bit_length())
    for i in range(1 << bits):
        k = int(format(i, f"0{bits}b")[::-1], 2)
        if k < n:
            yield k


def _claim(taken: dict[int, int], i: int, size: int) -> int:
    """The first free index at or after ``i`` (cyclically), now marked taken; near O(1) amortised."""
    path = []
    while i in taken:
        path.append(i)
        i = taken[i]
    for p in path:  # path compression: later searches jump straight here
        taken[p] = i
    taken[i] = (i + 1) % size
    return i
