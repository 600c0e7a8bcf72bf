"""The ask/tell contract every optimiser follows.

``ask(n)`` proposes up to ``n`` configurations (fewer only when a finite design
is exhausted); ``tell(params, values)`` reports results in the user's own units.
A value of None, NaN or +-inf marks a failed trial. Optimisers minimise
internally: with ``direction="maximize"`` values are negated on the way in.
``tell(..., constraints=)`` adds each trial's constraint values (``constraints.model_record``);
grid and random search only keep them, the bayes optimiser models them.
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

    #: Whether this optimiser can run a multi-objective sweep (direction a list).
    supports_multi_objective = True

    def __init__(self, space: SearchSpace, *, seed: int | None = None, direction: Any = "minimize") -> None:
        if isinstance(direction, (list, tuple)):
            self._init_multi(space, seed, direction)
            return
        self.n_objectives = 1
        if direction not in DIRECTIONS:
            raise OptimizerError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
        if len(space) == 0 and not isinstance(self, _AllowsEmptySpace):
            raise OptimizerError("the search space is empty: give at least one parameter to search")
        self.space = space
        self.seed = seed
        self.direction = direction
        #: (configuration, value in the user's units or None when failed), in tell order.
        self.history: list[tuple[dict[str, Any], float | None]] = []
        #: Beside ``history``: each trial's constraint values (NaN: unmeasured, crashed out of memory),
        #: None where it says nothing of them (or the sweep has no constraints).
        self.constraint_history: list[list[float] | None] = []

    @abstractmethod
    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Propose up to ``n`` configurations."""

    def _init_multi(self, space: SearchSpace, seed: int | None, direction: Sequence[Any]) -> None:
        from hpo_sweeper.objectives import parse_directions

        if not self.supports_multi_objective:
            raise OptimizerError(f"direction={list(direction)!r} (a multi-objective sweep) is not supported by "
                                 f"the {type(self).__name__} optimizer; use the random or grid sweeper")
        self.directions = parse_directions(direction, error=OptimizerError)
        self.n_objectives = len(self.directions)
        self.space, self.seed = space, seed
        self.direction = [d.value for d in self.directions]
        #: (configuration, values in the user's units or None when failed), in tell order.
        self.history = []
        self.constraint_history = []

    def tell(self, params: Sequence[Mapping[str, Any]], values: Sequence[Any],
             constraints: Sequence[Sequence[float] | None] | None = None) -> None:
        """Report the results of evaluated configurations (with several objectives: a
        sequence of m numbers per configuration, or None when it failed).

        ``constraints``: per configuration, its k constraint values (NaN where a crash out of
        memory left one unmeasured; the value may then be None), or None (nothing known)."""
        if len(params) != len(values):
            raise OptimizerError(f"tell() got {len(params)} configurations but {len(values)} values")
        if constraints is not None and len(constraints) != len(params):
            raise OptimizerError(f"tell() got {len(params)} configurations but {len(constraints)} constraint rows")
        self.constraint_history += [None if c is None else [float(x) for x in c]
                                    for c in (constraints if constraints is not None else [None] * len(params))]
        if self.n_objectives > 1:
            for p, v in zip(params, values):
                vec = self._vector(v)
                self.history.append((dict(p), vec))  # type: ignore[arg-type]
                self._observe(dict(p), vec)  # type: ignore[arg-type]
            return
        for p, v in zip(params, values):
            value = None if is_failure(None if v is None else float(v)) else float(v)
            self.history.append((dict(p), value))
            self._observe(dict(p), value)

    def resume(self, n_proposed: int) -> None:  # noqa: B027 - optional hook, no-op by default
        """Advance random streams past ``n_proposed`` proposals an earlier run made,
        so a resumed sweep does not propose the same sequence again."""

    def _observe(self, params: dict[str, Any], value: float | None) -> None:  # noqa: B027 - optional hook
        """Hook for subclasses; ``value`` is in the user's units, None when failed."""

    def _vector(self, v: Any) -> list[float] | None:
        if v is None:
            return None
        vec = [float(x) for x in v]
        if len(vec) != self.n_objectives:
            raise OptimizerError(f"tell() expected {self.n_objectives} values per configuration (one per "
                                 f"direction), got {len(vec)}: {list(v)!r}")
        return None if any(is_failure(x) for x in vec) else vec

    def to_minimize(self, value: float) -> float:
        return -value if self.direction == "maximize" else value

    def best(self) -> Any:
        """The best configuration told so far and its value, or None; with several objectives
        the Pareto front: a list of (configuration, values), in tell order."""
        if self.n_objectives > 1:
            import numpy as np

            from hpo_sweeper.pareto import pareto_mask, to_minimize

            pts = [(p, v) for p, v in self.history if v is not None]
            if not pts:
                return []
            mask = pareto_mask(to_minimize(np.array([v for _, v in pts], dtype=float), self.directions))
            return [pv for pv, on in zip(pts, mask) if on]
        done = [(p, v) for p, v in self.history if v is not None]
        if not done:
            return None
        return min(done, key=lambda pv: self.to_minimize(pv[1]))


class _AllowsEmptySpace:
    """Mixin for optimisers that can run a space with only fixed values (grid: one job)."""
