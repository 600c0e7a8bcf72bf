"""An ASHA sweep on the real local Ray cluster (fixture ``ray_cluster``): Ray workers report and read
decisions through the files in the sweep dir, trials are recorded pruned, every intermediate value
lands in the store, and the sweeper replays every decision the workers took."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_pruning_hydra import ASHA, check_records, check_replay, decisions, sweep_args
from test_ray import run

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning.channel import ChannelConfig, read_curves

pytestmark = pytest.mark.ray

APP = Path(__file__).parent / "pruning_app" / "app.py"


def test_ray_workers_prune_through_the_files(ray_cluster: str, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    # The grid of test_pruning_hydra (x = 0.5, 0.7 | 0.2, 0.9 | 0.1, 0.6, in batches of 2; value x + 1/step,
    # rungs at steps 1 and 3 of 9): the same overrides, run on Ray workers.
    args = sweep_args(sweep_dir)
    res = run(APP, [*args, "hydra/launcher=ray", "+hydra.launcher.ray.init.object_store_memory=null",
                    "+hydra.launcher.ray.remote.max_retries=0", "hydra.sweeper.batch_size=2", "sleep=0.05"],
              ray_cluster)
    assert res.returncode == 0, res.stdout[-5000:]
    assert "Connected to Ray cluster" in res.stdout or "Connecting to existing Ray cluster" in res.stdout
    taken = decisions(sweep_dir)
    # Whatever order the two trials of a batch reach rung 1 in: trial 3 (1.9) meets at least 1.5, 1.7
    # of the first batch and is not the best of 3 or more; trial 5 (1.6) meets at least 4 values,
    # 1.1 or 1.2 among them; trial 4 (x = 0.1) is the best of all and is never pruned.
    assert taken[3] == 1 and taken[5] == 1 and taken[4] is None, taken
    assert read_curves(sweep_dir)[4].reports[-1].step == 9
    check_replay(sweep_dir, ChannelConfig(ASHA, Direction.MINIMIZE, None))
    check_records(sweep_dir)
