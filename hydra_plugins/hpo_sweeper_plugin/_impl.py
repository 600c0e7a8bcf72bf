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
import secrets
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hpo_sweeper.grammar import Fixed, Passthrough, encode_override, parse_override, parse_spec
from hpo_sweeper.optimizers import create_optimizer
from hpo_sweeper.space import Parameter, SearchSpace
from hpo_sweeper.sweep import JobResult, SweepConfigError, SweepRunner, SweepSettings
from hpo_sweeper.trials import Trial

log = logging.getLogger("hpo_sweeper")

TIMING_FILE = ".hpo_sweeper_timing.json"

#: Settings that are not optimiser options.
_SWEEP_KEYS = {
    "n_trials", "batch_size", "seed", "direction", "objective", "params", "max_failure_rate",
    "storage", "allow_space_change", "warm_start", "enqueue", "early_stop", "plots",
}
#: Hydra's config field -> the optimiser's option name, where they differ.
_OPTION_NAMES = {"engine": "engine_options"}


class TimedTask:
    """Wraps the task function to record when each job started and how long it ran.

    The timing goes to a small file in the job's output directory rather than into
    the return value, so callbacks and launchers see the task's own return value.
    Picklable (a module-level class), so it travels to joblib/submitit/ray workers.
    """

    def __init__(self, task_function: TaskFunction) -> None:
        self.task_function = task_function
        self.__wrapped__ = task_function
        self.__name__ = getattr(task_function, "__name__", "task")

    def __call__(self, cfg: DictConfig) -> Any:
        started = time.time()
        try:
            return self.task_function(cfg)
        finally:
            _write_timing(started, time.time() - started)


def _write_timing(started: float, duration: float) -> None:
    try:
        from hydra.core.hydra_config import HydraConfig

        out = Path(HydraConfig.get().runtime.output_dir)
        (out / TIMING_FILE).write_text(json.dumps({"started_at": started, "duration_s": duration}))
    except Exception:  # noqa: BLE001 - timing is a nicety; never fail a job over it
        pass


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
        s = self.settings
        space, self.job_keys, self.passthrough, self.prefixes = build_space(s.get("params"), arguments)
        n_trials = s.get("n_trials")
        seed = s.get("seed")
        if seed is None:
            seed = secrets.randbelow(2**31)
            log.info("No seed given: using seed=%d (set hydra.sweeper.seed=%d to repeat this sweep)", seed, seed)
        options = {_OPTION_NAMES.get(k, k): _plain(v) for k, v in s.items() if k not in _SWEEP_KEYS}
        options["direction"] = s.get("direction", "minimize")
        if self.kind == "grid":
            optimizer = create_optimizer("grid", space, seed=seed, **options)
            size = optimizer.size
            if n_trials is not None and n_trials < size:
                log.warning("The grid has %d points; n_trials=%d runs only the first %d", size, n_trials, n_trials)
            n_trials = size if n_trials is None else min(n_trials, size)
        else:
            if n_trials is None:
                raise SweepConfigError(f"n_trials must be set for the {self.kind} sweeper")
            options["n_trials"] = n_trials
            optimizer = create_optimizer(self.kind, space, seed=seed, **options)

        settings = SweepSettings(
            n_trials=n_trials,
            batch_size=s.get("batch_size", 1),
            direction=s.get("direction", "minimize"),
            objective=s.get("objective"),
            max_failure_rate=s.get("max_failure_rate", 0.5),
            name=str(self.config.hydra.job.name),
            require_objective=self.kind != "grid",
        )
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        self._warn_idle_workers(settings.batch_size)
        log.info(
            "%s sweep of %d trials over %s, batch_size=%d, results in %s",
            self.kind, n_trials, space.names or "no parameters", settings.batch_size, sweep_dir,
        )
        runner = SweepRunner(optimizer, settings, self._launch, sweep_dir=sweep_dir)
        runner.run()
        best = runner.best()
        if best is not None:
            log.info("Best trial %d: value=%s params=%s", best.number, best.value, best.params)
        return self.returns

    def job_overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The override list of one trial, in the order the keys were declared."""
        return [
            self.passthrough[k] if k in self.passthrough else encode_override(self.prefixes.get(k, "") + k, params[k])
            for k in self.job_keys
        ]

    def _launch(self, trials: list[Trial]) -> list[JobResult]:
        batch = [self.job_overrides(t.params) for t in trials]
        self.plugin.validate_batch_is_legal(batch)
        returns = list(self.launcher.launch(batch, initial_job_idx=trials[0].number))
        self.returns.append(returns)
        return [_job_result(r) for r in returns]

    def _warn_idle_workers(self, batch_size: int) -> None:
        launcher_cfg = self.config.hydra.get("launcher") or {}
        workers = launcher_cfg.get("n_jobs") or launcher_cfg.get("tasks_per_node") or launcher_cfg.get("array_parallelism")
        if isinstance(workers, int) and workers > batch_size:
            log.warning(
                "batch_size=%d but the launcher runs up to %d jobs at once: %d workers would idle. "
                "Set hydra.sweeper.batch_size=%d.", batch_size, workers, workers - batch_size, workers,
            )


def build_space(
    params: Mapping[str, Any] | None, arguments: list[str]
) -> tuple[SearchSpace, list[str], dict[str, str], dict[str, str]]:
    """Search space, job-override key order, pass-through overrides by key, and the
    ``+``/``++`` prefixes of searched keys.

    ``params`` (from ``hydra.sweeper.params``) come first; a command-line override of
    the same key replaces it in place: the command line wins.
    """
    entries: dict[str, Parameter | Fixed | Passthrough] = {}
    prefixes: dict[str, str] = {}  # '+' of '+lr=interval(...)': kept for the overrides, not the name
    for name, spec in (params or {}).items():
        entries[str(name)] = parse_spec(str(name), spec)
    for line in arguments:
        parsed = parse_override(line)
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


def _job_result(r: JobReturn) -> JobResult:
    job_dir = None
    timing: dict[str, Any] = {}
    try:
        job_dir = str(r.hydra_cfg.hydra.runtime.output_dir)  # type: ignore[union-attr]
        timing = json.loads((Path(job_dir) / TIMING_FILE).read_text())
    except Exception:  # noqa: BLE001 - missing timing falls back to the batch's
        pass
    common = {"job_dir": job_dir, "started_at": timing.get("started_at"), "duration_s": timing.get("duration_s")}
    if r.status == JobStatus.COMPLETED:
        return JobResult(returned=r.return_value, **common)
    exc = r._return_value
    if isinstance(exc, BaseException):
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    else:
        text = f"job status {r.status.name}: {exc!r}"
    return JobResult(error=text, **common)


def _plain(v: Any) -> Any:
    if isinstance(v, (DictConfig,)) or OmegaConf.is_config(v):
        return OmegaConf.to_container(v, resolve=True)
    return v


__all__ = ["SweeperAdapter", "TimedTask", "build_space"]
