"""hydra.sweeper.schedule=async on hydra-submitit-launcher's SLURM launcher, on the real one-node
cluster of scripts/slurm-local.sh (``slurm_cluster``, 2 CPUs: two 1-CPU jobs at once), issue #15.

Each trial is its own ``sbatch`` job (an array of one) submitted from the pool's threads.
Concurrency is proven as in tests/test_async_launchers.py, by what ran: jobs 0-1 wait for each
other, then job 0 waits until 3 other jobs have finished, which in batches of 2 can never happen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_async_launchers import max_overlap, rows, sweep, traces

pytestmark = pytest.mark.slurm


def test_async_on_slurm_keeps_both_slots_busy(slurm_cluster: None, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    res, sweeper_pid = sweep(sweep_dir, "hydra/sweeper=random", "hydra/launcher=submitit_slurm",
                             "hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=null",
                             "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=5",
                             "hydra.sweeper.schedule=async", "hydra.sweeper.max_concurrent=2",
                             "hydra.sweeper.n_trials=6", "hydra.sweeper.seed=0", "meet=2", "hold_for=3", "sleep=0.2",
                             timeout=600)
    assert res.returncode == 0, res.stdout[-5000:]
    assert "asynchronous, max_concurrent=2" in res.stdout
    trials = rows(sweep_dir)
    assert len(trials) == 6 and all(t["status"] == "completed" for t in trials), trials
    for t in trials:  # each value is its own job's result
        assert float(t["value"]) == pytest.approx((float(t["x"]) - 0.3) ** 2, rel=1e-9)
    ran = traces(tmp_path)
    assert sorted(ran) == list(range(6))
    # Job 0 ran while 3 others started and ended: the freed slot took new trials at once.
    inside = [n for n, r in ran.items() if n != 0 and r["start"] >= ran[0]["start"] and r["end"] <= ran[0]["end"]]
    assert len(inside) >= 3, (inside, ran)
    assert max_overlap(list(ran.values())) <= 2
    for n, r in ran.items():  # SLURM's job processes, each job in its own job dir
        assert r["pid"] != sweeper_pid
        assert r["job_dir"] == str(sweep_dir / str(n))
