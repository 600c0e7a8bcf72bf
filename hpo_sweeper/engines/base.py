"""The contract between ``BayesOptimizer`` and a GP engine."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from hpo_sweeper.space import SearchSpace


class Engine(Protocol):
    """A GP engine.

    Constructed as ``Engine(space, *, seed, acq_func, xi, kappa, batch_strategy,
    **engine_options)``. ``acq_func`` is one of EI, PI, LCB, UCB (LCB and UCB are the
    same confidence bound for a minimiser), gp_hedge; an engine that lacks one raises
    ``OptimizerError`` naming it.
    """

    def __init__(self, space: SearchSpace, *, seed: int | None, acq_func: str, xi: float, kappa: float,
                 batch_strategy: str, **engine_options: Any) -> None: ...

    def suggest(
        self,
        points: list[dict[str, Any]],
        y: np.ndarray,
        n: int,
        pending: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Propose ``n`` configurations.

        Args:
            points: evaluated configurations (at least two), in tell order.
            y: (len(points),) their values, to be MINIMISED, all finite.
            n: how many to propose; they should be distinct from each other, from
                ``points`` and from ``pending`` (the front replaces any repeat).
            pending: configurations proposed but not yet evaluated (running jobs and
                earlier members of this batch): a batch must spread away from them.
        """
        ...


def observed_values(points: list[dict[str, Any]], y: Any) -> np.ndarray:
    """``y`` as a flat float array, checked against ``points``: the shared first step of
    every engine's ``suggest``."""
    y = np.asarray(y, dtype=float).reshape(-1)
    if len(points) != len(y):
        raise ValueError(f"suggest() got {len(points)} points but {len(y)} values")
    return y
