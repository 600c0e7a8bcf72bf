"""hydra.sweeper.schedule=async on hydra-ray-launcher, on the real local Ray cluster of
tests/conftest.py (``ray_cluster``, 2 CPUs: two tasks at once), issue #15.

Concurrency is proven as in tests/test_async_launchers.py, by what ran: jobs 0-1 wait for
each other (they ran at once), then job 0 waits until 4 other jobs have finished, which in
batches of 2 can never happen (no job starts before job 0 ends: it would time out and fail).
The pool's threads call the launcher at the same time from the very first trials, so this
also proves that the concurrent first ``launch`` calls share one Ray connection.
"""

from __future__ import annotations

import pytest
from test_async_launchers import check_async_sweep, sweep

pytestmark = pytest.mark.ray


def test_async_on_ray_keeps_both_slots_busy(ray_cluster: str, tmp_path: str, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    sweep_dir = tmp_path / "s"  # type: ignore[operator]
    res, sweeper_pid = sweep(sweep_dir, "hydra/sweeper=random", "hydra/launcher=ray",
                             "+hydra.launcher.ray.init.object_store_memory=null", "hydra.sweeper.schedule=async",
                             "hydra.sweeper.max_concurrent=2", "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0",
                             "meet=2", "hold_for=4", "sleep=0.2")
    # Job 0 waited until 4 others ended; job 1, which met it, may have started just before it, so at
    # least 3 started and ended inside job 0's run. In batches of 2 only its batch-mate (job 1) could.
    check_async_sweep(res, sweeper_pid, sweep_dir, n_trials=8, max_concurrent=2, min_inside=3)
    assert "running in batches instead" not in res.stdout
    assert "Connected to Ray cluster" in res.stdout or "Connecting to existing Ray cluster" in res.stdout, (
        "the sweep must run on the test cluster, not on a Ray instance of its own")
