"""Translation between Hydra and hpo_sweeper: the only place that knows both.

* ``hydra.sweeper.*`` settings -> ``SweepSettings`` and optimiser options;
* ``hydra.sweeper.params`` + command-line overrides -> ``SearchSpace`` and
  pass-through overrides (the command line wins);
* a batch of trials -> override lists for ``launcher.launch`` -> ``JobResult``s.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hpo_sweeper.compat import translate
from hpo_sweeper.grammar import Fixed, Passthrough, encode_override, parse_override, parse_spec
from hpo_sweeper.job_records import (
    JobRecord,
    clear_job_started,
    job_started,
    read_job_record,
    write_job_record,
    write_job_started,
)
from hpo_sweeper.optimizers import create_optimizer
from hpo_sweeper.rerun import ENDED_BY_ITSELF, archive_finished_grid
from hpo_sweeper.results import atomic_write
from hpo_sweeper.space import Kind, Parameter, SearchSpace
from hpo_sweeper.store import StoreError, TrialStore
from hpo_sweeper.sweep import EarlyStop, JobResult, SweepConfigError, SweepFailed, SweepRunner, SweepSettings
from hpo_sweeper.sweep_dir import check_sweep_dir
from hpo_sweeper.trials import Trial, TrialStatus
from hpo_sweeper.warm_start import load_warm_start, validate_enqueued

log = logging.getLogger("hpo_sweeper")

#: Settings that are not optimiser options.
_SWEEP_KEYS = {
    "n_trials", "batch_size", "seed", "direction", "objective", "params", "max_failure_rate",
    "storage", "allow_space_change", "warm_start", "enqueue", "early_stop", "plots", "name",
    "max_reruns", "allow_settings_change",
}
#: Settings that may change when a sweep resumes: how much to run and how, not what it means.
#: Every other setting (the kind, direction, objective, pass-through overrides, optimiser
#: options) is compared with the stored one, like the search space.
RESUMABLE_CHANGES = (
    "n_trials", "batch_size", "seed", "max_failure_rate", "storage", "warm_start", "enqueue", "early_stop",
    "plots", "max_reruns", "engine", "allow_space_change", "allow_settings_change",
)
#: Seeds every optimiser and engine accepts (numpy, scipy.qmc, scikit-optimize).
MAX_SEED = 2**32 - 1
#: Hydra's config field -> the optimiser's option name, where they differ.
_OPTION_NAMES = {"engine": "engine_options"}


class TimedTask:
    """Wraps the task function so that each job writes its own record (start time,
    duration, return value or error) beside the sweep, the moment it ends.

    The record lets a resumed sweep recover results of jobs that finished after the
    sweep process died, and gives per-job timings; the return value itself is left
    untouched for callbacks and launchers. Picklable (a module-level class), so it
    travels to joblib/submitit/ray workers.
    """

    def __init__(self, task_function: TaskFunction) -> None:
        self.task_function = task_function
        self.__wrapped__ = task_function
        self.__name__ = getattr(task_function, "__name__", "task")

    def __call__(self, cfg: DictConfig) -> Any:
        started = time.time()
        _mark_started()
        try:
            returned = self.task_function(cfg)
        except SystemExit as e:
            # Hydra's launchers catch Exception only: sys.exit() in a task would end the whole
            # sweep. Here it fails the trial, like any other error.
            error = RuntimeError(f"the task called sys.exit({e.code!r})")
            _record(JobRecord(started, time.time() - started, error=_error_text(error)))
            raise error from e
        except KeyboardInterrupt:
            # The user stopped the sweep: the trial did not fail. Left unrecorded and unmarked,
            # a resumed sweep runs it again without counting a death (max_reruns).
            _mark_started(undo=True)
            raise
        except BaseException as e:
            _record(JobRecord(started, time.time() - started, error=_error_text(e)))
            raise
        _record(JobRecord(started, time.time() - started, returned=returned))
        return returned


def _mark_started(undo: bool = False) -> None:
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        (clear_job_started if undo else write_job_started)(str(hc.sweep.dir), int(hc.job.num))
    except Exception:
        pass


def _record(record: JobRecord) -> None:
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        write_job_record(str(hc.sweep.dir), int(hc.job.num), record)
    except Exception:
        pass


def _error_text(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip()


class SweeperAdapter:
    def __init__(self, plugin: Sweeper, kind: str, settings: Mapping[str, Any]) -> None:
        self.plugin = plugin
        self.kind = kind
        self.settings = dict(settings)
        self.returns: list[list[JobReturn]] = []

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.plugin.config = config
        self.plugin.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=TimedTask(task_function), config=config
        )
        self.plugin.launcher = self.launcher

    # --- the sweep ----------------------------------------------------------------------------

    def sweep(self, arguments: list[str]) -> list[list[JobReturn]]:
        s = self._intake()
        # Everything the user wrote is checked here, before the store is touched or a job runs.
        space, self.job_keys, self.passthrough, self.prefixes = build_space(
            s.get("params"), arguments, config_loader=self.plugin.hydra_context.config_loader
        )
        early_stop = EarlyStop(**_plain(s.get("early_stop") or {}))
        enqueue = validate_enqueued(space, _plain(s.get("enqueue") or []))
        warm_start = load_warm_start(_plain(s.get("warm_start") or []), space)
        options = {_OPTION_NAMES.get(k, k): _plain(v) for k, v in s.items() if k not in _SWEEP_KEYS}
        options["direction"] = s.get("direction", "minimize")
        n_trials = s.get("n_trials")
        if self.kind == "grid":
            options["n_trials"] = n_trials  # a cap below the grid's size selects an evenly spread subset
            size = create_optimizer("grid", space, **options).size  # type: ignore[attr-defined]
            if n_trials is not None and n_trials < size:
                log.warning("The grid has %d points; n_trials=%d runs an evenly spread subset of them", size, n_trials)
            n_trials = size if n_trials is None else min(n_trials, size)
        elif n_trials is None:
            raise SweepConfigError(f"n_trials must be set for the {self.kind} sweeper")
        else:
            options["n_trials"] = n_trials
        settings = SweepSettings(
            n_trials=n_trials,
            batch_size=(self._default_batch_size(n_trials, early_stop) if s.get("batch_size") is None
                        else s["batch_size"]),
            direction=s.get("direction", "minimize"),
            objective=s.get("objective"),
            max_failure_rate=s.get("max_failure_rate", 0.5),
            name=str(s.get("name") or self.config.hydra.job.name),
            require_objective=self.kind != "grid",
            max_reruns=s.get("max_reruns", 1),
        )
        seed = _check_seed(s.get("seed"))
        # Bad optimiser and engine options fail here, early, with the seed that will be used.
        create_optimizer(self.kind, space, seed=0 if seed is None else seed, **options)
        self._check_group_choices(space)
        # One job config composed now, before the sweep dir or the store is touched: a key that is not
        # in the config (a typo) is refused without a trace on disk. Every job's key set is the same
        # (job_keys), so one point of the space stands for all; each batch is still checked before it runs.
        self._validate([enqueue[0] if enqueue else representative_point(space)])
        identity = _json_normalised({
            "kind": self.kind, "direction": settings.direction, "objective": settings.objective,
            "overrides": sorted(self.passthrough.values()),
            "options": {k: _plain(v) for k, v in s.items() if k not in _SWEEP_KEYS and k not in RESUMABLE_CHANGES},
        })

        self.sweep_dir = Path(str(self.config.hydra.sweep.dir))
        storage = Path(s.get("storage") or self.sweep_dir / "trials.db")
        if self.kind == "grid":  # a finished grid runs again, as with Hydra's basic sweeper (hpo_sweeper/rerun.py)
            previous = archive_finished_grid(
                self.sweep_dir, storage, n_trials, identity, _json_normalised(space.describe())
            )
            if previous is not None:
                log.warning("The grid in %s had finished: it runs again, as Hydra's basic sweeper would; "
                            "the earlier run's results and job dirs were moved to %s", self.sweep_dir, previous)
        check_sweep_dir(self.sweep_dir, storage)
        with TrialStore(storage) as store:
            # Checked before anything is written to the store.
            self._check_resumable(
                store, space, identity, bool(s.get("allow_space_change")), bool(s.get("allow_settings_change"))
            )
            seed = self._reconcile(store, space, settings, seed)
            store.set_meta("identity", identity)
            optimizer = create_optimizer(self.kind, space, seed=seed, **options)
            atomic_write(self.sweep_dir / "multirun.yaml", OmegaConf.to_yaml(self.config))
            self._warn_idle_workers(settings.batch_size)
            log.info(
                "%s sweep of %d trials over %s, batch_size=%d%s, results in %s",
                self.kind, n_trials, space.names or "no parameters", settings.batch_size,
                "" if self.kind == "grid" else f", seed={seed}", self.sweep_dir,  # a grid uses no seed
            )
            runner = SweepRunner(
                optimizer, settings, self._launch, sweep_dir=self.sweep_dir, trials=store,
                enqueue=enqueue, warm_start=warm_start, early_stop=early_stop, recover=self._recover,
                validate=self._validate, started=lambda t: job_started(self.sweep_dir, t.number),
            )
            store.set_meta(ENDED_BY_ITSELF, False)  # until this run's loop ends (hpo_sweeper/rerun.py)
            try:
                try:
                    runner.run()
                except SweepFailed:
                    store.set_meta(ENDED_BY_ITSELF, True)  # every trial failed: the sweep still ended
                    raise
                store.set_meta(ENDED_BY_ITSELF, True)
            finally:
                if s.get("plots", True) and store.count(TrialStatus.COMPLETED):
                    if any(t.value is not None for t in store):
                        self._write_plots(store, space, settings.direction)
                    else:  # e.g. a grid over a task that returns nothing: a plot would be empty
                        log.info("No trial returned a value: no plots written")
        best = runner.best()
        if best is not None:
            log.info("Best trial %d: value=%s params=%s", best.number, best.value, best.params)
        return self.returns

    def _intake(self) -> dict[str, Any]:
        """Our settings from what the config holds, which may carry the keys of the Optuna,
        Nevergrad, Ax or basic sweeper: mapped once here, and each mapping said in the log."""
        from hydra_plugins.hpo_sweeper_plugin.config import SWEEPER_CONFS

        defaults = dataclasses.asdict(SWEEPER_CONFS[self.kind]())
        translation = translate(self.kind, {k: _plain(v) for k, v in self.settings.items()}, defaults)
        for message in translation.messages:
            log.log(logging.WARNING if message.level == "warning" else logging.INFO, "%s", message.text)
        return translation.settings

    def _default_batch_size(self, n_trials: int, early_stop: EarlyStop) -> int:
        """batch_size null: a grid launches whole, like Hydra's basic sweeper (max_batch_size null);
        random's trials are independent, so it fills the launcher's workers (1 on the basic launcher,
        which runs a batch serially: results and early stopping then come trial by trial); bayes
        proposes one trial at a time, each informed by every result before it.

        A grid with an early-stop rule is batched like random: early stopping is judged between
        batches, so a grid launched whole would run every point and the rule would stop nothing."""
        stops_early = early_stop.patience is not None or early_stop.target is not None
        if self.kind == "grid" and not stops_early:
            return n_trials
        if self.kind in ("random", "grid"):
            return max(1, min(n_trials, _launcher_workers(self.config) or 1))
        return 1

    def _reconcile(self, store: TrialStore, space: SearchSpace, settings: SweepSettings, seed: int | None) -> int:
        """Record this run's space and settings in the store (checked by ``_check_resumable``); returns the seed."""
        stored_seed = store.get_meta("seed")
        if stored_seed is not None:
            if seed is not None and seed != stored_seed:
                log.warning("Resuming a sweep started with seed=%d; ignoring seed=%d", stored_seed, seed)
            seed = int(stored_seed)
        elif seed is None:
            seed = secrets.randbelow(2**31)
            if self.kind != "grid":  # a grid has no randomness to repeat
                log.info("No seed given: using seed=%d (set hydra.sweeper.seed=%d to repeat this sweep)", seed, seed)
        store.set_meta("space", _json_normalised(space.describe()))
        store.set_meta("seed", seed)
        store.set_meta("kind", self.kind)
        store.set_meta("name", settings.name)
        store.set_meta("settings", _json_normalised(dataclasses.asdict(settings)))
        return seed

    def _check_resumable(
        self, store: TrialStore, space: SearchSpace, identity: dict[str, Any], allow_space: bool, allow_settings: bool
    ) -> None:
        """Refuse to resume a stored sweep whose trials would mean something else now.

        Two things are compared with the store: the search space, and the settings identity (the
        sweeper, direction, objective, pass-through overrides, optimiser options). Every refused
        change is named in one message, the space first: changing a searched parameter often changes
        the pass-through overrides too (a search-space group swapped for command-line intervals), and
        a message naming only the settings would hide what the user changed.
        """
        refused: list[str] = []
        flags: list[str] = []
        described = _json_normalised(space.describe())
        stored_space = store.get_meta("space")
        if stored_space is not None and stored_space != described:
            changes = describe_space_change(stored_space, described)
            if allow_space:
                log.warning("Resuming with a changed search space (%s)", changes)
            else:
                refused.append(f"the search space differs from the one stored in {store.path}: {changes}")
                flags.append("allow_space_change")
        stored = store.get_meta("identity")
        if stored is None and store.get_meta("kind") is not None:  # a store of an earlier version
            old = store.get_meta("settings") or {}
            stored = {"kind": store.get_meta("kind"), **{k: old[k] for k in ("direction", "objective") if k in old}}
        changes = describe_settings_change(stored, identity) if isinstance(stored, dict) else ""
        if changes:
            if allow_settings:
                log.warning("Resuming with changed settings (%s)", changes)
            elif refused:
                refused.append(f"the sweeper settings differ too: {changes}")
                flags.append("allow_settings_change")
            else:
                refused.append(f"the sweeper settings differ from those stored in {store.path}: {changes}")
                flags.append("allow_settings_change")
        if refused:
            kept = ("earlier trials that fit the new space are kept" if "allow_space_change" in flags
                    else "the earlier trials are kept as they are")
            raise StoreError(
                "; ".join(refused) + ". Use another hydra.sweep.dir for a new sweep, or set "
                + " and ".join(f"hydra.sweeper.{f}=true" for f in flags) + f" to resume anyway ({kept})"
            )

    def _check_group_choices(self, space: SearchSpace) -> None:
        """Every option of a searched config group must exist: checked once, before job 0."""
        loader = getattr(getattr(self.plugin, "hydra_context", None), "config_loader", None)
        if loader is None:
            return
        for p in space.params:
            if p.kind is not Kind.CATEGORICAL:
                continue
            group = p.name.split("@")[0]
            try:
                options = loader.get_group_options(group)
            except Exception:
                continue
            if not options:
                continue
            missing = [c for c in p.choices if c is not None and str(c) not in options]
            if missing:
                raise SweepConfigError(
                    f"parameter '{p.name}': {', '.join(map(str, missing))} "
                    f"{'is not an option' if len(missing) == 1 else 'are not options'} of the config group "
                    f"'{group}' (its options: {', '.join(options)})"
                )

    def _recover(self, trial: Trial) -> JobResult | None:
        record = read_job_record(self.sweep_dir, trial.number)
        if record is None or (record.error is None and not record.stored):
            return None
        return JobResult(record.returned, record.error, record.started_at, record.duration_s,
                         str(self.sweep_dir / str(trial.number)))

    def _write_plots(self, store: TrialStore, space: SearchSpace, direction: str) -> None:
        try:
            from hpo_sweeper.report import SweepData, write_plots

            data = SweepData(list(store), direction, space.describe()["params"], store.get_meta("name") or "")
            for path in write_plots(data, self.sweep_dir):
                log.info("Wrote %s", path)
        except Exception as e:
            log.warning("Could not write the plots: %s", e)

    def job_overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The override list of one trial, in the order the keys were declared."""
        return [
            self.passthrough[k] if k in self.passthrough else encode_override(self.prefixes.get(k, "") + k, params[k])
            for k in self.job_keys
        ]

    def _launch(self, trials: list[Trial]) -> list[JobResult]:
        batch = [self.job_overrides(t.params) for t in trials]
        returns = list(self.launcher.launch(batch, initial_job_idx=trials[0].number))
        self.returns.append(returns)
        return [_job_result(r, self.sweep_dir, t.number) for r, t in zip(returns, trials)]

    def _validate(self, params: list[dict[str, Any]]) -> None:
        """Compose every job's config up front: a bad override stops the sweep before it runs."""
        batch = [self.job_overrides(p) for p in params]
        try:
            self.plugin.validate_batch_is_legal(batch)
        except Exception as e:
            raise SweepConfigError(f"the job config cannot be composed with overrides {batch[0]}: {e}") from e

    def _warn_idle_workers(self, batch_size: int) -> None:
        launcher_cfg = self.config.hydra.get("launcher") or {}
        workers = (
            launcher_cfg.get("n_jobs") or launcher_cfg.get("tasks_per_node") or launcher_cfg.get("array_parallelism")
        )
        if isinstance(workers, int) and workers > batch_size:
            log.warning(
                "batch_size=%d but the launcher runs up to %d jobs at once: %d workers would idle. "
                "Set hydra.sweeper.batch_size=%d.", batch_size, workers, workers - batch_size, workers,
            )


