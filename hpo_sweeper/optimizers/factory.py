"""``create_optimizer``: one entry point for every optimiser kind.

Each kind is imported only when asked for, so that the heavy engines (JAX,
scikit-optimize) never load for a grid or random sweep.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from hpo_sweeper.optimizers.base import Optimizer, OptimizerError
from hpo_sweeper.space import SearchSpace

__all__ = ["OPTIMIZER_KINDS", "create_optimizer"]

#: kind -> "module:class"
OPTIMIZER_KINDS: dict[str, str] = {
    "grid": "hpo_sweeper.optimizers.grid:GridSearch",
    "random": "hpo_sweeper.optimizers.random_search:RandomSearch",
    "bayes": "hpo_sweeper.optimizers.bayes:BayesOptimizer",
}


def create_optimizer(kind: str, space: SearchSpace, *, seed: int | None = None, **options: Any) -> Optimizer:
    """Create an ask/tell optimiser.

    Args:
        kind: ``grid``, ``random`` or ``bayes``.
        space: the search space.
        seed: makes proposals reproducible.
        **options: the kind's own options (``direction``, ``sampler``, ``grid_points``,
            ``backend``, ...). An unknown option is an error that lists the valid ones.
    """
    if kind not in OPTIMIZER_KINDS:
        raise OptimizerError(f"unknown optimizer kind {kind!r}; expected one of {sorted(OPTIMIZER_KINDS)}")
    module_name, class_name = OPTIMIZER_KINDS[kind].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    accepted = _keyword_names(cls)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise OptimizerError(
            f"unknown option(s) {unknown} for the {kind!r} optimizer; valid options: {sorted(accepted - {'seed'})}"
        )
    return cls(space, seed=seed, **options)


def _keyword_names(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            break
    return names
