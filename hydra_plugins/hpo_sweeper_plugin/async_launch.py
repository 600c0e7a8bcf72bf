"""``hydra.sweeper.schedule=async`` on Hydra's launchers: one ``launch([overrides], initial_job_idx=n)``
call per trial from a thread pool (``hpo_sweeper.pool_driver.PoolDriver``).

Only launchers whose jobs run in other processes are called from several threads: the
per-job global state Hydra sets (``HydraConfig``, the working directory, logging of the
job) then lives in those processes. What a launcher does in this process before it
dispatches (``setup_globals``, ``configure_log``, its own config) is kept apart by giving
each thread a launcher instance of its own. Measured in tests/test_async_launchers.py:
joblib (loky processes) and submitit (local processes; SLURM through the same code); in
tests/test_async_ray.py: hydra-ray-launcher (Ray's worker processes), once Ray is connected
before the threads start (``start_ray_once``: two first launches at once both call
``ray.init``, and the second fails). The basic launcher runs each job in this process
(``chdir``, ``HydraConfig``): never called from two threads; async falls back to batches
with a warning. Others (RQ, Ray's AWS launcher, unknown launchers) are not measured, so
they fall back too.

Each trial's job config is composed once, by the loop's check before it starts
(``_composed.ComposedJobs``), and handed to its launch, so the launcher does not compose it
a second time between one job's end and the next one's start.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig

from hpo_sweeper.drivers import JobResult
from hpo_sweeper.pool_driver import PoolDriver
from hpo_sweeper.sweep import Sweep
from hpo_sweeper.trials import Trial
from hydra_plugins.hpo_sweeper_plugin._composed import ComposedJobs
from hydra_plugins.hpo_sweeper_plugin.job import TimedTask, job_result
from hydra_plugins.hpo_sweeper_plugin.launcher_info import launcher_workers

__all__ = ["ASYNC_LAUNCHERS", "LauncherPool", "async_driver", "async_refusal", "default_max_concurrent"]

log = logging.getLogger("hpo_sweeper")

RAY_LAUNCHER = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
#: Launcher classes measured safe to call from several threads at once (their jobs run in
#: processes of their own), by the ``_target_`` of ``hydra.launcher``.
ASYNC_LAUNCHERS = (
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
    RAY_LAUNCHER,
)


def launcher_target(config: DictConfig) -> str:
    return str((config.hydra.get("launcher") or {}).get("_target_") or "")


def async_refusal(config: DictConfig) -> str | None:
    """Why this config's launcher cannot take concurrent launches (None: it can)."""
    target = launcher_target(config)
    if target in ASYNC_LAUNCHERS:
        return None
    if target.endswith("BasicLauncher"):
        return ("the basic launcher runs each job in this process (it changes the working directory and "
                "Hydra's global config per job), so it cannot run two at once")
    return f"the launcher {target or '?'} is not known to be safe to call from several threads"


def default_max_concurrent(workers: int | None, batch_size: int | None) -> int:
    """The launcher's parallelism where its config says (joblib ``n_jobs``, submitit
    ``array_parallelism``), else ``batch_size``, else 1."""
    return workers or batch_size or 1


def start_ray_once(launcher: Any) -> None:
    """Connect to Ray (or start it) in this thread, before the pool's threads launch.

    hydra-ray-launcher's ``launch`` calls ``ray.init`` when ``ray.is_initialized()`` is false:
    two first launches from two threads would both see it false, and the second ``ray.init``
    fails. Done here once, exactly as its ``launch`` would do it (the same object-store default
    and ``init`` options), every launch finds Ray running; Ray's task API (``remote``, ``get``)
    is safe to call from several threads (tests/test_async_ray.py)."""
    from hydra_plugins.hydra_ray_launcher._launcher_util import start_ray

    launcher.ray_cfg.init.setdefault("object_store_memory", 78643200)  # as hydra_ray_launcher._core.launch
    start_ray(launcher.ray_cfg.init)


class LauncherPool:
    """One launcher instance per thread, so no two calls share a launcher's state."""

    def __init__(self, make_launcher: Callable[[], Any], n: int,
                 to_result: Callable[[Any, Trial], JobResult], overrides: Callable[[Trial], list[str]],
                 returns: list[Any], composed: ComposedJobs | None = None) -> None:
        self._free: queue.Queue[Any] = queue.Queue()
        for _ in range(n):
            self._free.put(make_launcher())
        self._to_result, self._overrides, self._returns = to_result, overrides, returns
        self._composed = composed

    def launch(self, trial: Trial) -> JobResult:
        overrides = self._overrides(trial)
        launcher = self._free.get()
        try:
            if self._composed is not None:
                # The config the loop's check composed goes with this call: not composed again.
                launcher.hydra_context = self._composed.context_for(overrides)
            # initial_job_idx = the trial's number: its job dir and job.num are its own.
            (ret,) = launcher.launch([overrides], initial_job_idx=trial.number)
        finally:
            self._free.put(launcher)
        self._returns.append([ret])  # list.append is atomic: safe from the pool's threads
        return self._to_result(ret, trial)


def async_driver(adapter: Any, sweep: Sweep, traces: dict[str, Any]) -> PoolDriver | None:
    """schedule=async: a pool of one-trial launches on ``adapter``'s launcher config; None: batches
    (schedule=batch, or a launcher that cannot take concurrent calls, said in a warning)."""
    if sweep.settings.schedule != "async":
        return None
    if (why := async_refusal(adapter.config)) is not None:
        log.warning("schedule=async: %s; running in batches instead", why)
        return None
    from hydra.core.plugins import Plugins

    n = min(sweep.settings.max_concurrent
            or default_max_concurrent(launcher_workers(adapter.config), sweep.settings.batch_size), sweep.check())
    if n == 1:
        log.warning("schedule=async with max_concurrent=1: one trial at a time (the launcher's config names "
                    "no parallelism); set hydra.sweeper.max_concurrent")

    def make_launcher() -> Any:
        return Plugins.instance().instantiate_launcher(hydra_context=adapter.hydra_context,
                                                       task_function=TimedTask(adapter.task_function),
                                                       config=adapter.config)

    if launcher_target(adapter.config) == RAY_LAUNCHER:
        start_ray_once(make_launcher())

    composed = ComposedJobs(adapter.hydra_context, adapter.config, adapter.job_overrides)
    pool = LauncherPool(make_launcher, n, lambda r, t: job_result(r, adapter.sweep_dir, t.number),
                        lambda t: adapter.job_overrides(t.params), adapter.returns, composed)
    # The loop's check of each trial composes its job config, kept for its launch.
    return PoolDriver(pool.launch, n, **{**traces, "validate": composed.validate})
