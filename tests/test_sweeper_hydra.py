"""The sweepers through Hydra, in-process: ``Hydra.multirun`` with the basic launcher
(hydra's ``hydra_sweep_runner`` fixture), on the quadratic test app in tests/apps/quadratic.
"""

from __future__ import annotations

import itertools
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import job_dirs, load_app, read_results, read_trials, run_app_subprocess, trials_header
from hydra.errors import HydraException
from omegaconf import OmegaConf

from hpo_sweeper.errors import HpoSweeperError

SWEEP_ERRORS = (HydraException, HpoSweeperError)  # what a user sees: a message, not a crash
LOG_LINE = re.compile(r"^trial (\d+)/(\d+) value=(\S+) best=(\S+) \(trial (\d+)\)$")


def quadratic(row: dict[str, str], offset: float = 0.0) -> float:
    return load_app().quadratic(float(row["x"]), float(row["y"]), int(row["a"]), offset)


def recording(store: list[dict[str, Any]]):
    """The app's task, first recording the config each job received."""
    task = load_app().task

    def run(cfg):
        store.append(OmegaConf.to_container(cfg, resolve=True))
        return task(cfg)

    return run


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


@pytest.fixture
def sweep_log():
    """Messages of the ``hpo_sweeper`` logger. A handler on that logger itself: Hydra's
    launcher reconfigures the root logger for every launch, which drops caplog's handler."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("hpo_sweeper")
    handler, level = Collect(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)


# --- random sweep: results files and log ---------------------------------------------------------


def test_random_sweep_writes_results_and_logs_each_trial(quadratic_sweep, sweep_log) -> None:
    received: list[dict] = []
    n = 8
    sweep_dir, returns = quadratic_sweep(
        ["hydra/sweeper=random", "+search_space=quad", f"hydra.sweeper.n_trials={n}", "hydra.sweeper.seed=3",
         "hydra.sweeper.batch_size=3"],
        task=recording(received),
    )
    assert [len(batch) for batch in returns] == [3, 3, 2]
    rows = read_trials(sweep_dir)
    assert trials_header(sweep_dir) == ["number", "x", "y", "a", "value", "status", "error", "duration_s", "started_at"]
    assert [int(r["number"]) for r in rows] == list(range(n))
    for row, cfg in zip(rows, received):
        assert row["status"] == "completed" and row["error"] == ""
        # the values in the CSV are exactly those the job received, and its value is theirs
        assert float(row["x"]) == cfg["x"] and float(row["y"]) == cfg["y"] and int(row["a"]) == cfg["a"]
        assert -2 <= cfg["x"] <= 2 and -2 <= cfg["y"] <= 2 and type(cfg["a"]) is int and 0 <= cfg["a"] <= 10
        assert float(row["value"]) == quadratic(row)
        assert float(row["duration_s"]) >= 0
        assert datetime.fromisoformat(row["started_at"]).utcoffset() is not None
    assert len({r["x"] for r in rows}) == n  # actually sampled, not one point repeated

    values = [float(r["value"]) for r in rows]
    best = min(range(n), key=values.__getitem__)
    results = read_results(sweep_dir)
    assert results["name"] == "app"
    assert results["best_trial"] == best
    assert results["best_value"] == values[best]
    assert results["best_params"] == {"x": float(rows[best]["x"]), "y": float(rows[best]["y"]), "a": int(rows[best]["a"])}
    assert Path(results["best_job_dir"]) == sweep_dir / str(best) and Path(results["best_job_dir"]).is_dir()
    assert results["n_completed"] == n and results["n_failed"] == 0
    assert [p.name for p in job_dirs(sweep_dir)] == [str(i) for i in range(n)]

    # One line per trial: "trial 7/30 value=0.123 best=0.101 (trial 4)". The trials of a
    # batch finish together, so "best" is the best of every trial up to the end of its batch.
    lines = [m for m in sweep_log if m.startswith("trial ")]
    assert len(lines) == n
    for i, line in enumerate(lines):
        m = LOG_LINE.match(line)
        assert m, line
        assert int(m.group(1)) == i and int(m.group(2)) == n
        assert float(m.group(3)) == pytest.approx(values[i], rel=1e-5)  # printed to 6 digits
        best_so_far = min(values[: (i // 3 + 1) * 3])
        assert float(m.group(4)) == pytest.approx(best_so_far, rel=1e-5)
        assert values[int(m.group(5))] == best_so_far


def test_random_over_config_group_options(quadratic_sweep) -> None:
    received: list[dict] = []
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", "+search_space=quad", "group=choice(x,y)", "hydra.sweeper.n_trials=6",
         "hydra.sweeper.seed=0"],
        task=recording(received),
    )
    rows = read_trials(sweep_dir)
    assert [r["group"] for r in rows] == [cfg["group"]["name"] for cfg in received]
    assert {r["group"] for r in rows} == {"x", "y"}  # seed 0 draws both in 6 trials
    for row, cfg in zip(rows, received):
        assert float(row["value"]) == quadratic(row, cfg["group"]["offset"])


# --- grid over command-line choices: Hydra's basic sweeper semantics -----------------------------


def test_grid_over_command_line_choices_matches_basic_sweeper(quadratic_sweep) -> None:
    args = ["a=1,2,3", "group=x,y", "~unused", "text=world", "+extra='a b'"]
    ours: list[dict] = []
    sweep_dir, returns = quadratic_sweep(["hydra/sweeper=grid", *args], task=recording(ours))
    basic: list[dict] = []
    quadratic_sweep(["hydra/sweeper=basic", *args], task=recording(basic), ours=False)

    assert ours == basic  # the very same configs, in the same order
    assert [(c["a"], c["group"]["name"]) for c in ours] == list(itertools.product([1, 2, 3], ["x", "y"]))
    for cfg in ours:
        assert "unused" not in cfg and cfg["text"] == "world" and cfg["extra"] == "a b"

    rows = read_trials(sweep_dir)
    assert [(r["a"], r["group"]) for r in rows] == [(str(a), g) for a, g in itertools.product([1, 2, 3], ["x", "y"])]
    assert all(r["status"] == "completed" for r in rows)
    assert read_results(sweep_dir)["best_params"] == {"a": 1, "group": "x"}
    assert sum(len(b) for b in returns) == 6


def test_grid_intervals_ranges_and_budget(quadratic_sweep, sweep_log) -> None:
    received: list[dict] = []
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=grid", "x=interval(0, 1)", "a=range(1, 3)", "hydra.sweeper.grid_points=3",
         "hydra.sweeper.batch_size=2"],
        task=recording(received),
    )
    # range() excludes its stop; interval() gives grid_points values
    assert [(c["x"], c["a"]) for c in received] == list(itertools.product([0.0, 0.5, 1.0], [1, 2]))
    assert len(read_trials(sweep_dir)) == 6

    received.clear()
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=grid", "x=tag(log, interval(0.001, 1))", "a=1,2", "hydra.sweeper.grid_points=4",
         "hydra.sweeper.n_trials=3"],
        task=recording(received),
    )
    # log-spaced, and n_trials caps the grid (with a warning) at an evenly spread subset of it,
    # not its first points (issue #12): x from end to end, each a about equally often
    assert [(c["x"], c["a"]) for c in received] == [(0.001, 1), (1.0, 2), (0.1, 2)]
    assert len(read_trials(sweep_dir)) == 3
    assert any("n_trials=3" in m and "8" in m for m in sweep_log), sweep_log


# --- where the search space comes from ------------------------------------------------------------


@pytest.mark.parametrize("space", ["quad", "quad_dict"])
def test_space_from_config_group_and_command_line_wins(quadratic_sweep, space: str) -> None:
    received: list[dict] = []
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", f"+search_space={space}", "x=interval(0.25, 0.35)", "hydra.sweeper.n_trials=5",
         "hydra.sweeper.seed=0"],
        task=recording(received),
    )
    assert trials_header(sweep_dir)[1:4] == ["x", "y", "a"]
    for cfg in received:
        assert 0.25 <= cfg["x"] <= 0.35  # the command line's interval, not the group's [-2, 2]
        assert -2 <= cfg["y"] <= 2 and type(cfg["y"]) is float
        assert 0 <= cfg["a"] <= 10 and type(cfg["a"]) is int
    assert len({c["y"] for c in received}) == 5


def test_space_from_hydra_sweeper_params(quadratic_sweep) -> None:
    received: list[dict] = []
    quadratic_sweep([], task=recording(received), config_name="config_params")
    assert len(received) == 6  # n_trials from the config
    for cfg in received:
        assert -1 <= cfg["x"] <= 1 and 0.01 <= cfg["y"] <= 1 and cfg["a"] in (1, 2, 3)

    received.clear()
    sweep_dir, _ = quadratic_sweep(["a=choice(7,8)", "y=0.5"], task=recording(received), config_name="config_params")
    assert {c["a"] for c in received} <= {7, 8} and len(received) == 6
    assert all(c["y"] == 0.5 for c in received)  # a plain value on the command line fixes y
    assert "y" not in trials_header(sweep_dir)

    # hydra.sweeper.params.<key> on the command line (the Optuna sweeper's way) replaces the entry
    received.clear()
    quadratic_sweep(["hydra.sweeper.params.x='interval(0.25, 0.35)'", "hydra.sweeper.n_trials=3"],
                    task=recording(received), config_name="config_params")
    assert len(received) == 3 and all(0.25 <= c["x"] <= 0.35 for c in received)


# --- reproducibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["random", "sobol", "halton", "lhs"])
def test_same_seed_same_trials(quadratic_sweep, sampler: str) -> None:
    def params(seed: int) -> list[tuple[str, str, str]]:
        sweep_dir, _ = quadratic_sweep(
            ["hydra/sweeper=random", "+search_space=quad", f"hydra.sweeper.sampler={sampler}",
             "hydra.sweeper.n_trials=3", f"hydra.sweeper.seed={seed}"]
        )
        return [(r["x"], r["y"], r["a"]) for r in read_trials(sweep_dir)]

    first = params(7)
    assert len(set(first)) == 3
    assert params(7) == first
    if sampler == "random":
        assert params(8) != first  # the seed matters


# --- failures -------------------------------------------------------------------------------------


def test_raising_and_nan_trials_are_recorded_and_the_sweep_goes_on(quadratic_sweep, sweep_log) -> None:
    n = 8
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", "+search_space=quad", f"hydra.sweeper.n_trials={n}", "hydra.sweeper.seed=0",
         "fail_jobs=[1]", "nan_jobs=[3]"]
    )
    rows = read_trials(sweep_dir)
    assert [r["status"] for r in rows] == ["completed", "failed", "completed", "failed"] + ["completed"] * 4
    assert "RuntimeError" in rows[1]["error"] and "boom: job 1 was told to fail" in rows[1]["error"]
    assert "nan" in rows[3]["error"].lower()
    assert rows[1]["value"] == "" and rows[3]["value"] == ""
    results = read_results(sweep_dir)
    assert results["n_failed"] == 2 and results["n_completed"] == 6
    completed = [r for r in rows if r["status"] == "completed"]
    assert results["best_value"] == min(float(r["value"]) for r in completed)
    assert len([m for m in sweep_log if m.startswith("trial ")]) == n


def test_max_failure_rate_stops_the_sweep_after_five_finished(quadratic_sweep, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "failing"
    with pytest.raises(SWEEP_ERRORS) as e:
        quadratic_sweep(
            ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=10", "hydra.sweeper.seed=0",
             "hydra.sweeper.max_failure_rate=0.5", "fail_jobs=[0,1,2]"],
            sweep_dir=sweep_dir,
        )
    msg = str(e.value)
    assert "max_failure_rate=0.5" in msg and "3 of 5" in msg
    assert "boom" in msg  # the first errors are shown
    rows = read_trials(sweep_dir)
    # 3 of the first 3 failed, but the rate is judged only from 5 finished trials on
    assert [r["status"] for r in rows] == ["failed"] * 3 + ["completed"] * 2
    results = read_results(sweep_dir)
    assert results["n_failed"] == 3 and results["n_completed"] == 2 and results["best_trial"] in (3, 4)


def test_every_trial_failing_is_a_clear_error(quadratic_sweep, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "all_fail"
    with pytest.raises(SWEEP_ERRORS) as e:
        quadratic_sweep(
            ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=3", "hydra.sweeper.seed=0",
             "fail_all=true"],
            sweep_dir=sweep_dir,
        )
    msg = str(e.value)
    assert "every trial failed" in msg and "boom: job 0 was told to fail" in msg
    rows = read_trials(sweep_dir)
    assert [r["status"] for r in rows] == ["failed"] * 3
    results = read_results(sweep_dir)
    assert results["n_failed"] == 3 and results["best_trial"] is None


# --- the objective --------------------------------------------------------------------------------

RETURNS = [
    # (ret, objective, value from the quadratic q)
    ("float", None, lambda q: q),
    ("int", None, lambda q: float(round(q * 1000))),
    ("numpy", None, lambda q: pytest.approx(q, rel=1e-6)),  # float32
    ("numpy0d", None, lambda q: q),
    ("jax", None, lambda q: pytest.approx(q, rel=1e-6)),  # float32
    ("dict", "loss", lambda q: q),
    ("nested", "metrics.val.loss", lambda q: q),
    ("dictconfig", "metrics.loss", lambda q: q),
    ("dataclass", "metrics.loss", lambda q: q),
    ("dataclass", "metrics.accuracy", lambda q: 0.5),
    ("attribute", "loss", lambda q: q),
]


@pytest.mark.parametrize("ret, objective, expected", RETURNS, ids=[f"{r[0]}-{r[1]}" for r in RETURNS])
def test_objective_from_every_kind_of_return(quadratic_sweep, ret: str, objective: str | None, expected) -> None:
    key = "null" if objective is None else objective
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=1", "hydra.sweeper.seed=0",
         f"ret={ret}", f"hydra.sweeper.objective={key}"]
    )
    rows = read_trials(sweep_dir)
    assert [r["status"] for r in rows] == ["completed"], [r["error"] for r in rows]
    for row in rows:
        assert float(row["value"]) == expected(quadratic(row))
    assert read_results(sweep_dir)["objective"] == objective


def test_missing_objective_key_fails_the_trial_naming_the_keys(quadratic_sweep, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "missing_key"
    with pytest.raises(SWEEP_ERRORS, match="every trial failed"):
        quadratic_sweep(
            ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=2", "ret=nested",
             "hydra.sweeper.objective=metrics.val.los"],
            sweep_dir=sweep_dir,
        )
    for row in read_trials(sweep_dir):
        assert row["status"] == "failed"
        assert "metrics.val.los" in row["error"] and "['accuracy', 'loss']" in row["error"]


def test_a_dict_without_objective_key_fails_the_trial_naming_the_keys(quadratic_sweep, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "no_key"
    with pytest.raises(SWEEP_ERRORS, match="every trial failed"):
        quadratic_sweep(
            ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=2", "ret=dict"],
            sweep_dir=sweep_dir,
        )
    for row in read_trials(sweep_dir):
        assert "hydra.sweeper.objective" in row["error"] and "['accuracy', 'loss']" in row["error"]


def test_maximize(quadratic_sweep) -> None:
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=5", "hydra.sweeper.seed=0",
         "hydra.sweeper.direction=maximize"]
    )
    values = [float(r["value"]) for r in read_trials(sweep_dir)]
    results = read_results(sweep_dir)
    assert results["best_value"] == max(values) and results["best_trial"] == values.index(max(values))


# --- values reach the task exactly ----------------------------------------------------------------

TRICKY = [
    "hello world", "a,b,c", "it's", 'say "hi"', "back\\slash and space", "x=y", " padded ", "", "1", "true", "null",
    "1e-5", "choice(a,b)", True, False, None, 1e-05, 1e20, -2.5, 7,
]


def test_tricky_values_from_a_yaml_space_reach_the_task(quadratic_sweep) -> None:
    received: list[dict] = []
    sweep_dir, _ = quadratic_sweep(["hydra/sweeper=grid", "+search_space=tricky"], task=recording(received))
    got = [c["value"] for c in received]
    assert len(got) == len(TRICKY)
    for g, want in zip(got, TRICKY):
        assert same(g, want), (g, want)
    assert [r["status"] for r in read_trials(sweep_dir)] == ["completed"] * len(TRICKY)


def test_tricky_values_from_the_command_line_reach_the_task(quadratic_sweep) -> None:
    # The comma form: Hydra itself parses the command line before any sweeper sees it, and
    # its choice() refuses null there.
    received: list[dict] = []
    quadratic_sweep(
        ["hydra/sweeper=grid", r"""value='hello world','a,b','it\'s',"say \"hi\"",'1','true',true,null,1e-05,1e+20"""],
        task=recording(received),
    )
    want = ["hello world", "a,b", "it's", 'say "hi"', "1", "true", True, None, 1e-05, 1e20]
    got = [c["value"] for c in received]
    assert len(got) == len(want) and all(same(g, w) for g, w in zip(got, want)), got


def test_random_sampled_floats_reach_the_task_in_full(quadratic_sweep) -> None:
    # A log-scale interval reaching 1e-8: values in exponent form must arrive as those floats.
    received: list[dict] = []
    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", "x=tag(log, interval(1e-8, 1e-4))", "hydra.sweeper.n_trials=4", "hydra.sweeper.seed=0"],
        task=recording(received),
    )
    for row, cfg in zip(read_trials(sweep_dir), received):
        assert type(cfg["x"]) is float and float(row["x"]) == cfg["x"] and 1e-8 <= cfg["x"] <= 1e-4


# --- a real parallel launcher ---------------------------------------------------------------------


def test_batches_through_the_joblib_launcher(tmp_path: Path) -> None:
    # A subprocess: joblib's workers import the task by module name, which the in-process
    # runner's task (loaded from a file path) does not have.
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep_dir = tmp_path / "sweep"
    proc = run_app_subprocess(
        ["hydra/sweeper=random", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.batch_size=2",
         "+search_space=quad", "hydra.sweeper.n_trials=4", "hydra.sweeper.seed=0", "hydra.sweeper.plots=false",
         "fail_jobs=[1]", f"hydra.sweep.dir={sweep_dir}"]
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_trials(sweep_dir)
    assert [r["status"] for r in rows] == ["completed", "failed", "completed", "completed"]
    assert "boom: job 1 was told to fail" in rows[1]["error"]
    for r in rows:
        if r["status"] == "completed":
            assert float(r["value"]) == quadratic(r)
        # each trial's recorded parameters are the overrides its own job ran with
        job_overrides = (sweep_dir / r["number"] / ".hydra" / "overrides.yaml").read_text()
        assert f"x={r['x']}" in job_overrides and f"a={r['a']}" in job_overrides
    assert read_results(sweep_dir)["n_failed"] == 1


# --- regressions (fixed in 16e56d0) -----------------------------------------------------------------


def test_trials_in_flight_are_listed_as_running(quadratic_sweep, monkeypatch) -> None:
    from hydra.core.hydra_config import HydraConfig

    from hpo_sweeper import loop

    # These jobs return at once, so the files would be rewritten at most every 2 s
    # (loop.RESULTS_INTERVAL_S, tests/test_loop_overhead.py); with no interval, before every batch.
    monkeypatch.setattr(loop, "RESULTS_INTERVAL_S", 0.0)

    task = load_app().task
    seen: list[tuple[str, int | None]] = []

    def peek(cfg):
        # While this job runs, the results files say so.
        sweep_dir = Path(HydraConfig.get().sweep.dir)
        job = HydraConfig.get().job.num
        rows = read_trials(sweep_dir) if (sweep_dir / "trials.csv").exists() else []
        results = read_results(sweep_dir) if (sweep_dir / "optimization_results.yaml").exists() else {}
        seen.append(({r["number"]: r["status"] for r in rows}.get(str(job), "absent"), results.get("n_running")))
        return task(cfg)

    quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=3", "hydra.sweeper.seed=0",
                     "hydra.sweeper.batch_size=2"], task=peek)
    assert seen == [("running", 2), ("running", 2), ("running", 1)]


def test_a_task_calling_sys_exit_is_a_failed_trial(quadratic_sweep) -> None:
    import sys

    from hydra.core.hydra_config import HydraConfig

    task = load_app().task

    def exits_on_job_1(cfg):
        if HydraConfig.get().job.num == 1:
            sys.exit("diverged: loss is nan")
        return task(cfg)

    sweep_dir, _ = quadratic_sweep(
        ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=3", "hydra.sweeper.seed=0"],
        task=exits_on_job_1,
    )
    rows = read_trials(sweep_dir)
    assert [r["status"] for r in rows] == ["completed", "failed", "completed"]
    assert "diverged: loss is nan" in rows[1]["error"]


# --- settings of other sweepers (hpo_sweeper.compat) through Hydra ------------------------------


@pytest.mark.parametrize("setting, fragment", [
    ("hydra.sweeper.experiment_sequence=my.Sequence", "experiment_sequence='my.Sequence'"),
    ("hydra.sweeper.custom_search_space=objective.configure", "custom_search_space='objective.configure'"),
    ("hydra.sweeper.storage=postgresql://host/db", "only SQLite files are supported"),
])
def test_an_optuna_setting_we_cannot_honour_stops_before_any_job(quadratic_sweep, tmp_path, setting, fragment) -> None:
    sweep_dir = tmp_path / "refused"
    with pytest.raises(SWEEP_ERRORS) as e:
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", setting], sweep_dir=sweep_dir)
    assert fragment in str(e.value)
    assert job_dirs(sweep_dir) == [] and not (sweep_dir / "trials.db").exists()


@pytest.mark.parametrize("sweeper, sampler, expect", [
    ("random", "qmc", "QMCSampler -> hydra/sweeper=random"),
    ("random", "tpe", "TPESampler is not used: hydra/sweeper=random samples at random"),
    ("grid", "grid", "GridSampler -> hydra/sweeper=grid"),
])
def test_an_optuna_sampler_option_composes_with_our_sweepers(quadratic_sweep, sweep_log, sweeper, sampler,
                                                              expect) -> None:
    seed = ["hydra.sweeper.sampler.seed=4"] if sweeper == "random" else []  # Optuna's GridSampler has no seed
    sweep_dir, _ = quadratic_sweep([f"hydra/sweeper={sweeper}", f"hydra/sweeper/sampler={sampler}", "a=1,2",
                                    "hydra.sweeper.n_trials=2", *seed])
    assert len(read_trials(sweep_dir)) == 2
    assert any(expect in m for m in sweep_log)
    if sweeper == "random":  # its seed is the sampler's
        assert any("sampler.seed=4 -> seed=4" in m for m in sweep_log)
