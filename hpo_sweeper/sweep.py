"""``Sweep``: a durable sweep of a search space, in plain Python or under Hydra.

    from hpo_sweeper import SearchSpace, Sweep
    sweep = Sweep(space, "bayes", storage="trials.db", seed=0, n_initial_points=8)
    sweep.optimize(objective, n_trials=30)    # objective(params) -> number | dict
    sweep.best(), sweep.trials                 # rerun the script: it resumes from trials.db

A ``Sweep`` owns everything between a configuration and its jobs: the settings
(``SweepSettings``), the trial store, resume (the space and settings compared with
the stored ones, the stored seed reused, trials left running by a dead process
recovered or rerun once) and the loop (``SweepLoop``). How trials run is a driver
(``hpo_sweeper.drivers``): ``optimize`` calls a Python objective inline or on an
executor; the Hydra adapter passes a ``BatchDriver`` around its launcher to ``run``.

Nothing here imports Hydra, and the engines (JAX, scikit-optimize) load only when
the sweep runs a ``bayes`` optimiser.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from hpo_sweeper.drivers import BatchDriver, Driver, ExecutorDriver, InlineDriver, JobResult, Objective
from hpo_sweeper.loop import SweepFailed, SweepLoop
from hpo_sweeper.optimizers.base import Optimizer
from hpo_sweeper.optimizers.factory import check_kind, check_options, create_optimizer, option_defaults, option_names
from hpo_sweeper.pruning.channel import ChannelConfig, write_pruner_file
from hpo_sweeper.pruning.settings import PrunerKind, PrunerSettings
from hpo_sweeper.rerun import ENDED_BY_ITSELF, archive_finished_grid
from hpo_sweeper.results import best_trial
from hpo_sweeper.resume import PYTHON_HINTS, Hints, check_resumable, json_normalised, reconcile_seed
from hpo_sweeper.settings import KIND_DEFAULTS, EarlyStop, SweepConfigError, SweepSettings
from hpo_sweeper.space import SearchSpace
from hpo_sweeper.store import TrialStore, load_trials
from hpo_sweeper.sweep_dir import check_sweep_dir
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus
from hpo_sweeper.warm_start import load_warm_start, validate_enqueued

__all__ = [
    "BatchDriver", "EarlyStop", "JobResult", "Sweep", "SweepConfigError", "SweepFailed", "SweepSettings",
]

log = logging.getLogger("hpo_sweeper")

#: Optimiser options that may change when a sweep resumes (how, not what): left out of its identity.
# direction and constraints: keys of their own; ref_point steers the model only (a resumed sweep may change it).
# compile_wait: whether a slow compiler gets extra design trials, how the sweep runs, not what it means.
RESUMABLE_OPTIONS = frozenset({"engine_options", "n_trials", "direction", "constraints", "constraints_oom",
                               "ref_point", "compile_wait"})


class Sweep:
    """A sweep of ``space`` by the ``kind`` optimiser (``grid``, ``random`` or ``bayes``).

    Keyword arguments are ``SweepSettings`` fields (``storage``, ``seed``, ``direction``,
    ``objective``, ``max_failure_rate``, ``max_reruns``, ``early_stop``, ``warm_start``,
    ``enqueue``, ``allow_space_change``, ...) or options of the optimiser (``n_initial_points``,
    ``backend``, ``sampler``, ``grid_points``, ...). Every one is checked here, before anything
    runs or is written; an unknown name is an error listing the valid ones.

    Args:
        name: the sweep's name in the store and the results files.
        sweep_dir: where ``optimization_results.yaml``, ``trials.csv`` and the plots are
            written (and checked first, like a Hydra sweep dir); None writes none of them.
        identity: more facts the stored trials depend on (the Hydra adapter: its pass-through
            overrides); a resumed sweep whose identity changed is refused like a changed space.
        hints: how messages name settings (``hydra.sweeper.seed`` or ``seed``).
    """

    def __init__(
        self,
        space: SearchSpace,
        kind: str = "bayes",
        *,
        name: str = "sweep",
        sweep_dir: str | os.PathLike[str] | None = None,
        identity: Mapping[str, Any] | None = None,
        hints: Hints = PYTHON_HINTS,
        **settings_and_options: Any,
    ) -> None:
        check_kind(kind)
        fields = SweepSettings.field_names()
        self.space, self.kind, self.name, self.hints = space, kind, name, hints
        given = {k: v for k, v in settings_and_options.items() if k in fields}
        self.settings = SweepSettings(**{**KIND_DEFAULTS.get(kind, {}), **given})
        self.options = {k: v for k, v in settings_and_options.items() if k not in fields}
        check_options(kind, self.options, also=fields - {"seed"})
        self.sweep_dir = None if sweep_dir is None else Path(sweep_dir)
        self.identity_extra = dict(identity or {})
        #: A grid may run a task that returns nothing (like Hydra's basic sweeper); the others
        #: need a number to optimise.
        self.require_objective = kind != "grid"
        self.enqueue = validate_enqueued(space, self.settings.enqueue)
        self.warm_start = load_warm_start(self.settings.warm_start, space)
        self._trials: list[Trial] | None = None
        self._checked: dict[int | None, int] = {}
        self.stop_reason: str | None = None

    # --- what to run ------------------------------------------------------------------------

    def n_trials(self, n_trials: int | None = None) -> int:
        """Trials to run: ``n_trials`` or the setting; a grid's is capped at (or defaults to) its size."""
        n = self.settings.n_trials if n_trials is None else n_trials
        if n is not None:
            SweepSettings(n_trials=n)  # the same check as the setting
        if self.kind == "grid":
            size: int = self._optimizer(0, n).size  # type: ignore[attr-defined]
            if n is not None and n < size:
                log.warning("The grid has %d points; n_trials=%d runs an evenly spread subset of them", size, n)
            return size if n is None else min(n, size)
        if n is None:
            raise SweepConfigError(f"n_trials must be set for the {self.kind} sweeper")
        return n

    def batch_size(self, workers: int | None = None) -> int:
        """Trials per launch: the setting, else a grid launches whole (like Hydra's basic sweeper),
        random fills the launcher's ``workers`` (its trials are independent), and bayes proposes
        one at a time, each informed by every result before it.

        A grid with an early-stop rule is batched like random: the rule is judged between
        batches, so a grid launched whole would run every point and the rule would stop nothing."""
        if self.settings.batch_size is not None:
            return self.settings.batch_size
        n = self.n_trials()
        if self.kind == "grid" and not self.settings.early_stop.active:
            return n
        if self.kind in ("random", "grid"):
            return max(1, min(n, workers or 1))
        return 1

    def check(self, n_trials: int | None = None) -> int:
        """Build the optimiser once, so that bad options fail now, before the store or any job;
        returns the number of trials to run."""
        if n_trials not in self._checked:  # once: a capped grid warns once
            n = self.n_trials(n_trials)
            self._optimizer(0 if self.settings.seed is None else self.settings.seed, n)
            self._checked[n_trials] = n
        return self._checked[n_trials]

    def _optimizer(self, seed: int | None, n_trials: int | None) -> Optimizer:
        s = self.settings
        # The settings a model uses (bayes); grid and random search record constraints, nothing more.
        model = {"constraints": s.constraints, "constraints_oom": s.constraints_oom, "ref_point": s.ref_point}
        model = {k: v for k, v in model.items() if k in option_names(self.kind)}
        return create_optimizer(self.kind, self.space, seed=seed, direction=s.direction,
                                n_trials=n_trials, **model, **self.options)

    def identity(self) -> dict[str, Any]:
        """What the stored trials mean: a resumed sweep must agree (``allow_settings_change``)."""
        s = self.settings
        # The pruner decides which trials ran their full budget: a change is a change of meaning.
        # Left out at its default, so that stores written before pruning existed resume as before.
        pruner = {"pruner": s.pruner.to_dict()} if s.pruner != PrunerSettings() else {}
        # Which trials are infeasible; likewise left out when unset.
        feasibility = {k: v for k, v in (("constraints", s.constraints),
                                         ("constraints_oom", s.constraints_oom if s.oom_infeasible else None)) if v}
        return json_normalised({
            "kind": self.kind, "direction": s.direction, "objective": s.objective, **self.identity_extra, **pruner,
            **feasibility,
            # Unset options count at their defaults, so that leaving one out means what it says.
            "options": {k: v for k, v in {**option_defaults(self.kind), **self.options}.items()
                        if k not in RESUMABLE_OPTIONS},
        })

    @property
    def storage(self) -> Path | None:
        if self.settings.storage is not None:
            return Path(self.settings.storage)
        return None

    # --- running ----------------------------------------------------------------------------

    def optimize(
        self,
        objective: Objective,
        n_trials: int | None = None,
        *,
        executor: Any = None,
        max_concurrent: int | None = None,
    ) -> Trial | None:
        """Run ``objective(params)`` until ``n_trials`` trials have finished; returns the best.

        ``objective`` returns a number, or a mapping read with the ``objective`` setting; an
        exception fails its trial (the sweep goes on), ``hpo_sweeper.TrialPruned`` prunes it.
        With ``executor`` (any ``concurrent.futures.Executor``: a process pool, submitit's
        executor) up to ``max_concurrent`` trials run at once (default: the executor's
        ``_max_workers``, else ``batch_size``, else 1), a new one proposed the moment one ends.
        """
        driver: Driver
        # With a sweep dir, the objective may call hpo_sweeper.report/should_prune (README "Pruning").
        channel = None if self.sweep_dir is None else os.path.abspath(self.sweep_dir)
        if executor is None:
            driver = InlineDriver(objective, channel)
        else:
            workers = (max_concurrent or self.settings.max_concurrent or getattr(executor, "_max_workers", None)
                       or self.settings.batch_size or 1)
            driver = ExecutorDriver(executor, objective, int(workers), channel)
        return self.run(driver, n_trials)

    def run(
        self,
        driver: Driver,
        n_trials: int | None = None,
        *,
        on_ready: Callable[[int], None] | None = None,
    ) -> Trial | None:
        """Run the sweep through ``driver``; returns the best trial (None if none completed).

        ``on_ready(seed)`` is called once the store is reconciled, before the first job: the
        place to write what belongs beside the results (Hydra's ``multirun.yaml``)."""
        n = self.check(n_trials)
        storage = self.storage
        if self.kind == "grid" and self.sweep_dir is not None and storage is not None:
            # A finished grid runs again, as with Hydra's basic sweeper (hpo_sweeper/rerun.py).
            previous = archive_finished_grid(
                self.sweep_dir, storage, n, json_normalised(self.identity()), json_normalised(self.space.describe())
            )
            if previous is not None:
                log.warning("The grid in %s had finished: it runs again, as Hydra's basic sweeper would; "
                            "the earlier run's results and job dirs were moved to %s", self.sweep_dir, previous)
        if self.sweep_dir is not None:
            check_sweep_dir(self.sweep_dir, storage if storage is not None else self.sweep_dir / "trials.db")
        loop: SweepLoop | None = None
        with self._open_store(storage) as store:
            where = str(storage) if storage is not None else "memory"
            check_resumable(store, where, self.space.describe(), self.identity(), hints=self.hints,
                            allow_space=self.settings.allow_space_change,
                            allow_settings=self.settings.allow_settings_change)
            seed = reconcile_seed(store, self.settings.seed, quiet=self.kind == "grid", hints=self.hints)
            store.set_meta("space", json_normalised(self.space.describe()))
            store.set_meta("kind", self.kind)
            store.set_meta("name", self.name)
            store.set_meta("settings", self.settings.recorded())
            store.set_meta("identity", self.identity())
            optimizer = self._optimizer(seed, n)
            if self.sweep_dir is not None and not self.settings.multi_objective:
                # Before any job: jobs read it to report and decide (also for type none, so that
                # curves are recorded); see hpo_sweeper/pruning/channel.py.
                objective = self.settings.objective
                write_pruner_file(self.sweep_dir, ChannelConfig(self.settings.pruner, self.settings.direction_enum,
                                                                objective if isinstance(objective, str) else None))
            if on_ready is not None:
                on_ready(seed)
            log.info(
                "%s sweep of %d trials over %s, %s%s%s",
                self.kind, n, self.space.names or "no parameters", driver.describe(),
                "" if self.kind == "grid" else f", seed={seed}",  # a grid uses no seed
                f", results in {self.sweep_dir}" if self.sweep_dir is not None else "",
            )
            loop = SweepLoop(
                optimizer, driver, n_trials=n, settings=self.settings, name=self.name,
                require_objective=self.require_objective, sweep_dir=self.sweep_dir, trials=store,
                enqueue=self.enqueue, warm_start=self.warm_start,
            )
            if self.settings.pruner.type is not PrunerKind.NONE and hasattr(optimizer, "model_source"):
                from hpo_sweeper.pruning.model_feed import wire

                wire(optimizer, store, loop.curves, self.settings.pruner, len(self.space), self.settings.direction_enum)
            store.set_meta(ENDED_BY_ITSELF, False)  # until this run's loop ends (hpo_sweeper/rerun.py)
            try:
                try:
                    loop.run()
                except SweepFailed:
                    store.set_meta(ENDED_BY_ITSELF, True)  # every trial failed: the sweep still ended
                    raise
                store.set_meta(ENDED_BY_ITSELF, True)
            finally:
                self.stop_reason = loop.stop_reason
                self._trials = list(store)
                self._write_plots(store)
        best = self.best()
        if best is not None:
            log.info("Best trial %d: value=%s params=%s", best.number, best.value, best.params)
        if self.settings.multi_objective:
            log.info("Pareto front: trials %s", [t.number for t in self.pareto_front()])
        return best

    @contextlib.contextmanager
    def _open_store(self, storage: Path | None) -> Iterator[TrialLog]:
        if storage is None:
            yield TrialLog()  # not durable: nothing to resume from
            return
        with TrialStore(storage) as store:
            yield store

    # --- results ----------------------------------------------------------------------------

    @property
    def trials(self) -> list[Trial]:
        """Every trial of the sweep, in number order (read from the store before the first run)."""
        if self._trials is None:
            storage = self.storage
            self._trials = load_trials(storage)[0] if storage is not None and _has_store(storage) else []
        return list(self._trials)

    def best(self) -> Trial | None:
        """The best trial; None in a multi-objective sweep (see ``pareto_front``)."""
        return best_trial(self.trials, self.settings.direction)

    def pareto_front(self) -> list[Trial]:
        """The completed trials no other completed trial dominates (a multi-objective sweep)."""
        from hpo_sweeper.objectives import pareto_trials

        directions = self.settings.direction
        return pareto_trials(self.trials, directions if isinstance(directions, list) else [directions])

    def _write_plots(self, store: TrialLog) -> None:
        if self.sweep_dir is None or not self.settings.plots or not store.count(TrialStatus.COMPLETED):
            return
        if self.settings.multi_objective:
            self._write_pareto_plot(store)
            return
        if not any(t.value is not None for t in store):  # a grid over a task that returns nothing
            log.info("No trial returned a value: no plots written")
            return
        try:
            from hpo_sweeper.plots import SweepData, write_plots

            data = SweepData(list(store), str(self.settings.direction), self.space.describe()["params"], self.name)
            for path in write_plots(data, self.sweep_dir):
                log.info("Wrote %s", path)
            from hpo_sweeper.pruning.curve_plot import write_learning_curves

            trials = list(store)
            best = best_trial(trials, self.settings.direction)
            curves = write_learning_curves(trials, {t.number: store.intermediate(t.number) for t in trials},
                                           self.sweep_dir, best=None if best is None else best.number,
                                           label=str(self.settings.objective or "reported value"))
            if curves is not None:
                log.info("Wrote %s", curves)
        except Exception as e:
            log.warning("Could not write the plots: %s", e)


    def _write_pareto_plot(self, store: TrialLog) -> None:
        try:
            from hpo_sweeper.objectives import objective_names
            from hpo_sweeper.pareto_plot import write_pareto_plot

            directions = list(self.settings.direction)
            names = objective_names(self.settings.objective, len(directions))
            path = write_pareto_plot(list(store), directions, names, self.sweep_dir)  # type: ignore[arg-type]
            if path is not None:
                log.info("Wrote %s", path)
        except Exception as e:
            log.warning("Could not write the Pareto plot: %s", e)


def _has_store(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False
