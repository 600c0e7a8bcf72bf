"""What a Hydra launcher's config says about its parallelism (joblib's ``n_jobs``,
submitit's ``array_parallelism`` and ``tasks_per_node``)."""

from __future__ import annotations

import logging
import os

from omegaconf import DictConfig

__all__ = ["launcher_workers", "warn_idle_workers"]

log = logging.getLogger("hpo_sweeper")


def launcher_workers(config: DictConfig) -> int | None:
    """How many jobs the configured launcher runs at once, where its config says; None when it
    does not (the basic launcher: one at a time)."""
    launcher_cfg = config.hydra.get("launcher") or {}
    n_jobs = launcher_cfg.get("n_jobs")
    if isinstance(n_jobs, int) and not isinstance(n_jobs, bool):
        # joblib's convention: -1 is every CPU, -2 all but one, ...
        return n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    parallelism = launcher_cfg.get("array_parallelism")
    return parallelism if isinstance(parallelism, int) and parallelism > 0 else None


def warn_idle_workers(config: DictConfig, batch_size: int) -> None:
    launcher_cfg = config.hydra.get("launcher") or {}
    workers = (
        launcher_cfg.get("n_jobs") or launcher_cfg.get("tasks_per_node") or launcher_cfg.get("array_parallelism")
    )
    if isinstance(workers, int) and workers > batch_size:
        log.warning(
            "batch_size=%d but the launcher runs up to %d jobs at once: %d workers would idle. "
            "Set hydra.sweeper.batch_size=%d.", batch_size, workers, workers - batch_size, workers,
        )