def _launcher_workers(config: DictConfig) -> int | None:
    """How many jobs the configured launcher runs at once, where its config says (joblib's n_jobs,
    submitit's array_parallelism); None when it does not (the basic launcher: one at a time)."""
    launcher_cfg = config.hydra.get("launcher") or {}
    n_jobs = launcher_cfg.get("n_jobs")
    if isinstance(n_jobs, int) and not isinstance(n_jobs, bool):
        # joblib's convention: -1 is every CPU, -2 all but one, ...
        return n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    parallelism = launcher_cfg.get("array_parallelism")
    return parallelism if isinstance(parallelism, int) and parallelism > 0 else None


def build_space(
    params: Mapping[str, Any] | None, arguments: list[str], config_loader: Any = None
) -> tuple[SearchSpace, list[str], dict[str, str], dict[str, str]]:
    """Search space, job-override key order, pass-through overrides by key, and the
    ``+``/``++`` prefixes of searched keys.

    ``params`` (from ``hydra.sweeper.params``) come first; a command-line override of
    the same key replaces it in place: the command line wins. ``config_loader`` (Hydra's)
    lets ``glob(*)`` list a config group's options.
    """
    entries: dict[str, Parameter | Fixed | Passthrough] = {}
    prefixes: dict[str, str] = {}  # '+' of '+lr=interval(...)': kept for the overrides, not the name
    for name, spec in (params or {}).items():
        entries[str(name)] = parse_spec(str(name), spec, config_loader)
    for line in arguments:
        parsed = parse_override(line, config_loader)
        if isinstance(parsed, Fixed):  # a plain override: hand it on exactly as typed
            parsed = Passthrough(parsed.name, line)
        if isinstance(parsed, Passthrough):
            entries[_bare(parsed.key)] = parsed
            continue
        bare = _bare(parsed.name)
        prefixes[bare] = parsed.name[: len(parsed.name) - len(bare)]
        entries[bare] = dataclasses.replace(parsed, name=bare)
    searched = tuple(e for e in entries.values() if isinstance(e, Parameter))
    fixed = {e.name: e.value for e in entries.values() if isinstance(e, Fixed)}
    passthrough = {k: e.text for k, e in entries.items() if isinstance(e, Passthrough)}
    keys = list(entries)
    return SearchSpace(searched, fixed), keys, passthrough, prefixes


