"""Hardening of the sweep loop, the store and the sweep dir (issue 11).

Most cases drive ``SweepLoop`` with a plain ``launch`` callable (a ``BatchDriver``) or run the quadratic
app in-process; only those where a process death is the point run a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import read_results, read_trials
from hydra.errors import HydraException

from hpo_sweeper.drivers import BatchDriver, JobResult
from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.job_records import MAX_ERROR_CHARS, JobRecord, write_job_record, write_job_started
from hpo_sweeper.loop import SweepLoop, _oneline
from hpo_sweeper.optimizers import create_optimizer
from hpo_sweeper.settings import EarlyStop, SweepConfigError, SweepSettings
from hpo_sweeper.store import StoreError, TrialStore
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus
from hpo_sweeper.warm_start import WarmStartError, load_warm_start, validate_enqueued
from hydra_plugins.hpo_sweeper_plugin.space_from_hydra import build_space

ERRORS = (HydraException, HpoSweeperError)
DURABLE_APP = Path(__file__).parent / "durable_app" / "app.py"


def grid_space() -> Any:
    space, *_ = build_space({"x": "choice(0.1, 0.2, 0.3)", "y": "choice(1, 2)"}, [])
    return space


def quadratic(trials: list[Trial]) -> list[JobResult]:
    return [JobResult(returned=(t.params["x"] - 0.2) ** 2 + t.params["y"]) for t in trials]


def keys(trials: TrialLog) -> list[tuple[Any, ...]]:
    return [(t.params["x"], t.params["y"]) for t in trials]


# --- 3: no configuration is handed out twice ------------------------------------------------------


def test_enqueued_grid_point_is_not_run_twice(tmp_path: Path) -> None:
    space = grid_space()
    runner = SweepLoop(create_optimizer("grid", space), BatchDriver(quadratic, 2), n_trials=6,
                         sweep_dir=tmp_path, enqueue=[{"x": 0.1, "y": 1}])
    runner.run()
    assert len(runner.trials) == 6
    assert sorted(keys(runner.trials)) == sorted((x, y) for x in (0.1, 0.2, 0.3) for y in (1, 2))


def test_rerun_after_a_kill_is_reserved(tmp_path: Path) -> None:
    """A dead sweep left trials 2 and 3 running: they run again, and the grid is covered exactly."""
    space = grid_space()
    dead = TrialLog([
        Trial(0, {"x": 0.1, "y": 1}, TrialStatus.COMPLETED, 1.01),
        Trial(1, {"x": 0.1, "y": 2}, TrialStatus.COMPLETED, 2.01),
        Trial(2, {"x": 0.2, "y": 1}),
        Trial(3, {"x": 0.2, "y": 2}),
    ])
    runner = SweepLoop(create_optimizer("grid", space), BatchDriver(quadratic, 3, started=lambda t: False), n_trials=6,
                         sweep_dir=tmp_path, trials=dead)
    runner.run()
    assert sorted(keys(runner.trials)) == sorted((x, y) for x in (0.1, 0.2, 0.3) for y in (1, 2))


def test_random_search_on_a_small_space_stops_when_it_is_covered(tmp_path: Path) -> None:
    space, *_ = build_space({"y": "choice(1, 2, 3)"}, [])

    def launch(batch: list[Trial]) -> list[JobResult]:
        return [JobResult(returned=float(t.params["y"])) for t in batch]

    runner = SweepLoop(create_optimizer("random", space, seed=0), BatchDriver(launch, 1), n_trials=10,
                         sweep_dir=tmp_path)
    runner.run()
    assert sorted(t.params["y"] for t in runner.trials) == [1, 2, 3]
    assert "exhausted" in (runner.stop_reason or "")


def test_duplicate_enqueue_entries_are_an_error() -> None:
    with pytest.raises(WarmStartError, match=r"enqueue\[2\] repeats enqueue\[0\]"):
        validate_enqueued(grid_space(), [{"x": 0.1, "y": 1}, {"x": 0.2, "y": 1}, {"x": 0.1, "y": 1}])


# --- 5 and 10: jobs that die ------------------------------------------------------------------------


def test_orphan_that_died_before_is_failed_not_rerun(tmp_path: Path) -> None:
    space = grid_space()
    log = TrialLog([Trial(0, {"x": 0.1, "y": 1})])
    log.set_meta("deaths", {json.dumps([0.1, 1]): 1})  # it died once already, and ran again
    runner = SweepLoop(create_optimizer("grid", space), BatchDriver(quadratic, 1, started=lambda t: True), n_trials=2,
                         sweep_dir=tmp_path, trials=log)
    runner.run()
    first = next(iter(runner.trials))
    assert first.number == 0 and first.status is TrialStatus.FAILED
    assert "the sweep process died while this trial ran, twice" in (first.error or "")
    assert keys(runner.trials) == [(0.1, 1), (0.1, 2)]


def test_crashed_worker_requeues_its_batch_mates(tmp_path: Path) -> None:
    """The launcher raises when a worker dies (as joblib does): of a batch of 3, trial 0 finished,
    1 is the crasher, 2 never started. 0 keeps its result, 2 runs again, 1 runs again alone and,
    dying alone, fails; nothing healthy is marked failed."""
    space = grid_space()
    crasher = {"x": 0.2, "y": 1}
    finished: dict[int, JobResult] = {}
    started: set[int] = set()

    def launch(batch: list[Trial]) -> list[JobResult]:
        out = []
        for i, t in enumerate(batch):
            started.add(t.number)
            if {k: t.params[k] for k in ("x", "y")} == crasher:
                if len(batch) > 1:
                    started.add(batch[i - 1].number if i else batch[i].number)  # a batch-mate was running too
                raise RuntimeError("A worker process managed by the executor was unexpectedly terminated")
            finished[t.number] = quadratic([t])[0]
            out.append(finished[t.number])
        return out

    runner = SweepLoop(create_optimizer("grid", space), BatchDriver(launch, 3, recover=lambda t: finished.get(t.number), started=lambda t: t.number in started), n_trials=6,
                         sweep_dir=tmp_path)
    runner.run()
    by_key = {(t.params["x"], t.params["y"]): t for t in runner.trials}
    assert sorted(by_key) == sorted((x, y) for x in (0.1, 0.2, 0.3) for y in (1, 2))
    assert by_key[(0.2, 1)].status is TrialStatus.FAILED
    assert "worker process died while this trial ran" in (by_key[(0.2, 1)].error or "")
    assert all(t.status is TrialStatus.COMPLETED for k, t in by_key.items() if k != (0.2, 1))


def test_launcher_that_starts_nothing_stops_the_sweep(tmp_path: Path) -> None:
    def launch(batch: list[Trial]) -> list[JobResult]:
        raise RuntimeError("no executor")

    runner = SweepLoop(create_optimizer("grid", grid_space()), BatchDriver(launch, 1, started=lambda t: False), n_trials=6,
                         sweep_dir=tmp_path)
    with pytest.raises(HpoSweeperError, match="the launcher failed before any job"):
        runner.run()
    assert len(runner.trials) == 0


def test_trial_that_kills_its_process_is_rerun_once_then_failed(tmp_path: Path) -> None:
    """The in-process launcher: the trial with x=0.2 SIGKILLs the sweep itself, every time."""
    sweep_dir = tmp_path / "s"
    cmd = [sys.executable, str(DURABLE_APP), "-m", f"hydra.sweep.dir={sweep_dir}", "hydra/sweeper=grid",
           "x=choice(0.1,0.2,0.3)", "y=1", "die_at=0.2", "hydra.sweeper.plots=false",
           "hydra.sweeper.batch_size=1"]  # one trial per launch: the numbering below follows from it
    codes = [subprocess.run(cmd, capture_output=True, timeout=120).returncode for _ in range(3)]
    assert codes == [-9, -9, 0]
    rows = read_trials(sweep_dir)
    assert [(r["number"], r["x"], r["status"]) for r in rows] == [
        ("0", "0.1", "completed"), ("2", "0.2", "failed"), ("3", "0.3", "completed")]
    assert "the sweep process died while this trial ran, twice" in rows[1]["error"]


# --- 2: a sweep dir without its store ---------------------------------------------------------------


@pytest.mark.parametrize("damage", ["emptied", "deleted"])
def test_sweep_dir_without_its_store_is_refused(quadratic_sweep, tmp_path: Path, damage: str) -> None:
    sweep_dir, _ = quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=2"])
    db = sweep_dir / "trials.db"
    if damage == "emptied":
        db.write_bytes(b"")
    else:
        db.unlink()
    before = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()}
    with pytest.raises(ERRORS) as e:
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=4"],
                        sweep_dir=sweep_dir)
    msg = str(e.value)
    assert "holds results of an earlier sweep" in msg and "trials.csv" in msg and "job dir 0" in msg
    assert "restore the trial store" in msg
    assert {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()} == before
    assert not (sweep_dir / "2").exists()


# --- 6 and 8: settings -----------------------------------------------------------------------------


def test_bad_seed_fails_before_the_store_is_touched(quadratic_sweep, tmp_path: Path) -> None:
    with pytest.raises(ERRORS, match=r"seed must be an integer in \[0, 4294967295\] or null, got -1"):
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.seed=-1"],
                        sweep_dir=tmp_path / "s")
    assert not (tmp_path / "s" / "trials.db").exists()
    # The corrected command then runs with the seed it names.
    quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.seed=5",
                     "hydra.sweeper.n_trials=2"], sweep_dir=tmp_path / "s")
    con = sqlite3.connect(tmp_path / "s" / "trials.db")
    assert con.execute("SELECT value FROM meta WHERE key='seed'").fetchone() == ("5",)
    con.close()


@pytest.mark.parametrize(
    "change, words",
    [
        (["hydra/sweeper=grid", "hydra.sweeper.n_trials=4"], "sweeper changed from random to grid"),
        (["hydra/sweeper=random", "hydra.sweeper.direction=maximize"], "direction changed from minimize to maximize"),
        (["hydra/sweeper=random", "a=2"], "overrides changed"),
        (["hydra/sweeper=random", "hydra.sweeper.sampler=sobol"], "sampler changed from random to sobol"),
    ],
)
def test_resume_with_changed_settings_is_refused(quadratic_sweep, tmp_path: Path, change: list[str],
                                                 words: str) -> None:
    space = ["x=interval(0, 1)", "y=choice(0.1, 0.2)"]
    sweep_dir, _ = quadratic_sweep(["hydra/sweeper=random", *space, "hydra.sweeper.n_trials=2"])
    before = (sweep_dir / "trials.db").read_bytes()
    with pytest.raises(ERRORS) as e:
        quadratic_sweep([*space, *change, "hydra.sweeper.n_trials=4"], sweep_dir=sweep_dir)
    assert words in str(e.value) and "allow_settings_change" in str(e.value)
    assert (sweep_dir / "trials.db").read_bytes() == before
    # Explicitly allowed, it resumes.
    quadratic_sweep([*space, *change, "hydra.sweeper.n_trials=4", "hydra.sweeper.allow_settings_change=true"],
                    sweep_dir=sweep_dir)
    assert len(read_trials(sweep_dir)) == 4


def test_settings_that_may_change_on_resume(quadratic_sweep, tmp_path: Path) -> None:
    base = ["hydra/sweeper=random", "+search_space=quad"]
    sweep_dir, _ = quadratic_sweep([*base, "hydra.sweeper.n_trials=2"])
    quadratic_sweep([*base, "hydra.sweeper.n_trials=5", "hydra.sweeper.batch_size=2",
                     "hydra.sweeper.max_failure_rate=0.9", "hydra.sweeper.max_reruns=3"], sweep_dir=sweep_dir)
    assert len(read_trials(sweep_dir)) == 5


# --- 9: no write through a link ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["trials.db.lock", "trials.db-wal", "trials.db"])
def test_planted_link_at_the_store_is_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    sweep = tmp_path / "s"
    sweep.mkdir()
    (sweep / name).symlink_to(target)
    with pytest.raises(StoreError, match="symbolic link"):
        TrialStore(sweep / "trials.db").open()
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("name", ["trials.csv", "optimization_results.yaml"])
def test_planted_link_at_a_results_file_is_refused(quadratic_sweep, tmp_path: Path, name: str) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    sweep = tmp_path / "s"
    sweep.mkdir()
    (sweep / name).symlink_to(target)
    with pytest.raises(ERRORS, match="symbolic link"):
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad"], sweep_dir=sweep)
    assert target.read_text() == "keep me"
    assert not (sweep / "trials.db").exists()


def test_job_records_never_follow_a_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sweep = tmp_path / "s"
    sweep.mkdir()
    (sweep / ".hpo_sweeper").symlink_to(elsewhere)
    with pytest.raises(OSError, match="symbolic link"):
        write_job_record(sweep, 0, JobRecord(0.0, 1.0, returned=1.0))
    with pytest.raises(OSError):
        write_job_started(sweep, 0)
    assert not any(elsewhere.rglob("*.json")) and not any(elsewhere.rglob("*.started"))
    # A link planted at the record itself is replaced, not written through.
    sweep2 = tmp_path / "s2"
    (sweep2 / ".hpo_sweeper" / "jobs").mkdir(parents=True)
    target = tmp_path / "precious"
    target.write_text("keep me")
    (sweep2 / ".hpo_sweeper" / "jobs" / "0.json").symlink_to(target)
    write_job_record(sweep2, 0, JobRecord(0.0, 1.0, returned=1.0))
    assert target.read_text() == "keep me"
    assert not (sweep2 / ".hpo_sweeper" / "jobs" / "0.json").is_symlink()


# --- 11: config-group choices ------------------------------------------------------------------------


def test_missing_config_group_option_fails_before_job_0(quadratic_sweep, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    # batch_size=1: a per-batch check would have let the first job (group=x) run.
    with pytest.raises(ERRORS, match=r"parameter 'group': nonexistent is not an option of the config group"):
        quadratic_sweep(["hydra/sweeper=grid", "group=choice(x,nonexistent)", f"marker_dir={markers}"],
                        sweep_dir=tmp_path / "s")
    assert not markers.exists()


# --- 12 and 14: foreign and tampered files ----------------------------------------------------------


def _store_with_recursive_view(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE VIEW trials AS WITH RECURSIVE r(number, params, status, value, error, started_at, duration_s,"
        " job_dir) AS (SELECT 0, '{}', 'completed', 1.0, NULL, NULL, NULL, NULL UNION ALL"
        " SELECT number + 1, params, status, value, error, started_at, duration_s, job_dir FROM r)"
        " SELECT * FROM r;"
    )
    con.close()


def test_warm_start_store_with_a_recursive_view_is_stopped(tmp_path: Path, monkeypatch) -> None:
    import hpo_sweeper.store as store

    # The real bounds are 30 s and 1,000,000 rows; each is tested alone here, kept small.
    monkeypatch.setattr(store, "MAX_READ_SECONDS", 0.3)
    monkeypatch.setattr(store, "MAX_TRIALS", 10**9)
    db = tmp_path / "evil.db"
    _store_with_recursive_view(db)
    with pytest.raises(WarmStartError, match="took longer than 0.3 s"):
        load_warm_start([db], grid_space())
    monkeypatch.setattr(store, "MAX_READ_SECONDS", 30.0)
    monkeypatch.setattr(store, "MAX_TRIALS", 1000)
    with pytest.raises(WarmStartError, match="more than 1000 trials"):
        load_warm_start([db], grid_space())


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "not a regular file"),  # /dev/zero
        (b"\x00\xff\xfe binary \x00" * 100, "not UTF-8 text"),
        (b"x,y,value,status\n0.1,1,abc,completed\n", "the value 'abc' is not a number"),
        ("\u00e9t\u00e9\n1,2\n".encode("latin-1"), "not UTF-8 text"),
        (b"a,b\n1,2\n", "not a trials.csv"),
    ],
)
def test_bad_warm_start_files_are_named_errors(tmp_path: Path, content: bytes | None, words: str) -> None:
    path = Path("/dev/zero")
    if content is not None:
        path = tmp_path / "trials.csv"
        path.write_bytes(content)
    with pytest.raises(WarmStartError) as e:
        load_warm_start([path], grid_space())
    assert words in str(e.value) and "warm_start" in str(e.value)


@pytest.mark.parametrize(
    "sql, words",
    [
        ("UPDATE meta SET value='\"garbage\"' WHERE key='schema_version'", "schema_version"),
        ("UPDATE meta SET value='{not json' WHERE key='seed'", "is not JSON"),
        ("UPDATE trials SET status='exploded' WHERE number=0", "trial 0"),
        ("UPDATE trials SET params='[1, 2]' WHERE number=1", "trial 1"),
    ],
)
def test_tampered_store_is_a_named_error(quadratic_sweep, tmp_path: Path, sql: str, words: str) -> None:
    sweep_dir, _ = quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=2"])
    con = sqlite3.connect(sweep_dir / "trials.db")
    with con:
        con.execute(sql)
    con.close()
    with pytest.raises(ERRORS) as e:
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=4"],
                        sweep_dir=sweep_dir)
    assert "corrupt" in str(e.value) and words in str(e.value)
    assert not (sweep_dir / "2").exists()


def test_results_file_replaced_by_a_directory(quadratic_sweep, tmp_path: Path) -> None:
    sweep_dir, _ = quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=2"])
    (sweep_dir / "trials.csv").unlink()
    (sweep_dir / "trials.csv").mkdir()
    with pytest.raises(ERRORS, match="trials.csv is a directory"):
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=4"],
                        sweep_dir=sweep_dir)
    assert not (sweep_dir / "2").exists()


def test_storage_that_is_a_directory(quadratic_sweep, tmp_path: Path) -> None:
    with pytest.raises(ERRORS, match="is a directory or other non-file"):
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", f"hydra.sweeper.storage={tmp_path}"],
                        sweep_dir=tmp_path / "s")


def test_foreign_sqlite_database_is_not_adopted_as_the_store(tmp_path: Path) -> None:
    # Another program's database: the sweep must not add its tables (nor switch it to WAL mode).
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ann');")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match="not a trial store .*users"):
        TrialStore(db).open()
    assert db.read_bytes() == before and not (tmp_path / "other.db.lock").exists()
    # A store of our own (its tables meta and trials) still opens, and resumes.
    with TrialStore(tmp_path / "trials.db") as store:
        store.set_meta("seed", 3)
    with TrialStore(tmp_path / "trials.db") as store:
        assert store.get_meta("seed") == 3


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: SweepSettings(n_trials=1, objective="metrics..loss"), "'metrics..loss'"),
        (lambda: SweepSettings(n_trials=1, objective="loss."), "non-empty parts"),
        (lambda: EarlyStop(min_delta=float("nan")), "early_stop.min_delta must be a finite number"),
        (lambda: EarlyStop(min_delta=float("inf")), "early_stop.min_delta must be a finite number"),
    ],
)
def test_settings_that_could_never_work_are_refused(make: Any, words: str) -> None:
    with pytest.raises(SweepConfigError, match=re.escape(words)):
        make()


def test_read_only_sweep_dir_with_storage_elsewhere() -> None:
    # Root ignores permission bits, so the sweep runs as an unprivileged user here, in a folder
    # that user can reach (pytest's tmp_path lies under a folder only root may enter).
    import shutil
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="hpo-ro-", dir="/tmp"))
    try:
        _run_read_only_sweep(tmp_path)
    finally:
        (tmp_path / "ro").chmod(0o755)
        shutil.rmtree(tmp_path)


def _run_read_only_sweep(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "ro"
    sweep_dir.mkdir()
    sweep_dir.chmod(0o555)
    tmp_path.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, str(DURABLE_APP), "-m",
           f"hydra.sweep.dir={sweep_dir}", "hydra/sweeper=random", "hydra.sweeper.n_trials=2",
           f"hydra.sweeper.storage={home}/trials.db", f"hydra.run.dir={home}"]
    env = {**os.environ, "HOME": str(home), "MPLCONFIGDIR": str(home), "HYDRA_FULL_ERROR": "0"}
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, env=env)
    assert res.returncode != 0
    assert "sweep dir" in res.stdout and "is not writable" in res.stdout, res.stdout
    assert "Traceback" not in res.stdout
    assert list(sweep_dir.iterdir()) == [] and not (home / "trials.db").exists()


# --- 15 and 16 -------------------------------------------------------------------------------------


def test_console_line_shows_what_happened() -> None:
    omegaconf_text = "ConfigAttributeError: Key 'w' is not in struct\n    full_key: w\n    object_type=dict"
    assert _oneline(omegaconf_text) == "ConfigAttributeError: Key 'w' is not in struct"
    traceback_text = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom'
    assert _oneline(traceback_text) == "ValueError: boom"


def test_results_files_follow_the_umask(quadratic_sweep, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        sweep_dir, _ = quadratic_sweep(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=1"])
    finally:
        os.umask(old)
    for name in ("trials.csv", "optimization_results.yaml", "multirun.yaml"):
        assert stat.S_IMODE((sweep_dir / name).stat().st_mode) == 0o644, name


def test_early_stopped_sweep_stops_again_at_once(quadratic_sweep, tmp_path: Path) -> None:
    args = ["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=40", "hydra.sweeper.seed=0",
            "hydra.sweeper.early_stop.patience=2", "hydra.sweeper.early_stop.min_delta=100"]
    sweep_dir, _ = quadratic_sweep(args)
    first = read_results(sweep_dir)
    assert "patience 2" in first["stop_reason"]
    for _ in range(2):
        quadratic_sweep(args, sweep_dir=sweep_dir)
        again = read_results(sweep_dir)
        assert again["n_trials"] == first["n_trials"] and again["stop_reason"] == first["stop_reason"]


def test_error_text_is_bounded(tmp_path: Path) -> None:
    def launch(batch: list[Trial]) -> list[JobResult]:
        return [JobResult(error="RuntimeError: start\n" + "x" * 1_000_000 + "\nthe end") for _ in batch]

    runner = SweepLoop(create_optimizer("grid", grid_space()), BatchDriver(launch, 1), n_trials=1,
                         sweep_dir=tmp_path)
    with pytest.raises(HpoSweeperError):
        runner.run()
    error = next(iter(runner.trials)).error or ""
    assert len(error) < MAX_ERROR_CHARS + 100
    assert error.startswith("RuntimeError: start") and error.endswith("the end") and "left out" in error


def test_refused_store_leaves_no_lock_file(quadratic_sweep, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    sweep_dir.mkdir()
    (sweep_dir / "trials.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ERRORS, match="corrupt"):
        quadratic_sweep(["hydra/sweeper=random", "+search_space=quad"], sweep_dir=sweep_dir)
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["trials.db"]


def test_joblib_worker_crash_spares_its_batch_mates(tmp_path: Path) -> None:
    """Real joblib workers: a job that os._exit()s makes loky kill the whole pool. Batch-mates run
    again, each alone, and complete; only the crashing configurations fail."""
    app = Path(__file__).parent / "launcher_app" / "app.py"
    sweep_dir = tmp_path / "s"
    res = subprocess.run(
        [sys.executable, str(app), "-m", f"hydra.sweep.dir={sweep_dir}", "hydra/sweeper=random",
         "hydra/launcher=joblib", "hydra.launcher.n_jobs=3", "hydra.sweeper.batch_size=3", "hydra.sweeper.n_trials=6",
         "hydra.sweeper.seed=1", "hydra.sweeper.max_failure_rate=1.0", "hydra.sweeper.plots=false",
         "crash_above=0.7", "crash=exit", "sleep=0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, env={**os.environ,
                                                                                      "HYDRA_FULL_ERROR": "0"})
    assert res.returncode == 0, res.stdout
    rows = read_trials(sweep_dir)
    assert len(rows) == 6
    crashed = [r for r in rows if float(r["x"]) > 0.7]
    assert crashed, "seed 1 must draw some x > 0.7 for this test to mean anything"
    assert all(r["status"] == "failed" and "worker process died" in r["error"] for r in crashed)
    healthy = [r for r in rows if float(r["x"]) <= 0.7]
    assert healthy and all(r["status"] == "completed" for r in healthy)
    assert float(healthy[0]["value"]) == pytest.approx((float(healthy[0]["x"]) - 0.3) ** 2)


@pytest.mark.parametrize("option, words", [("device=123", "engine option device must be null or a platform name"),
                                           ("refit_growth=abc", "engine option refit_growth must be a number")])
def test_bad_engine_options_name_the_option(quadratic_sweep, tmp_path: Path, option: str, words: str) -> None:
    with pytest.raises(ERRORS, match=words):
        quadratic_sweep(["hydra/sweeper=bayes", "+search_space=quad", f"+hydra.sweeper.engine.{option}"],
                        sweep_dir=tmp_path / "s")
    assert not (tmp_path / "s" / "trials.db").exists()


def test_interrupted_trial_is_neither_failed_nor_counted(quadratic_sweep, tmp_path: Path) -> None:
    """Ctrl-C in a trial stops the sweep; the resumed sweep runs that trial again, uncounted."""
    from conftest import load_app

    app = load_app()

    def task(cfg: Any) -> Any:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.get().job.num == 1:
            raise KeyboardInterrupt
        return app.task(cfg)

    sweep_dir = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        quadratic_sweep(["hydra/sweeper=grid", "x=choice(0.1, 0.2, 0.3)"], task=task, sweep_dir=sweep_dir)
    assert not (sweep_dir / ".hpo_sweeper" / "jobs" / "1.json").exists()
    assert not (sweep_dir / ".hpo_sweeper" / "jobs" / "1.started").exists()
    quadratic_sweep(["hydra/sweeper=grid", "x=choice(0.1, 0.2, 0.3)"], sweep_dir=sweep_dir)
    rows = read_trials(sweep_dir)
    assert [r["status"] for r in rows] == ["completed"] * 3
    con = sqlite3.connect(sweep_dir / "trials.db")
    assert con.execute("SELECT value FROM meta WHERE key='deaths'").fetchone() is None
    con.close()
