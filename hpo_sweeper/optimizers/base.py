"""The ask/tell contract every optimiser follows.

``ask(n)`` proposes up to ``n`` configurations (fewer only when a finite design
is exhausted); ``tell(params, values)`` reports results in the user's own units.
A value of None, NaN or +-inf marks a failed trial. Optimisers minimise
internally: with ``direction="maximize"`` values are negated on the way in.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.space import SearchSpace

__all__ = ["DIRECTIONS", "Optimizer", "OptimizerError", "is_failure"]

DIRECTIONS = ("minimize", "maximize")


class OptimizerError(HpoSweeperError, ValueError):
    """Bad optimiser options or a misuse of ask/tell."""


def is_failure(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


class Optimizer(ABC):
    """Base class: keeps the history, the direction and the best trial."""

    def __init__(self, space: SearchSpace, *, seed: int | None = None, direction: str = "minimize") -> None:
        if direction not in DIRECTIONS:
            raise OptimizerError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
        if len(space) == 0 and not isinstance(self, _AllowsEmptySpace):
            raise OptimizerError("the search space is empty: give at least one parameter to search")
        self.space = space
        self.seed = seed
        self.direction = direction
        #: (configuration, value in the user's units or None when failed), in tell order.
        self.history: list[tuple[dict[str, Any], float | None]] = []

    @abstractmethod
    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Propose up to ``n`` configurations."""

    def tell(self, params: Sequence[Mapping[str, Any]], values: Sequence[float | None]) -> None:
        """Report the results of evaluated configurations."""
        if len(params) != len(values):
            raise OptimizerError(f"tell() got {len(params)} configurations but {len(values)} values")
        for p, v in zip(params, values):
            value = None if is_failure(None if v is None else float(v)) else float(v)  # type: ignore[arg-type]
            self.history.append((dict(p), value))
            self._observe(dict(p), value)

    def resume(self, n_proposed: int) -> None:  # noqa: B027 - optional hook, no-op by default
        """Advance random streams past ``n_proposed`` proposals an earlier run made,
        so a resumed sweep does not propose the same sequence again."""

    def _observe(self, params: dict[str, Any], value: float | None) -> None:  # noqa: B027 - optional hook
        """Hook for subclasses; ``value`` is in the user's units, None when failed."""

    def to_minimize(self, value: float) -> float:
        return -value if self.direction == "maximize" else value

    def best(self) -> tuple[dict[str, Any], float] | None:
        """The best configuration told so far and its value, or None."""
        done = [(p, v) for p, v in self.history if v is not None]
        if not done:
            return None
        return min(done, key=lambda pv: self.to_minimize(pv[1]))


class _AllowsEmptySpace:
    """Mixin for optimisers that can run a space with only fixed values (grid: one job)."""
