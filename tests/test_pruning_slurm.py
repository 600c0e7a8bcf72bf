"""An ASHA sweep on the one-node SLURM cluster (fixture ``slurm_cluster``): real sbatch jobs, which share
only the sweep dir's filesystem with the sweeper, report and read decisions through its files; trials
are recorded pruned, every intermediate value lands in the store, and the sweeper replays every
decision the jobs took."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from test_pruning_hydra import ASHA, check_records, check_replay, decisions, sweep_args
from test_slurm import run, sacct_states

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning.channel import ChannelConfig

pytestmark = pytest.mark.slurm

APP = Path(__file__).parent / "pruning_app" / "app.py"


def test_slurm_jobs_prune_through_the_files(slurm_cluster: None, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    # The grid of test_pruning_hydra (x = 0.5, 0.7 | 0.2, 0.9 | 0.1, 0.6 in array jobs of 2; value
    # x + 1/step, rungs at steps 1 and 3 of 9).
    res = run(APP, [*sweep_args(sweep_dir), "hydra/launcher=submitit_slurm",
                    f"hydra.launcher.name=hpo-prune-{uuid.uuid4().hex[:8]}", "hydra.launcher.partition=debug",
                    "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=5",
                    "hydra.sweeper.batch_size=2", "sleep=0.05"])
    assert res.returncode == 0, res.stdout[-5000:]
    # Real sbatch jobs, all ended normally: a pruned trial's job returns (TrialPruned is a result).
    job_ids = sorted(p.name for p in (sweep_dir / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", p.name))
    assert len(job_ids) == 6, job_ids
    assert set(sacct_states(job_ids).values()) == {"COMPLETED"}
    taken = decisions(sweep_dir)
    # Whatever order the two jobs of an array reach rung 1 in: trial 3 (1.9) meets at least 1.5, 1.7
    # of the first batch and is not the best of 3 or more; trial 5 (1.6) meets at least 4 values,
    # 1.1 or 1.2 among them; trial 4 (x = 0.1) is the best of all and is never pruned.
    assert taken[3] == 1 and taken[5] == 1 and taken[4] is None, taken
    check_replay(sweep_dir, ChannelConfig(ASHA, Direction.MINIMIZE, None))
    check_records(sweep_dir)
