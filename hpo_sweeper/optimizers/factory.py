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

__all__ = ["OPTIMIZER_KINDS", "check_kind", "create_optimizer", "option_defaults", "option_names"]

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
    cls = _optimizer_class(kind)
    check_options(kind, options)
    return cls(space, seed=seed, **options)


def check_kind(kind: str) -> None:
    if kind not in OPTIMIZER_KINDS:
        raise OptimizerError(f"unknown optimizer kind {kind!r}; expected one of {sorted(OPTIMIZER_KINDS)}")


def option_names(kind: str) -> set[str]:
    """The keyword options the ``kind`` optimiser accepts (``seed`` left out), without building it:
    the bayes module imports no engine until an optimiser is made."""
    return _keyword_names(_optimizer_class(kind)) - {"seed"}


def option_defaults(kind: str) -> dict[str, Any]:
    """Each keyword option of the ``kind`` optimiser and its default (where the defaults live)."""
    out: dict[str, Any] = {}
    for klass in reversed(_optimizer_class(kind).__mro__):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "seed":
                out[p.name] = p.default
    return {k: v for k, v in out.items() if k in option_names(kind)}


def check_options(kind: str, options: Any, *, also: Any = ()) -> None:
    """Unknown option names are an error listing the valid ones (and ``also``: other keywords the
    caller accepts, such as the sweep settings)."""
    accepted = option_names(kind)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise OptimizerError(
            f"unknown option(s) {unknown} for the {kind!r} optimizer; valid options: {sorted(accepted | set(also))}"
        )


def _optimizer_class(kind: str) -> type[Optimizer]:
    check_kind(kind)
    module_name, class_name = OPTIMIZER_KINDS[kind].split(":")
    cls: type[Optimizer] = getattr(importlib.import_module(module_name), class_name)
    return cls


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
