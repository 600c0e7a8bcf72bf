"""The ASHA preset, run as a user runs it: ``python train.py -m +experiment=asha_mlp`` (made small)."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import ROOT, read_results, read_trials, run_app_subprocess

from hpo_sweeper.pruning.channel import read_pruner_file


def test_asha_preset_prunes_trials_of_train(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    # 5 trials of 3 epochs, rungs at epochs 1 and 3 (3 = the full budget, train.epochs). With eta 3,
    # trials 3 and 4 meet a rung of 3+ values of which only the best third goes on: each is pruned
    # unless it is the best so far at epoch 1. seed=0 fixes the draw (and CPU training is
    # deterministic), so the outcome is fixed; the preset's own sizes (30 x 45 epochs) are for users.
    proc = run_app_subprocess(
        [f"hydra.sweep.dir={sweep_dir}", "+experiment=asha_mlp", "hydra.sweeper.n_trials=5", "train.epochs=3",
         "hydra.sweeper.pruner.min_resource=1", "hydra.sweeper.seed=0"],
        script=ROOT / "train.py", timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    config = read_pruner_file(sweep_dir)
    assert config is not None and config.pruner.type.value == "asha" and config.pruner.max_resource == 3
    rows = read_trials(sweep_dir)
    statuses = [r["status"] for r in rows]
    assert len(rows) == 5 and set(statuses) <= {"completed", "pruned"} and "pruned" in statuses, rows
    for r in rows:
        assert (int(r["last_step"]) == 3) == (r["status"] == "completed"), r
    results = read_results(sweep_dir)
    assert results["n_pruned"] == statuses.count("pruned")
    assert results["total_steps"] == sum(int(r["last_step"]) for r in rows)
    assert rows[results["best_trial"]]["status"] == "completed"
    assert (sweep_dir / "learning_curves.png").is_file()
    assert yaml.safe_load((ROOT / "conf" / "experiment" / "asha_mlp.yaml").read_text())["train"]["epochs"] > 15


def test_asha_preset_tunes_longer_trials_with_the_plain_presets_trials_and_fewer_epochs() -> None:
    """The preset's arithmetic (measured: benchmarks/pruning/RESULTS.md): random_mlp's trial count
    (a trial of train.py costs mostly its compile, so about the same wall time), 3x the epochs a
    surviving trial trains, and ASHA's expected epochs (all trials reach rung r, a 1/eta share each
    further rung, 1/eta^k the full budget) within random_mlp's n_trials x epochs."""
    conf = ROOT / "conf"
    asha = yaml.safe_load((conf / "experiment" / "asha_mlp.yaml").read_text())
    plain = yaml.safe_load((conf / "experiment" / "random_mlp.yaml").read_text())
    epochs = yaml.safe_load((conf / "config.yaml").read_text())["train"]["epochs"]
    sweeper, pruner = asha["hydra"]["sweeper"], asha["hydra"]["sweeper"]["pruner"]
    assert sweeper["n_trials"] == plain["hydra"]["sweeper"]["n_trials"]
    full, r, eta = asha["train"]["epochs"], pruner["min_resource"], pruner["reduction_factor"]
    assert full >= 3 * epochs and pruner["max_resource"] == "${train.epochs}"
    rungs = [r * eta**k for k in range(10) if r * eta**k < full] + [full]
    expected = sum((b - a) / eta**k for k, (a, b) in enumerate(zip([0, *rungs], rungs)))
    assert sweeper["n_trials"] * expected <= plain["hydra"]["sweeper"]["n_trials"] * epochs
