"""The one-line switch, tried as a user would: public example configs of the Optuna,
Nevergrad, Ax and basic sweepers (copied verbatim into tests/apps/dropin), with only their
``override hydra/sweeper: ...`` line changed, run through Hydra."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import read_results, read_trials

APPS = Path(__file__).resolve().parent / "apps" / "dropin"


def switched(app: str, tmp_path: Path, edits: dict[str, str]) -> Path:
    """A copy of an example app with ``edits`` (old text -> new text) applied; each old text must
    occur exactly once, so a test cannot pass after the example changed under it."""
    dest = tmp_path / app
    shutil.copytree(APPS / app, dest)
    for path in dest.rglob("*.yaml"):
        text = path.read_text()
        for old, new in edits.items():
            if old in text:
                assert text.count(old) == 1, (path, old)
                text = text.replace(old, new)
                edits = {k: v for k, v in edits.items() if k != old}
        path.write_text(text)
    assert not edits, f"not found in {app}: {list(edits)}"
    return dest


def task_of(script: Path, name: str) -> Any:
    """The example's @hydra.main function, imported from its copy (called with a cfg, it runs the task)."""
    spec = importlib.util.spec_from_file_location(f"dropin_{script.parent.name}_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.fixture
def sweep_log():
    """Messages (level, text) of the ``hpo_sweeper`` logger (a handler on that logger: Hydra
    reconfigures the root logger for every launch)."""
    messages: list[tuple[int, str]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append((record.levelno, record.getMessage()))

    logger = logging.getLogger("hpo_sweeper")
    handler, level = Collect(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def run_example(hydra_sweep_runner: Any, tmp_path: Path) -> Any:
    """Runs an example in-process through ``Hydra.multirun``: ``run(script, config_path,
    config_name, task, overrides, name="sweep", plots=False)`` -> (sweep_dir, returns);
    ``plots=None`` leaves the setting out (for Hydra's basic sweeper)."""

    def run(script: Path, config_path: str, config_name: str, task: Any, overrides: list[str] = (),
            name: str = "sweep", plots: bool | None = False) -> Any:
        sweep_dir = tmp_path / name
        settings = [] if plots is None else [f"hydra.sweeper.plots={str(plots).lower()}"]
        runner = hydra_sweep_runner(
            calling_file=str(script), calling_module=None, task_function=task, config_path=config_path,
            config_name=config_name, overrides=["hydra.job.chdir=false", *settings, *overrides],
            temp_dir=sweep_dir,
        )
        runner.__enter__()  # not a `with` block: its __exit__ deletes the sweep dir
        return sweep_dir, runner.returns

    return run


def texts(log: list[tuple[int, str]], level: int | None = None) -> str:
    return "\n".join(text for lv, text in log if level is None or lv == level)


# --- hydra-optuna-sweeper's example: sphere.py with its conf/config.yaml -----------------------


@pytest.mark.parametrize("sweeper", ["bayes", "random"])
def test_optuna_sphere_example_runs_with_the_override_line_changed(run_example, tmp_path, sweep_log, sweeper) -> None:
    app = switched("optuna_sphere", tmp_path, {"override hydra/sweeper: optuna": f"override hydra/sweeper: {sweeper}"})
    sweep_dir, returns = run_example(app / "sphere.py", "conf", "config", task_of(app / "sphere.py", "sphere"))
    results, rows = read_results(sweep_dir), read_trials(sweep_dir)
    assert results["name"] == "sphere"  # study_name
    assert len(rows) == 20 and all(r["status"] == "completed" for r in rows)
    assert [len(batch) for batch in returns] == [1] * 20  # n_jobs: 1 -> batch_size 1
    # the space is the example's: range(-5.5, 5.5, step=0.5) stops before 5.5 (Hydra's range)
    assert {float(r["x"]) for r in rows} <= {-5.5 + 0.5 * k for k in range(22)}
    assert {int(r["y"]) for r in rows} <= {-5, 0, 5}
    assert results["best_value"] == min(float(r["value"]) for r in rows)
    # sane: 11 of the 66 points (y=0, |x| <= 2.5) are <= 6.25; 20 uniform draws miss all of them
    # with probability (5/6)^20 = 2.6% (and the run is deterministic: the example's seed is 123)
    assert results["best_value"] <= 6.25
    log = texts(sweep_log)
    assert "sampler.seed=123 -> seed=123" in log and "study_name='sphere' -> name='sphere'" in log
    assert "range(a, b) excludes b here" in log
    assert ("TPESampler is not available here: bayes runs its Gaussian-process model" if sweeper == "bayes"
            else "TPESampler is not used: hydra/sweeper=random samples at random") in log
    assert not texts(sweep_log, logging.WARNING)  # every key of the example has an equivalent
    # the same seed, 123, as the example's sampler.seed: asked for, so not drawn and logged
    assert "No seed given" not in log


# --- hydra-optuna-sweeper's multi-objective example: multi-objective.py with its config.yaml --------


@pytest.mark.parametrize("sweeper", ["bayes", "random"])
def test_optuna_multi_objective_example_writes_a_pareto_front(run_example, tmp_path, sweep_log, sweeper) -> None:
    """A stand-in copy (same keys, same function) of the example. The sweep's front is checked
    against the definition of dominance."""
    app = switched("optuna_multi_objective", tmp_path,
                   {"override hydra/sweeper: optuna": f"override hydra/sweeper: {sweeper}"})
    script = app / "multi-objective.py"
    sweep_dir, _ = run_example(script, "multi-objective-conf", "config", task_of(script, "binh_and_korn"),
                               plots=True)
    results, rows = read_results(sweep_dir), read_trials(sweep_dir)
    assert results["name"] == "multi-objective" and results["direction"] == ["minimize", "minimize"]
    assert len(rows) == 20 and all(r["status"] == "completed" for r in rows) and results["n_feasible"] == 20
    values = {int(r["number"]): (float(r["value_0"]), float(r["value_1"])) for r in rows}
    for r in rows:  # the recorded values are the task's (Binh and Korn)
        x, y = float(r["x"]), float(r["y"])
        assert values[int(r["number"])] == (4 * x**2 + 4 * y**2, (x - 5) ** 2 + (y - 5) ** 2)

    def dominated(a: tuple[float, float]) -> bool:
        return any(b[0] <= a[0] and b[1] <= a[1] and b != a for b in values.values())

    assert [s["trial"] for s in results["solutions"]] == sorted(n for n, v in values.items() if not dominated(v))
    assert all(tuple(s["values"]) == values[s["trial"]] for s in results["solutions"])
    assert (sweep_dir / "pareto.png").stat().st_size > 0
    log = texts(sweep_log)
    assert "sampler.seed=123 -> seed=123" in log and "experiment_sequence" in log


# --- lightning-hydra-template's hparams_search/mnist_optuna.yaml -------------------------------


def test_lightning_template_optuna_search_runs_with_two_lines_changed(tmp_path) -> None:
    """As a user runs it: ``python train.py hparams_search=mnist_optuna`` (its config sets
    hydra.mode=MULTIRUN), in a subprocess whose environment does not pin JAX to the CPU."""
    app = switched("lightning_template", tmp_path, {
        "override /hydra/sweeper: optuna": "override /hydra/sweeper: bayes",
        "    _target_: hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper\n": "",
    })
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "JAX_PLATFORMS")}
    proc = subprocess.run(
        [sys.executable, str(app / "train.py"), "hparams_search=mnist_optuna", f"hydra.sweep.dir={tmp_path / 'sweep'}",
         "hydra.sweeper.plots=false"],
        cwd=app, env=env, capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Unable to initialize backend" not in output  # JAX's probe of absent platforms stays quiet
    results, rows = read_results(tmp_path / "sweep"), read_trials(tmp_path / "sweep")
    assert results["direction"] == "maximize" and len(rows) == 20
    assert results["best_value"] == max(float(r["value"]) for r in rows)
    # sane: the stand-in's best is 0.98; 0.94 needs lr within ~0.025 of 0.01 (a quarter of the
    # interval) with the other choices near theirs: the example's seed (1234) makes the run fixed
    assert 0.94 <= results["best_value"] <= 0.98
    assert re.search(r"sampler\.n_startup_trials=10 -> n_initial_points=10", output)
    assert "TPESampler is not available here" in output


# --- hydra-nevergrad-sweeper's example -------------------------------------------------------------


def test_nevergrad_example_runs_with_the_override_line_changed(run_example, tmp_path, sweep_log) -> None:
    app = switched("nevergrad", tmp_path, {"override hydra/sweeper: nevergrad": "override hydra/sweeper: random"})
    # Nevergrad's own keys on the command line, to keep the test short (30 of the example's 100
    # trials) and fixed (a seed; the example has none): both are mapped like the config's keys.
    sweep_dir, returns = run_example(app / "my_app.py", ".", "config", task_of(app / "my_app.py", "dummy_training"),
                                     ["hydra.sweeper.optim.budget=30", "hydra.sweeper.optim.seed=0"])
    results, rows = read_results(sweep_dir), read_trials(sweep_dir)
    assert len(rows) == 30 and [len(b) for b in returns] == [10] * 3  # budget 30, num_workers 10
    assert {r["db"] for r in rows} <= {"mnist", "cifar"}
    assert all(4 <= int(r["batch_size"]) <= 16 and 0 <= float(r["dropout"]) <= 1 for r in rows)
    # lr: {init: 0.02, step: 2.0, log: true} has no bounds: init ÷/× 2^3, said in a warning
    assert all(0.0025 <= float(r["lr"]) <= 0.16 for r in rows)
    assert "parameter 'lr'" in texts(sweep_log, logging.WARNING)
    assert "optimizer OnePlusOne is not available here" in texts(sweep_log)
    # sane: every trial with batch_size 4 or 5 scores <= 1 + 1 + 0.67 + 0.12 < 3; 30 uniform draws
    # miss both (2 in 13) with probability (11/13)^30 = 0.7% (and seed 0 makes the run fixed)
    assert results["best_value"] == min(float(r["value"]) for r in rows) <= 3.0


# --- hydra-ax-sweeper's example -------------------------------------------------------------------


def test_ax_banana_example_runs_with_the_override_line_changed(run_example, tmp_path, sweep_log) -> None:
    app = switched("ax_banana", tmp_path, {"override hydra/sweeper: ax": "override hydra/sweeper: bayes"})
    sweep_dir, _ = run_example(app / "banana.py", "conf", "config", task_of(app / "banana.py", "banana"),
                               ["hydra.sweeper.ax_config.client.random_seed=0"])  # Ax's key: a fixed run
    results, rows = read_results(sweep_dir), read_trials(sweep_dir)
    assert 10 < len(rows) <= 20  # max_trials 20; early_stop after 10 trials without improvement
    assert all(r["banana.x"].lstrip("-").isdigit() for r in rows)  # Ax's int bounds [-5, 5]: an int
    assert all(-5 <= float(r["banana.y"]) <= 10.1 for r in rows)
    log = texts(sweep_log)
    assert "ax_config.max_trials=20 -> n_trials=20" in log and "early_stop.patience" in log
    assert "ax_config.client.random_seed=0 -> seed=0" in log
    # sane: the function reaches 9e4 over the box; below 100 is the valley y ~ x^2
    assert results["best_value"] == min(float(r["value"]) for r in rows) < 100


# --- Hydra's basic-sweep tutorial (examples/tutorials/basic/running_your_hydra_app/5_basic_sweep) ---


def job_list(returns: Any) -> list[list[tuple[int, list[str]]]]:
    """Per launch() call: (job number, overrides) of each job."""
    return [[(int(r.hydra_cfg.hydra.job.num), list(r.overrides)) for r in batch] for batch in returns]


@pytest.mark.parametrize("overrides", [
    [],                                          # the tutorial's db: glob(*) and db.timeout: 5,10
    ["db=mysql"],                                # the command line narrows a key the config sweeps with glob
    ["db=glob(*,exclude=post*)", "db.timeout=7,8"],
    ["+l=[1,2],[3,4]", "+d={a:1},{b:2}"],        # list and dict values as choices
])
def test_basic_sweep_tutorial_same_jobs_under_grid_as_under_basic(run_example, tmp_path, overrides) -> None:
    from omegaconf import OmegaConf

    app = APPS / "basic_sweep"
    received: dict[str, list[dict]] = {"basic": [], "grid": []}
    jobs, dirs = {}, {}
    for sweeper in ("basic", "grid"):

        def task(cfg: Any, into: list[dict] = received[sweeper]) -> None:  # the tutorial's task returns None
            into.append(OmegaConf.to_container(cfg, resolve=True))

        dirs[sweeper], returns = run_example(
            app / "my_app.py", "conf", "config", task, [f"hydra/sweeper={sweeper}", *overrides], name=sweeper,
            plots=True if sweeper == "grid" else None,
        )
        jobs[sweeper] = job_list(returns)
    assert jobs["grid"] == jobs["basic"] and len(jobs["grid"]) == 1  # one launch() of the whole grid
    assert received["grid"] == received["basic"]
    # the task returns nothing: no plots are written, rather than empty ones
    assert not list(dirs["grid"].glob("*.png"))


def test_a_four_point_grid_on_joblib_is_launched_in_one_call(tmp_path) -> None:
    """The tutorial's 2 x 2 grid with only hydra/launcher=joblib added: its default batch is the
    whole grid, so joblib gets all four jobs in one launch() and runs them in parallel."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    proc = subprocess.run(
        [sys.executable, str(APPS / "basic_sweep" / "my_app.py"), "-m", "hydra/sweeper=grid", "hydra/launcher=joblib",
         "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    launches = re.findall(r"is launching (\d+) jobs", output)  # the joblib launcher's line, once per launch()
    assert launches == ["4"], output
    assert len(read_trials(tmp_path / "sweep")) == 4
    assert "seed" not in output.split("grid sweep of", 1)[1].splitlines()[0]  # a grid has no seed to log
    assert "No trial returned a value: no plots written" in output and not list((tmp_path / "sweep").glob("*.png"))


def test_a_glob_that_matches_no_option_stops_before_any_job(run_example, tmp_path) -> None:
    from hydra.errors import HydraException

    with pytest.raises(HydraException, match=r"parameter 'db': glob\(zzz\*\) matches no option of the config group"):
        run_example(APPS / "basic_sweep" / "my_app.py", "conf", "config", lambda cfg: None,
                    ["hydra/sweeper=grid", "db=glob(zzz*)"])
    assert not (tmp_path / "sweep").exists() or not list((tmp_path / "sweep").iterdir())
