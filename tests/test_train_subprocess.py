"""The example app, swept as a user would: ``python train.py -m ...`` from the repository root."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, job_dirs, read_results, read_trials, run_app_subprocess, trials_header
from omegaconf import OmegaConf

from hpo_sweeper import Kind, SearchSpace

PARAMS = ["optim.lr", "optim.weight_decay", "model.width", "model.depth", "train.batch_size", "model.activation"]
# train.py reports every epoch (hpo_sweeper.report), so trials.csv has the last_step column.
TAIL = ["value", "status", "last_step", "error", "duration_s", "started_at"]


def load_space(name: str) -> SearchSpace:
    return SearchSpace.from_config(yaml.safe_load((ROOT / "conf" / "search_space" / f"{name}.yaml").read_text()))


def typed(space: SearchSpace, row: dict[str, str]) -> dict:
    """A trials.csv row's parameters as Python values of their parameter's type."""
    out = {}
    for p in space.params:
        text = row[p.name]
        if p.kind is Kind.CATEGORICAL:
            out[p.name] = next(c for c in p.choices if str(c) == text)
        else:
            out[p.name] = int(text) if p.kind is Kind.INT else float(text)
    return out


def run_train(sweep_dir: Path, *overrides: str):
    proc = run_app_subprocess([f"hydra.sweep.dir={sweep_dir}", *overrides], script=ROOT / "train.py", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def check_sweep(sweep_dir: Path, space: SearchSpace, n: int) -> list[dict[str, str]]:
    """What every sweep of train.py must satisfy; returns the trials.csv rows."""
    rows = read_trials(sweep_dir)
    assert trials_header(sweep_dir) == ["number", *space.names, *TAIL]
    assert [int(r["number"]) for r in rows] == list(range(n))
    assert all(r["status"] in ("completed", "failed") for r in rows)
    completed = [r for r in rows if r["status"] == "completed"]
    assert completed, [r["error"] for r in rows]
    for r in rows:
        params = typed(space, r)
        assert space.validate(params) == {**params, **space.fixed}  # every trial lies in the space
        if r["status"] == "completed":
            assert math.isfinite(float(r["value"])) and r["error"] == ""
        else:
            assert r["value"] == "" and r["error"]
        # the job received exactly the values recorded for it
        job_cfg = OmegaConf.load(sweep_dir / r["number"] / ".hydra" / "config.yaml")
        for name, value in params.items():
            assert OmegaConf.select(job_cfg, name) == value, (name, r)

    results = read_results(sweep_dir)
    best = min(completed, key=lambda r: float(r["value"]))
    assert results["name"] == "train"
    assert results["best_trial"] == int(best["number"])
    assert results["best_value"] == float(best["value"]) == min(float(r["value"]) for r in completed)
    assert results["best_params"] == typed(space, best)
    assert Path(results["best_job_dir"]) == sweep_dir / best["number"] and Path(results["best_job_dir"]).is_dir()
    assert results["n_completed"] == len(completed) and results["n_failed"] == n - len(completed)
    assert [p.name for p in job_dirs(sweep_dir)] == [str(i) for i in range(n)]
    return rows


@pytest.mark.parametrize("space_name", ["mlp", "mlp_dict"])
def test_random_sweep_of_train(tmp_path: Path, space_name: str) -> None:
    sweep_dir = tmp_path / "sweep"
    # the default config: hydra/sweeper=random over search_space=mlp, objective val_loss
    extra = [] if space_name == "mlp" else [f"search_space={space_name}"]
    proc = run_train(sweep_dir, "hydra.sweeper.n_trials=3", "train.epochs=2", *extra)
    check_sweep(sweep_dir, load_space(space_name), 3)
    assert read_results(sweep_dir)["objective"] == "val_loss"
    log = proc.stdout + proc.stderr
    for i in range(3):
        assert f"trial {i}/3 " in log


def test_grid_experiment_of_train(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    proc = run_train(sweep_dir, "+experiment=grid_small", "hydra.sweeper.n_trials=2", "train.epochs=2")
    space = load_space("small")
    rows = check_sweep(sweep_dir, space, 2)
    # grid_points=3 log-spaced learning rates; n_trials=2 runs an evenly spread subset of the
    # grid (issue #12), not its first two points (which shared one learning rate)
    assert [typed(space, r) for r in rows] == [
        {"optim.lr": 1e-4, "model.activation": "tanh"},
        {"optim.lr": 1e-1, "model.activation": "silu"},
    ]
    # n_trials capped the 12-point grid, with a warning saying so
    lines = (proc.stdout + proc.stderr).splitlines()
    assert any("grid" in ln.lower() and "12" in ln and "n_trials=2" in ln for ln in lines)


def test_multiobjective_experiment_of_train_writes_a_front(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    run_train(sweep_dir, "+experiment=multiobjective_mlp", "hydra.sweeper.n_trials=3", "train.epochs=1")
    results = read_results(sweep_dir)
    assert results["direction"] == ["minimize", "minimize"] and results["objective"] == ["val_loss", "n_params"]
    with open(sweep_dir / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and all(r["status"] == "completed" for r in rows)
    points = {int(r["number"]): (float(r["val_loss"]), float(r["n_params"])) for r in rows}
    front = [n for n, p in points.items()
             if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points.values())]
    assert [s["trial"] for s in results["solutions"]] == sorted(front)
