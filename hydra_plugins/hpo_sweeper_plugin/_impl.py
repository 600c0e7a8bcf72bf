"""Translation between Hydra and hpo_sweeper: the only place that knows both.

``hydra.sweeper.*`` (which may carry the Optuna, Nevergrad, Ax or basic sweeper's keys,
mapped by ``hpo_sweeper.compat``) and the command line become a library ``Sweep``;
Hydra's launcher becomes its ``launch`` function (trials -> override lists ->
``JobResult``s). The store, resume and the loop are the library's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hpo_sweeper.compat import translate
from hpo_sweeper.drivers import BatchDriver, JobResult
from hpo_sweeper.files import atomic_write
from hpo_sweeper.grammar import encode_override
from hpo_sweeper.job_records import job_started, recover_result
from hpo_sweeper.resume import Hints
from hpo_sweeper.settings import SweepConfigError, SweepSettings
from hpo_sweeper.space import Kind
from hpo_sweeper.sweep import Sweep
from hpo_sweeper.trials import Trial
from hydra_plugins.hpo_sweeper_plugin.async_launch import async_driver
from hydra_plugins.hpo_sweeper_plugin.job import TimedTask, job_result
from hydra_plugins.hpo_sweeper_plugin.launcher_info import launcher_workers, warn_idle_workers
from hydra_plugins.hpo_sweeper_plugin.space_from_hydra import (
    build_space,
    check_group_choices,
    params_overrides,
    representative_point,
)

__all__ = ["SweeperAdapter"]

log = logging.getLogger("hpo_sweeper")

#: Messages name settings as a Hydra user writes them.
HYDRA_HINTS = Hints(new_sweep="use another hydra.sweep.dir for a new sweep", flag="hydra.sweeper.{}=true",
                    seed="hydra.sweeper.seed={}")
#: Hydra's config field -> the optimiser's option name, where they differ.
_OPTION_NAMES = {"engine": "engine_options"}
#: Settings of the config that are neither sweep settings nor optimiser options.
_OTHER_KEYS = {"params", "name"}
#: ``sweep()`` returns every job's ``JobReturn``, as Hydra's sweepers do, each with the job's
#: composed config (~0.1 MB): past this many jobs they are kept without their configs, so the
#: memory of a 10,000-trial sweep stays bounded (issue #20); the configs are in each job dir's .hydra/.
KEEP_JOB_CONFIGS = 1000


class SweeperAdapter:
    def __init__(
        self, kind: str, settings: Mapping[str, Any], *, hydra_context: HydraContext, task_function: TaskFunction,
        config: DictConfig, validate_batch: Any,
    ) -> None:
        from hydra.core.plugins import Plugins

        self.kind, self.settings, self.config = kind, dict(settings), config
        self.hydra_context, self.validate_batch, self.task_function = hydra_context, validate_batch, task_function
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=TimedTask(task_function), config=config
        )
        self.returns: list[list[JobReturn]] = []
        self._n_returned = 0
        #: Composition signatures already composed once (``_validate``).
        self._composed: set[tuple[Any, ...]] = set()
        #: Keys whose value can change what a job's config composes to beyond its type: config-group
        #: choices and categorical values (an Enum field, a group option); a range's values differ
        #: only in number, and its type is part of the signature.
        self._structural: frozenset[str] = frozenset()

    def sweep(self, arguments: list[str]) -> list[list[JobReturn]]:
        s = self._intake()
        # Everything the user wrote is checked here, before the store is touched or a job runs.
        params, lines = params_overrides(self.config, self.hydra_context.config_loader, s.get("params"))
        space, self.job_keys, self.passthrough, self.prefixes = build_space(
            params, [*lines, *arguments], config_loader=self.hydra_context.config_loader
        )
        self.sweep_dir = Path(str(self.config.hydra.sweep.dir))
        fields = SweepSettings.field_names()
        settings = {k: v for k, v in s.items() if k in fields}
        settings["storage"] = str(s.get("storage") or self.sweep_dir / "trials.db")
        options = {_OPTION_NAMES.get(k, k): v for k, v in s.items() if k not in fields | _OTHER_KEYS}
        sweep = Sweep(
            space, self.kind, name=str(s.get("name") or self.config.hydra.job.name), sweep_dir=self.sweep_dir,
            identity={"overrides": sorted(self.passthrough.values())}, hints=HYDRA_HINTS, **settings, **options,
        )
        sweep.check()  # bad optimiser and engine options fail here, early
        self._structural = frozenset(p.name for p in space.params if p.kind is Kind.CATEGORICAL)
        check_group_choices(space, self.hydra_context.config_loader)
        # One job config composed now, before the sweep dir or the store is touched: a key that is not
        # in the config (a typo) is refused without a trace on disk. Every job's key set is the same
        # (job_keys), so one point of the space stands for all; each batch is still checked before it runs.
        self._validate([sweep.enqueue[0] if sweep.enqueue else representative_point(space)])
        batch_size = sweep.batch_size(launcher_workers(self.config))
        traces: dict[str, Any] = dict(validate=self._validate, started=lambda t: job_started(self.sweep_dir, t.number),
                                      recover=lambda t: recover_result(self.sweep_dir, t.number))
        driver = async_driver(self, sweep, traces) or BatchDriver(self._launch, batch_size, **traces)

        def on_ready(seed: int) -> None:
            atomic_write(self.sweep_dir / "multirun.yaml", OmegaConf.to_yaml(self.config))
            if isinstance(driver, BatchDriver):
                warn_idle_workers(self.config, batch_size)

        sweep.run(driver, on_ready=on_ready)
        return self.returns

    def _intake(self) -> dict[str, Any]:
        """Our settings from what the config holds, which may carry the keys of the Optuna,
        Nevergrad, Ax or basic sweeper: mapped once here, and each mapping said in the log."""
        from hydra_plugins.hpo_sweeper_plugin.config import SWEEPER_CONFS

        defaults = dataclasses.asdict(SWEEPER_CONFS[self.kind]())
        translation = translate(self.kind, {k: _plain(v) for k, v in self.settings.items()}, defaults)
        for message in translation.messages:
            log.log(logging.WARNING if message.level == "warning" else logging.INFO, "%s", message.text)
        return {k: _plain(v) for k, v in translation.settings.items()}

    def job_overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The override list of one trial, in the order the keys were declared; an inactive
        parameter (absent from ``params``) is not passed: the job sees the config's default."""
        return [
            self.passthrough[k] if k in self.passthrough else encode_override(self.prefixes.get(k, "") + k, params[k])
            for k in self.job_keys if k in self.passthrough or k in params
        ]

    def _launch(self, trials: list[Trial]) -> list[JobResult]:
        batch = [self.job_overrides(t.params) for t in trials]
        returns = list(self.launcher.launch(batch, initial_job_idx=trials[0].number))
        results = [job_result(r, self.sweep_dir, t.number) for r, t in zip(returns, trials)]
        self.returns.append(returns if self._n_returned < KEEP_JOB_CONFIGS else [_slim(r) for r in returns])
        self._n_returned += len(returns)
        return results

    def _validate(self, params: list[dict[str, Any]]) -> None:
        """Compose each new kind of job config up front: a bad override stops the sweep before it runs.

        Hydra's own sweepers compose every job twice (here, then in the launcher): at a few hundred
        ms a composition on a loaded machine, that doubled Hydra's per-job cost (issue #20). Whether
        a composition succeeds depends on the override keys, the values of categorical keys (config
        groups, Enum fields) and the types of the rest, never on which number a range gave: so one
        job of each signature is composed, and the launcher composes every job as it always does."""
        new: dict[tuple[Any, ...], dict[str, Any]] = {}
        for p in params:
            new.setdefault(self._signature(p), p)
        todo = {sig: p for sig, p in new.items() if sig not in self._composed}
        if not todo:
            return
        batch = [self.job_overrides(p) for p in todo.values()]
        try:
            self.validate_batch(batch)
        except Exception as e:
            raise SweepConfigError(f"the job config cannot be composed with overrides {batch[0]}: {e}") from e
        self._composed.update(todo)

    def _signature(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(sorted(
            (k, repr(v) if k in self._structural else type(v).__name__) for k, v in params.items()
        ))


def _slim(r: JobReturn) -> JobReturn:
    """A job's return without its composed configs (see ``KEEP_JOB_CONFIGS``)."""
    return dataclasses.replace(r, cfg=None, hydra_cfg=None)


def _plain(v: Any) -> Any:
    return OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
