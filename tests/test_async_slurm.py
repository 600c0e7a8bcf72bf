"""hydra.sweeper.schedule=async on hydra-submitit-launcher's SLURM launcher, on the real one-node
cluster of scripts/slurm-local.sh (``slurm_cluster``, 2 CPUs: two 1-CPU jobs at once), issue #15.

Each trial is its own ``sbatch`` job (an array of one) submitted from the pool's threads.
Concurrency is proven as in tests/test_async_launchers.py, by what ran: jobs 0-1 wait for each
other, then job 0 waits until 3 other jobs have finished, which in batches of 2 can never happen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_async_launchers import check_async_sweep, sweep

pytestmark = pytest.mark.slurm


def test_async_on_slurm_keeps_both_slots_busy(slurm_cluster: None, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    res, sweeper_pid = sweep(sweep_dir, "hydra/sweeper=random", "hydra/launcher=submitit_slurm",
                             "hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=null",
                             "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=5",
                             "hydra.sweeper.schedule=async", "hydra.sweeper.max_concurrent=2",
                             "hydra.sweeper.n_trials=6", "hydra.sweeper.seed=0", "meet=2", "hold_for=3", "sleep=0.2",
                             timeout=600)
    # Job 0 waited until 3 others ended; job 1, which met it, may have started just before it, so at
    # least 2 started and ended inside job 0's run. In batches of 2 only its batch-mate (job 1) could.
    check_async_sweep(res, sweeper_pid, sweep_dir, n_trials=6, max_concurrent=2, min_inside=2)
