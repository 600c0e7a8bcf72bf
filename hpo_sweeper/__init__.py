"""hpo_sweeper: declarative hyperparameter optimisation, for Hydra and for plain Python.

The library (search spaces, optimisers, ``Sweep`` with its loop, store and results)
knows nothing of Hydra; ``hydra_plugins.hpo_sweeper_plugin`` adapts it to Hydra's
Sweeper interface. Heavy engines (JAX, scikit-optimize) load only when a ``bayes``
optimiser is built.
"""

from __future__ import annotations

from typing import Any

from hpo_sweeper.direction import Direction
from hpo_sweeper.optimizers import Optimizer, OptimizerError, create_optimizer
from hpo_sweeper.settings import EarlyStop, SweepConfigError, SweepSettings
from hpo_sweeper.space import Kind, Parameter, SearchSpace, SearchSpaceError
from hpo_sweeper.sweep import Sweep
from hpo_sweeper.trials import Trial, TrialPruned, TrialStatus

__all__ = [
    "Direction",
    "EarlyStop",
    "Kind",
    "Optimizer",
    "OptimizerError",
    "Parameter",
    "SearchSpace",
    "SearchSpaceError",
    "Sweep",
    "SweepConfigError",
    "SweepSettings",
    "Trial",
    "TrialPruned",
    "TrialStatus",
    "create_optimizer",
]

__version__ = "0.1.0"

# The task-side pruning API (hpo_sweeper/reporting.py), loaded on first use so that importing the
# package stays as light as before.
_REPORTING = ("report", "should_prune")
__all__ += _REPORTING


def __getattr__(name: str) -> Any:
    if name in _REPORTING:
        from hpo_sweeper import reporting

        return getattr(reporting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
