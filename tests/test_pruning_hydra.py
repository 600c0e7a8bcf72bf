"""Pruning in real Hydra multiruns: the sweeper writes ``.hpo_sweeper/pruner.json`` from
``hydra.sweeper.pruner``; jobs report and read decisions through files in the sweep dir, on the
basic launcher (in-process), joblib (worker processes) and submitit_local; a pruned trial is
recorded ``pruned`` with its last step, and its every report lands in the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import read_trials

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning import PrunerSettings, create_pruner
from hpo_sweeper.pruning.channel import ChannelConfig, read_curves, read_pruner_file, report_path
from hpo_sweeper.store import TrialStore

APP = Path(__file__).parent / "pruning_app" / "app.py"
# Grid order = job numbers 0..5; the task reports x + 1/step at steps 1..9.
XS = [0.5, 0.7, 0.2, 0.9, 0.1, 0.6]
ASHA = PrunerSettings.from_mapping({"type": "asha", "max_resource": 9})  # rungs 1 and 3


def sweep_args(sweep_dir: Path) -> list[str]:
    """The overrides of every sweep here (and of the Ray and SLURM ones): the grid XS, ASHA, rungs 1 and 3."""
    return [f"hydra.sweep.dir={sweep_dir}", "hydra/sweeper=grid", "hydra.sweeper.pruner.type=asha",
            "hydra.sweeper.pruner.max_resource=9", f"x={','.join(map(str, XS))}"]


def sweep(sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(APP), "-m", *sweep_args(sweep_dir), *overrides]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=400,
                          env={**os.environ, "HYDRA_FULL_ERROR": "0"})


def decisions(sweep_dir: Path) -> dict[int, int | None]:
    """trial -> the step at which its job wrote a 'pruned' line (None: never told to stop)."""
    out: dict[int, int | None] = {}
    for t in range(len(XS)):
        lines = report_path(sweep_dir, t).read_text().splitlines()
        pruned = [line for line in lines if '"pruned"' in line]
        assert len(pruned) <= 1
        out[t] = int(pruned[0].split('"pruned": ')[1].split(",")[0]) if pruned else None
    return out


def check_replay(sweep_dir: Path, config: ChannelConfig) -> None:
    """The sweeper, reading the same files afterwards, reaches every decision the jobs took."""
    curves = read_curves(sweep_dir)
    pruner = create_pruner(config.pruner, config.direction)
    taken = decisions(sweep_dir)
    for trial, curve in curves.items():
        replayed = [r.step for r in curve.reports if pruner.should_prune(curves, trial, r.step)]
        assert replayed == ([] if taken[trial] is None else [taken[trial]]), trial


def check_records(sweep_dir: Path) -> None:
    """trials.csv, the YAML and the store agree with the report files the jobs wrote."""
    curves = read_curves(sweep_dir)
    taken = decisions(sweep_dir)
    trials = {int(t["number"]): t for t in read_trials(sweep_dir)}
    assert set(trials) == set(curves)
    for n, t in trials.items():
        assert t["status"] == ("completed" if taken[n] is None else "pruned"), (n, t)
        assert int(t["last_step"]) == curves[n].reports[-1].step
    with TrialStore(sweep_dir / "trials.db", readonly=True) as store:
        for n, curve in curves.items():
            assert [(s, v) for s, v, _ in store.intermediate(n)] == [(r.step, r.value) for r in curve.reports]
    summary = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert summary["n_pruned"] == sum(step is not None for step in taken.values())
    assert summary["total_steps"] == sum(c.reports[-1].step for c in curves.values())
    best = summary["best_trial"]
    assert trials[best]["status"] == "completed" and int(trials[best]["last_step"]) == 9  # the full budget


def test_basic_launcher_jobs_prune_through_the_files(tmp_path: Path) -> None:
    config = ChannelConfig(ASHA, Direction.MINIMIZE, None)
    res = sweep(tmp_path / "s")
    assert res.returncode == 0, res.stdout
    # Worked by hand (one job after another; eta 3, so below 6 values in a rung only the best goes on):
    #  rung 1 values x + 1: 1.5 kept | 1.7 pruned | 1.2 kept | 1.9 pruned | 1.1 kept |
    #  1.6 among 6 -> best 2 are 1.1, 1.2 -> pruned. At rung 3 trials 2 and 4 were each the best so far.
    assert decisions(tmp_path / "s") == {0: None, 1: 1, 2: None, 3: 1, 4: None, 5: 1}
    curves = read_curves(tmp_path / "s")
    assert {t: len(c.reports) for t, c in curves.items()} == {0: 9, 1: 1, 2: 9, 3: 1, 4: 9, 5: 1}
    trials = read_trials(tmp_path / "s")
    assert sorted(int(t["number"]) for t in trials if t["status"] == "completed") == [0, 2, 4]
    assert sorted(int(t["number"]) for t in trials if t["status"] == "pruned") == [1, 3, 5]
    check_replay(tmp_path / "s", config)
    check_records(tmp_path / "s")
    assert read_pruner_file(tmp_path / "s") == config  # written by the sweeper before any job


def test_joblib_processes_prune_through_the_files_with_a_dict_objective(tmp_path: Path) -> None:
    config = ChannelConfig(ASHA, Direction.MINIMIZE, "loss")
    res = sweep(tmp_path / "s", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4", "hydra.sweeper.batch_size=4",
                "as_dict=true", "hydra.sweeper.objective=loss", "sleep=0.05")
    assert res.returncode == 0, res.stdout
    taken = decisions(tmp_path / "s")
    # Which trials stop depends on who reached a rung first (trials 0-3 run at once); two outcomes
    # hold whatever the order: the best trial (x = 0.1) is never pruned, and the worst (trial 3,
    # x = 0.9) is pruned at its first rung unless it was the first of all to reach that rung
    # (then nothing was there to compare it with).
    curves = read_curves(tmp_path / "s")
    first_at_rung_1 = min(curves, key=lambda n: curves[n].reports[0].time)
    assert taken[4] is None
    assert taken[3] == 1 or first_at_rung_1 == 3, (taken, first_at_rung_1)
    assert any(step is not None for t, step in taken.items() if t != 3)  # not only the worst
    check_replay(tmp_path / "s", config)
    assert curves[4].reports[-1].value == 0.1 + 1.0 / 9  # read through the objective key
    check_records(tmp_path / "s")


def test_submitit_local_processes_prune(tmp_path: Path) -> None:
    config = ChannelConfig(ASHA, Direction.MINIMIZE, None)
    res = sweep(tmp_path / "s", "hydra/launcher=submitit_local", "hydra.sweeper.batch_size=4",
                "hydra.launcher.timeout_min=5", "sleep=0.05")
    assert res.returncode == 0, res.stdout
    taken = decisions(tmp_path / "s")
    # As with joblib: the best (x = 0.1, in the second batch) is never pruned; trial 5 (x = 0.6,
    # second batch) meets rung 1 once the first batch (1.5, 1.7, 1.2, 1.9) is there: 1.6 is not in
    # the best third of five or more values, so it is pruned at step 1.
    assert taken[4] is None and taken[5] == 1
    check_replay(tmp_path / "s", config)
    check_records(tmp_path / "s")
