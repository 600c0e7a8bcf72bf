"""Each job's config composed once, in the sweeper, for ``schedule=async``.

Hydra composes a job's config twice: the sweeper checks a batch (``validate_batch_is_legal``,
so a bad override fails before any job runs), then the launcher composes it again
(joblib and submitit in the worker, Ray in the sweeper). A composition costs tens of
milliseconds of CPU, far more on a loaded machine, and in an asynchronous sweep both lie
between one job's end and the next one's start (benchmarks/async_utilisation.py).

``ComposedJobs`` keeps the configs its check composed, and ``loader_for`` gives a launch a
``ConfigLoader`` that hands the launcher that very config for those overrides, travelling
with the launcher's ``hydra_context`` into the worker. Any other composition goes to
Hydra's own loader, so the job sees exactly what Hydra's second composition would give.
(Named with a leading underscore: Hydra's plugin scan, run again in every job, skips it.)
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hydra.core.config_loader import ConfigLoader
from hydra.types import HydraContext
from omegaconf import DictConfig

from hpo_sweeper.settings import SweepConfigError

__all__ = ["ComposedJobs", "PrecomposedLoader"]


class PrecomposedLoader(ConfigLoader):
    """Hydra's config loader, except that ``load_sweep_config`` of the overrides it was given
    returns the config already composed for them (a copy: the launcher sets ``job.num`` in it)."""

    def __init__(self, inner: ConfigLoader, overrides: Sequence[str], composed: DictConfig) -> None:
        # Made for one launch call, whose master config is the launcher's (the one composed from).
        self._inner, self._overrides, self._composed = inner, list(overrides), composed

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        if list(sweep_overrides) == self._overrides:
            return copy.deepcopy(self._composed)
        return self._inner.load_sweep_config(master_config, sweep_overrides)

    def load_configuration(self, *args: Any, **kwargs: Any) -> DictConfig:
        return self._inner.load_configuration(*args, **kwargs)

    def get_search_path(self) -> Any:
        return self._inner.get_search_path()

    def get_sources(self) -> Any:
        return self._inner.get_sources()

    def list_groups(self, parent_name: str) -> Any:
        return self._inner.list_groups(parent_name)

    def get_group_options(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.get_group_options(*args, **kwargs)

    def compute_defaults_list(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.compute_defaults_list(*args, **kwargs)


class ComposedJobs:
    """Composes each trial's job config when the loop checks it, and keeps it for its launch."""

    def __init__(self, hydra_context: HydraContext, master_config: DictConfig,
                 job_overrides: Callable[[Mapping[str, Any]], list[str]]) -> None:
        self.hydra_context, self.master_config, self.job_overrides = hydra_context, master_config, job_overrides
        self._configs: dict[tuple[str, ...], DictConfig] = {}
        self._lock = threading.Lock()  # validate runs in the loop's thread, launches in the pool's

    def validate(self, params: list[dict[str, Any]]) -> None:
        """Compose every job's config now: a bad override stops the sweep before it runs
        (the same check and message as the batch path, ``SweeperAdapter._validate``)."""
        for p in params:
            overrides = self.job_overrides(p)
            try:
                cfg = self.hydra_context.config_loader.load_sweep_config(self.master_config, list(overrides))
            except Exception as e:
                raise SweepConfigError(f"the job config cannot be composed with overrides {overrides}: {e}") from e
            with self._lock:
                self._configs[tuple(overrides)] = cfg

    def context_for(self, overrides: Sequence[str]) -> HydraContext:
        """The ``hydra_context`` to launch ``overrides`` with: the composed config travels in it."""
        with self._lock:
            cfg = self._configs.pop(tuple(overrides), None)
        if cfg is None:  # never checked (cannot happen through the loop): Hydra composes it
            return self.hydra_context
        loader = PrecomposedLoader(self.hydra_context.config_loader, overrides, cfg)
        return HydraContext(config_loader=loader, callbacks=self.hydra_context.callbacks)
