"""The Sweeper plugins Hydra discovers. They only hold the config and delegate
to ``_impl.SweeperAdapter``, imported when a sweep starts."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.hpo_sweeper_plugin import config as _config  # noqa: F401 - registers the configs


class SweepError(CompactHydraException):
    """Shown by Hydra as its message alone: what is wrong and what to do, no traceback."""


class _HpoSweeper(Sweeper):
    @property
    @abstractmethod
    def kind(self) -> str:
        """grid | random | bayes (abstract, so Hydra does not register this base class)."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self._adapter: Any | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra_plugins.hpo_sweeper_plugin._impl import SweeperAdapter

        # What Hydra's Sweeper contract expects of a set-up sweeper (validate_batch_is_legal reads
        # config and hydra_context; Hydra's test suites read launcher); nothing else is kept here.
        self.config, self.hydra_context = config, hydra_context
        self._adapter = SweeperAdapter(
            self.kind, self.settings, hydra_context=hydra_context, task_function=task_function, config=config,
            validate_batch=self.validate_batch_is_legal,
        )
        self.launcher = self._adapter.launcher

    def sweep(self, arguments: list[str]) -> Any:
        assert self._adapter is not None, "setup() must run before sweep()"
        from hpo_sweeper.errors import HpoSweeperError

        try:
            return self._adapter.sweep(arguments)
        except HpoSweeperError as e:
            raise SweepError(f"hydra/sweeper={self.kind}: {e}") from e


class GridSweeper(_HpoSweeper):
    """Cartesian product of the search space (Hydra's basic sweeper, plus intervals)."""

    kind = "grid"


class RandomSweeper(_HpoSweeper):
    """Random and quasi-random (sobol, halton, lhs) search."""

    kind = "random"


class BayesSweeper(_HpoSweeper):
    """Gaussian-process Bayesian optimisation (JAX or scikit-optimize engine)."""

    kind = "bayes"