def _bare(key: str) -> str:
    return key.lstrip("+~")


def _job_result(r: JobReturn, sweep_dir: Path, number: int) -> JobResult:
    job_dir = None
    try:
        job_dir = str(r.hydra_cfg.hydra.runtime.output_dir)  # type: ignore[union-attr]
    except Exception:
        pass
    record = read_job_record(sweep_dir, number)
    common = {
        "job_dir": job_dir,
        "started_at": record.started_at if record else None,
        "duration_s": record.duration_s if record else None,
    }
    if r.status == JobStatus.COMPLETED:
        return JobResult(returned=r.return_value, **common)
    exc = r._return_value
    text = _error_text(exc) if isinstance(exc, BaseException) else f"job status {r.status.name}: {exc!r}"
    return JobResult(error=text, **common)


def describe_space_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    before, after = old.get("params", {}), new.get("params", {})
    parts = [f"added {k}" for k in after if k not in before]
    parts += [f"removed {k}" for k in before if k not in after]
    parts += [f"{k} changed from {before[k]} to {after[k]}" for k in after if k in before and before[k] != after[k]]
    if old.get("fixed") != new.get("fixed"):
        parts.append(f"fixed values changed from {old.get('fixed')} to {new.get('fixed')}")
    return "; ".join(parts) or "unknown change"


