"""hpo_sweeper: declarative hyperparameter optimisation for Hydra.

The library proper (search spaces, optimisers, the sweep loop, results) knows
nothing of Hydra; ``hydra_plugins.hpo_sweeper_plugin`` adapts it to Hydra's
Sweeper interface.
"""

from __future__ import annotations

from typing import Any

from hpo_sweeper.optimizers import Optimizer, OptimizerError, create_optimizer
from hpo_sweeper.space import Kind, Parameter, SearchSpace, SearchSpaceError

__all__ = [
    "Kind",
    "Optimizer",
    "OptimizerError",
    "Parameter",
    "SearchSpace",
    "SearchSpaceError",
    "create_optimizer",
]

__version__ = "0.1.0"

# The task-side pruning API (hpo_sweeper/reporting.py), loaded on first use so that importing the
# package stays as light as before.
_REPORTING = ("TrialPruned", "report", "should_prune")
__all__ += _REPORTING


def __getattr__(name: str) -> Any:
    if name in _REPORTING:
        from hpo_sweeper import reporting

        return getattr(reporting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
