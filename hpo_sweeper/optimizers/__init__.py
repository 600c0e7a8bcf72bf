"""Ask/tell optimisers over a ``SearchSpace``; none of them knows about Hydra."""

from __future__ import annotations

from hpo_sweeper.optimizers.base import Optimizer, OptimizerError
from hpo_sweeper.optimizers.factory import OPTIMIZER_KINDS, create_optimizer

__all__ = ["OPTIMIZER_KINDS", "Optimizer", "OptimizerError", "create_optimizer"]