def describe_settings_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    parts = []
    for k in ("kind", "direction", "objective"):
        if k in old and old.get(k) != new.get(k):
            parts.append(f"{'sweeper' if k == 'kind' else k} changed from {old.get(k)} to {new.get(k)}")
    if "overrides" in old and old["overrides"] != new["overrides"]:
        gone = [o for o in old["overrides"] if o not in new["overrides"]]
        added = [o for o in new["overrides"] if o not in old["overrides"]]
        parts.append(f"overrides changed (removed {gone}, added {added})")
    if "options" in old and old.get("kind") == new.get("kind"):
        before, after = old["options"], new["options"]
        parts += [f"{k} changed from {before.get(k)} to {after.get(k)}"
                  for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return "; ".join(parts)


def representative_point(space: SearchSpace) -> dict[str, Any]:
    """One configuration of the space (each parameter at its centre, fixed values included), to
    compose a job config from before the sweep starts."""
    return space.from_unit(np.full((1, len(space)), 0.5))[0]


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SweepConfigError(f"seed must be null or an integer in [0, {MAX_SEED}], got {seed!r}")
    return seed


def _json_normalised(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def _plain(v: Any) -> Any:
    if isinstance(v, (DictConfig,)) or OmegaConf.is_config(v):
        return OmegaConf.to_container(v, resolve=True)
    return v


__all__ = ["SweeperAdapter", "TimedTask", "build_space"]
