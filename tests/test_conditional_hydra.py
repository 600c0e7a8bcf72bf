"""Conditional spaces through real Hydra runs (issue #17): each job receives only its branch's
parameters (an inactive one is not on its override list, so the job sees the config's default),
trials.csv leaves inactive cells empty, and a grid runs exactly the valid combinations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import job_dirs, read_results, read_trials, run_app_subprocess
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from hpo_sweeper.errors import HpoSweeperError

SWEEP_ERRORS = (HydraException, HpoSweeperError)  # what a user sees: a message, not a crash


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
    """The issue's done-when, as a user runs it (bayes, the optimizer_family example; one epoch and a
    seed so the test is short and repeatable): each job's own .hydra/overrides.yaml holds only its
    family's parameters, and trials.csv leaves the other family's cells empty. With seed 0 the four
    design trials (a scrambled Sobol design, numpy only: the same on every machine) hold both families
    (seeds 1 and 2 do not: their sgd design points have batch 32, forbidden, and are replaced at random)."""
    sweep_dir = tmp_path / "sweep"
    out = run_app_subprocess(
        ["hydra/sweeper=bayes", "search_space=optimizer_family", "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0",
         "hydra.sweeper.n_initial_points=4", "train.epochs=1", "hydra.sweeper.plots=false", f"hydra.sweep.dir={sweep_dir}"],
        script=Path(__file__).resolve().parents[1] / "train.py", timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    family_keys = {"adamw": {"optim.beta2"}, "sgd": {"optim.momentum"}}
    shared = {"optim.name", "optim.lr", "optim.weight_decay", "train.batch_size", "train.epochs"}
    families = []
    for job in job_dirs(sweep_dir):
        overrides = OmegaConf.load(job / ".hydra" / "overrides.yaml")
        keys = {str(o).split("=", 1)[0] for o in overrides} - {"search_space", "hydra.sweeper.plots"}
        family = next(str(o).split("=", 1)[1] for o in overrides if str(o).startswith("optim.name="))
        families.append(family)
        assert keys == shared | family_keys[family], (job, list(overrides))
    assert len(families) == 8 and set(families) == {"adamw", "sgd"}  # both branches ran: the check bites
    rows = read_trials(sweep_dir)
    assert len(rows) == 8
    for row in rows:
        assert row["status"] == "completed", row
        assert (row["optim.beta2"] != "") == (row["optim.name"] == "adamw"), row
        assert (row["optim.momentum"] != "") == (row["optim.name"] == "sgd"), row
        assert not (row["optim.name"] == "sgd" and row["train.batch_size"] == "32"), row  # forbidden


# --- the command line over a conditional space ---------------------------------------------------
# tests/apps/quadratic/conf/search_space/conditional.yaml: x only when group=x, group.offset only when
# group=y. Random, seed 0, 8 trials: both branches run (each test asserts it, so it cannot pass vacuously).


def branch_run(quadratic_sweep: Any, extra: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    seen: list[dict[str, Any]] = []
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", "+search_space=conditional", "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0",
         *extra], task=recording_task(seen))
    return seen, read_trials(sweep_dir)


@pytest.mark.parametrize("override", ["x=interval(0, 0.1)", "hydra.sweeper.params.x='interval(0, 0.1)'",
                                      "hydra.sweeper.params.x={type: float, low: 0, high: 0.1}",
                                      "hydra.sweeper.params.x.high=0.1"])
def test_a_command_line_range_replaces_the_range_and_keeps_the_when(quadratic_sweep: Any, override: str) -> None:
    """As with the Optuna sweeper, the command line wins over the search space, but only over the range:
    the file's 'when' stays, so a group=y job still does not get x (Hydra itself would replace the whole
    node of hydra.sweeper.params.x, 'when' included)."""
    seen, rows = branch_run(quadratic_sweep, [override])
    assert {job["group"] for job in seen} == {"x", "y"}
    for job in seen:
        if job["group"] == "x":
            assert "x" in keys_of(job["overrides"]) and job["x"] <= 0.1, job  # the new range
        else:
            assert "x" not in keys_of(job["overrides"]) and job["x"] == 0.5, job  # the 'when' still holds
    assert all((row["x"] == "") == (row["group"] == "y") for row in rows), rows


@pytest.mark.parametrize("override", ["x=0.25", "hydra.sweeper.params.x=0.25"])
def test_a_fixed_value_of_a_conditional_key_goes_only_to_its_branch(quadratic_sweep: Any, override: str) -> None:
    """x=0.25 is the narrowest range: the jobs of its branch get it, the others never see it (a job of
    group=y keeps the config's x=0.5), and trials.csv records it where it applied."""
    seen, rows = branch_run(quadratic_sweep, [override])
    assert {job["group"] for job in seen} == {"x", "y"}
    for job in seen:
        if job["group"] == "x":
            assert "x=0.25" in job["overrides"], job
        else:
            assert "x" not in keys_of(job["overrides"]) and job["x"] == 0.5, job
    assert {row["x"] for row in rows} == {"0.25", ""}, rows


@pytest.mark.parametrize("override", ["group=y", "hydra.sweeper.params.group=y"])
def test_a_fixed_parent_keeps_the_sweep_to_its_branch(quadratic_sweep: Any, override: str) -> None:
    """group=y on the command line: every job is a group=y job, group.offset is searched in each, and x,
    whose 'when' asks group=x, is searched nowhere and passed to no job."""
    seen, rows = branch_run(quadratic_sweep, [override])
    assert len(seen) == 8
    assert all(job["group"] == "y" for job in seen)
    assert all(keys_of(job["overrides"]) == {"group", "group.offset", "y"} for job in seen), seen
    assert len({job["offset"] for job in seen}) == 8  # searched (random floats: all distinct)
    assert all("x" not in row for row in rows), rows[0]  # not a parameter of this sweep


def test_a_grid_with_a_fixed_parent_runs_that_branch_s_combinations(quadratic_sweep: Any) -> None:
    seen: list[dict[str, Any]] = []
    quadratic_sweep(["hydra/sweeper=grid", "+search_space=conditional_grid", "group=y"], task=recording_task(seen))
    # conditional_grid.yaml: group=y has 2 offsets x 2 values of a; group=x's 2 points are not run.
    assert sorted((job["group"], job["offset"]) for job in seen) == [("y", 1.0)] * 2 + [("y", 1.5)] * 2


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["group=x", "group.offset=1.5"], ["group.offset", "can never hold", "group='x'"]),
        (["~x"], ["'~x'", "conditional", "x=<value>"]),
        (["++group.offset=1.5"], ["'++group.offset=1.5'", "conditional"]),
    ],
)
def test_a_command_line_that_contradicts_the_tree_is_a_named_error(quadratic_sweep: Any, tmp_path: Path,
                                                                   overrides: list[str], words: list[str]) -> None:
    sweep_dir = tmp_path / "bad"
    with pytest.raises(SWEEP_ERRORS) as e:
        quadratic_sweep(["hydra/sweeper=random", "+search_space=conditional", *overrides], sweep_dir=sweep_dir)
    for word in words:
        assert word in str(e.value), str(e.value)
    assert not (sweep_dir / "trials.csv").exists()
