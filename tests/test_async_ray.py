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
from test_async_launchers import max_overlap, rows, sweep, traces

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
    assert res.returncode == 0, res.stdout[-5000:]
    assert "asynchronous, max_concurrent=2" in res.stdout and "running in batches instead" not in res.stdout
    assert "Connected to Ray cluster" in res.stdout or "Connecting to existing Ray cluster" in res.stdout, (
        "the sweep must run on the test cluster, not on a Ray instance of its own")
    trials = rows(sweep_dir)
    assert len(trials) == 8 and all(t["status"] == "completed" for t in trials), trials
    for t in trials:  # each value is its own job's result
        assert float(t["value"]) == pytest.approx((float(t["x"]) - 0.3) ** 2, rel=1e-9)
    ran = traces(tmp_path)  # type: ignore[arg-type]
    assert sorted(ran) == list(range(8))
    # Job 0 ran while 4 others started and ended: the freed slot took new trials at once.
    inside = [n for n, r in ran.items() if n != 0 and r["start"] >= ran[0]["start"] and r["end"] <= ran[0]["end"]]
    assert len(inside) >= 4, (inside, ran)
    assert max_overlap(list(ran.values())) <= 2
    for n, r in ran.items():  # Ray's worker processes, each job in its own job dir
        assert r["pid"] != sweeper_pid
        assert r["job_dir"] == str(sweep_dir / str(n))
