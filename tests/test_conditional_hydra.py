"""Conditional spaces through real Hydra runs (issue #17): each job receives only its branch's
parameters (an inactive one is not on its override list, so the job sees the config's default),
trials.csv leaves inactive cells empty, and a grid runs exactly the valid combinations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import read_results, read_trials, run_app_subprocess
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


def recording_task(seen: list[dict[str, Any]]) -> Any:
    def task(cfg: DictConfig) -> float:
        overrides = list(HydraConfig.get().overrides.task)
        seen.append({"overrides": overrides, "group": str(cfg.group.name), "offset": float(cfg.group.offset),
                     "x": float(cfg.x), "y": float(cfg.y)})
        return (cfg.x - 0.3) ** 2 + (cfg.y + 0.2) ** 2 + float(cfg.group.offset)

    return task


def keys_of(overrides: list[str]) -> set[str]:
    return {o.split("=", 1)[0] for o in overrides} - {"+search_space"}  # the sweep's own override


@pytest.mark.parametrize("backend", ["jax", "skopt"])
def test_each_job_receives_only_its_branch(quadratic_sweep: Any, backend: str) -> None:
    seen: list[dict[str, Any]] = []
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=bayes", "+search_space=conditional", "hydra.sweeper.n_trials=10",
         "hydra.sweeper.n_initial_points=4", "hydra.sweeper.seed=0", f"hydra.sweeper.backend={backend}"],
        task=recording_task(seen),
    )
    assert len(seen) == 10
    assert {job["group"] for job in seen} == {"x", "y"}  # both branches ran (also a check that the test bites)
    for job in seen:
        keys = keys_of(job["overrides"])
        if job["group"] == "x":
            assert keys == {"group", "x", "y"}, job
            assert job["offset"] == 0.0  # group/x.yaml's own value: not passed
        else:
            assert keys == {"group", "group.offset", "y"}, job
            assert job["x"] == 0.5 and 1.0 <= job["offset"] <= 2.0  # x: config.yaml's default
    rows = read_trials(sweep_dir)
    for row in rows:
        assert (row["x"] == "") == (row["group"] == "y"), row
        assert (row["group.offset"] == "") == (row["group"] == "x"), row
    assert read_results(sweep_dir)["n_trials"] == 10


def test_grid_runs_exactly_the_valid_combinations(quadratic_sweep: Any, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    quadratic_sweep(
        ["hydra/sweeper=grid", "+search_space=conditional_grid"],
        task=recording_task(seen),
    )
    # group=x: 2 values of a; group=y: 2 offsets x 2 values of a. The full product would be 8.
    got = sorted((job["group"], job["offset"], "a" in keys_of(job["overrides"])) for job in seen)
    assert len(seen) == 6
    assert got == sorted([("x", 0.0, True)] * 2 + [("y", 1.0, True)] * 2 + [("y", 1.5, True)] * 2)


def test_train_py_tunes_an_optimizer_family(tmp_path: Path) -> None:
    """As a user runs it: each train.py job gets only its family's parameter."""
    sweep_dir = tmp_path / "sweep"
    out = run_app_subprocess(
        ["hydra/sweeper=random", "search_space=optimizer_family", "hydra.sweeper.n_trials=4", "hydra.sweeper.seed=1",
         "train.epochs=1", "hydra.sweeper.plots=false", f"hydra.sweep.dir={sweep_dir}"],
        script=Path(__file__).resolve().parents[1] / "train.py", timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = read_trials(sweep_dir)
    assert len(rows) == 4
    for row in rows:
        assert row["status"] == "completed", row
        assert (row["optim.beta2"] != "") == (row["optim.name"] == "adamw"), row
        assert (row["optim.momentum"] != "") == (row["optim.name"] == "sgd"), row
        assert not (row["optim.name"] == "sgd" and row["train.batch_size"] == "32"), row  # forbidden
        overrides = (sweep_dir / row["number"] / ".hydra" / "overrides.yaml").read_text()
        assert ("optim.beta2" in overrides) == (row["optim.name"] == "adamw"), overrides
        assert ("optim.momentum" in overrides) == (row["optim.name"] == "sgd"), overrides
