"""hpo_sweeper: declarative hyperparameter optimisation for Hydra.

The library proper (search spaces, optimisers, the sweep loop, results) knows
nothing of Hydra; ``hydra_plugins.hpo_sweeper_plugin`` adapts it to Hydra's
Sweeper interface.
"""

from __future__ import annotations

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
