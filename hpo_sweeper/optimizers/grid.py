"""Grid search: the Cartesian product of every parameter's grid values.

The order is that of Hydra's basic sweeper: parameters in declaration order,
the last one varying fastest. Intervals contribute ``grid_points`` values
(log-spaced on a log scale); ranges, steps and choices contribute every level.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from hpo_sweeper.optimizers.base import Optimizer, OptimizerError, _AllowsEmptySpace
from hpo_sweeper.space import SearchSpace

__all__ = ["GridSearch"]


class GridSearch(_AllowsEmptySpace, Optimizer):
    """Enumerates the grid; ``ask`` returns fewer points (then none) once it is exhausted."""

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int | None = None,
        direction: str = "minimize",
        grid_points: int = 5,
    ) -> None:
        super().__init__(space, seed=seed, direction=direction)
        if not isinstance(grid_points, int) or grid_points < 1:
            raise OptimizerError(f"grid_points must be an integer >= 1, got {grid_points!r}")
        self.grid_points = grid_points
        self.axes = [p.grid(grid_points) for p in space.params]
        self._iter: Iterator[tuple[Any, ...]] = itertools.product(*self.axes)
        self._told: set[tuple[Any, ...]] = set()

    @property
    def size(self) -> int:
        n = 1
        for axis in self.axes:
            n *= len(axis)
        return n

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < n:
            values = next(self._iter, None)
            if values is None:
                break
            point = dict(zip(self.space.names, values))
            if self.space.key(point) in self._told:  # already run (a resumed sweep, an enqueued trial)
                continue
            point.update(self.space.fixed)
            out.append(point)
        return out

    def _observe(self, params: dict[str, Any], value: float | None) -> None:
        if all(name in params for name in self.space.names):
            self._told.add(self.space.key(params))
