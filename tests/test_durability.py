"""Durable sweeps, tested with real subprocesses and real kills (issue 5)."""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

APP = Path(__file__).parent / "durable_app" / "app.py"


def sweep_cmd(sweep_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", *overrides]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    """Run a command; its log lines and errors both end up in ``.stdout``."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, env=env, **kw)


def read_trials(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def results(sweep_dir: Path) -> dict:
    return yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())


def test_sigkill_mid_batch_then_resume(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    cmd = sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=12", "hydra.sweeper.batch_size=4",
                    "hydra.sweeper.seed=3", "sleep=0.4")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill once trial 5 (second of the second batch) has finished: trials 4 and 5 are done but the
    # basic launcher has not returned the batch, trial 6 is running and 7 has not started.
    record = sweep_dir / ".hpo_sweeper" / "jobs" / "5.json"
    deadline = time.time() + 120
    while not record.exists():
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert time.time() < deadline, "trial 5 never finished"
        time.sleep(0.02)
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    before = {r["number"]: r for r in read_trials(sweep_dir)}
    completed_before = {n: r for n, r in before.items() if r["status"] == "completed"}
    # trials.csv may lag the store by up to loop.RESULTS_INTERVAL_S (a batch of these 0.4 s trials
    # is faster than that), so it lists at most the first batch; the store holds all of it.
    assert set(completed_before) <= {"0", "1", "2", "3"}
    db = sqlite3.connect(sweep_dir / "trials.db")
    statuses = dict(db.execute("SELECT number, status FROM trials").fetchall())
    db.close()
    assert [statuses[n] for n in range(0, 8)] == ["completed"] * 4 + ["running"] * 4

    second = run(cmd)
    assert second.returncode == 0, second.stdout
    after = read_trials(sweep_dir)
    finished = [r for r in after if r["status"] in ("completed", "failed")]
    assert len(after) == len(finished) == 12  # exactly n_trials, no leftovers
    numbers = [int(r["number"]) for r in after]
    assert len(set(numbers)) == 12
    # Trials completed before the kill keep their values...
    by_number = {r["number"]: r for r in after}
    for n, r in completed_before.items():
        assert by_number[n]["value"] == r["value"] and by_number[n]["x"] == r["x"]
    # ...and so do 4 and 5, recovered from their job records rather than rerun.
    assert by_number["4"]["status"] == by_number["5"]["status"] == "completed"
    assert "Recovered the result of trial 4" in second.stdout
    # 6 and 7 ran again under new numbers: no job number (and so no job directory) is reused.
    assert "6" not in by_number and "7" not in by_number
    assert max(numbers) == 13
    assert "Resuming" in second.stdout


def test_second_sweeper_on_same_store_is_refused(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    cmd = sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=6", "sleep=0.5")
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (sweep_dir / ".hpo_sweeper" / "jobs" / "0.json").exists():
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.02)
        second = run(cmd)
        assert second.returncode != 0
        assert "in use by another sweep" in second.stdout
    finally:
        assert first.wait(timeout=120) == 0
    rows = read_trials(sweep_dir)
    assert len(rows) == 6 and all(r["status"] == "completed" for r in rows)


def test_changed_space_is_refused_and_store_untouched(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    assert run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=3")).returncode == 0
    db = sweep_dir / "trials.db"
    snapshot = _table_dump(db)
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=5", "x=interval(0, 2)"))
    assert res.returncode != 0
    assert "search space differs" in res.stdout and "x changed from" in res.stdout
    assert _table_dump(db) == snapshot
    assert not (sweep_dir / "3").exists()
    # Explicitly allowed: the sweep resumes with the new space and extends to 5 trials.
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=5", "x=interval(0, 2)",
                        "hydra.sweeper.allow_space_change=true"))
    assert res.returncode == 0, res.stdout
    assert len(read_trials(sweep_dir)) == 5


def test_raising_n_trials_extends_a_finished_sweep(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    base = ["hydra/sweeper=random", "hydra.sweeper.seed=1"]
    assert run(sweep_cmd(sweep_dir, *base, "hydra.sweeper.n_trials=3")).returncode == 0
    first = read_trials(sweep_dir)
    res = run(sweep_cmd(sweep_dir, *base, "hydra.sweeper.n_trials=5"))
    assert res.returncode == 0, res.stdout
    rows = read_trials(sweep_dir)
    assert [r["number"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[:3] == first
    # The resumed random stream continues: no configuration of the first run is proposed again.
    assert {r["x"] for r in rows[3:]}.isdisjoint({r["x"] for r in first})


def test_corrupt_store_is_reported_and_kept(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    assert run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=2")).returncode == 0
    db = sweep_dir / "trials.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])  # truncated
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=4"))
    assert res.returncode != 0
    assert "corrupt or truncated" in res.stdout
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert not (sweep_dir / "2").exists()


def test_store_from_newer_version_is_refused(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    assert run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=2")).returncode == 0
    con = sqlite3.connect(sweep_dir / "trials.db")
    with con:
        con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.close()
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=4"))
    assert res.returncode != 0
    assert "newer hpo_sweeper" in res.stdout
    assert len(read_trials(sweep_dir)) == 2


def test_read_only_sweep_dir_is_a_clear_error() -> None:
    # Root ignores permission bits, so the sweep runs as an unprivileged user here, in a folder that
    # user can reach (pytest's tmp_path lies under a folder only root may enter).
    import shutil
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="hpo-ro-", dir="/tmp"))
    try:
        _read_only_sweep(tmp_path)
    finally:
        (tmp_path / "ro").chmod(0o755)
        shutil.rmtree(tmp_path)


def _read_only_sweep(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "ro"
    sweep_dir.mkdir()
    sweep_dir.chmod(0o555)
    tmp_path.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o777)
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *sweep_cmd(sweep_dir, "hydra/sweeper=random",
           "hydra.sweeper.n_trials=2", f"hydra.run.dir={home}")]
    env = {**os.environ, "HOME": str(home), "MPLCONFIGDIR": str(home)}
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, env=env)
    assert res.returncode != 0
    assert "not writable" in res.stdout, res.stdout
    assert "Traceback" not in res.stdout
    assert list(sweep_dir.iterdir()) == []


def test_enqueue_and_warm_start_shape_the_first_trials(tmp_path: Path) -> None:
    first_dir = tmp_path / "first"
    res = run(sweep_cmd(first_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=12", "hydra.sweeper.seed=0",
                        "y=0"))
    assert res.returncode == 0, res.stdout
    second_dir = tmp_path / "second"
    res = run(sweep_cmd(
        second_dir, "hydra/sweeper=bayes", "hydra.sweeper.backend=skopt", "hydra.sweeper.n_trials=3",
        "hydra.sweeper.seed=0", "y=0",
        f"hydra.sweeper.warm_start=[{first_dir}]",
        "hydra.sweeper.enqueue=[{x: 0.123}]",
    ))
    assert res.returncode == 0, res.stdout
    rows = read_trials(second_dir)
    assert float(rows[0]["x"]) == 0.123  # the enqueued trial runs first
    assert "Warm start" in res.stdout and "12 of 12 trials fit" in res.stdout
    # With 12 earlier results the GP is used at once: its proposals home in on the optimum x=0.3
    # (a space-filling design would spread over [0, 1]). 0.15 is loose: the GP lands within a few
    # hundredths on this 1-D quadratic.
    assert all(abs(float(r["x"]) - 0.3) < 0.15 for r in rows[1:]), rows
    assert len(rows) == 3  # warm-start trials do not count toward n_trials


def test_enqueue_outside_space_fails_before_any_job(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=3", "hydra.sweeper.enqueue=[{x: 7}]"))
    assert res.returncode != 0
    assert "enqueue[0]" in res.stdout and "parameter 'x'" in res.stdout
    assert not (sweep_dir / "0").exists()


@pytest.mark.parametrize(
    "rule, reason",
    [
        (["hydra.sweeper.early_stop.target=0.05"], "reached the target"),
        (["hydra.sweeper.early_stop.patience=3", "hydra.sweeper.early_stop.min_delta=0.5"], "patience 3"),
    ],
)
def test_early_stopping(tmp_path: Path, rule: list[str], reason: str) -> None:
    sweep_dir = tmp_path / "sweep"
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=60", "hydra.sweeper.seed=0",
                        "y=0", *rule))
    assert res.returncode == 0, res.stdout
    summary = results(sweep_dir)
    assert reason in summary["stop_reason"]
    assert reason in res.stdout
    assert summary["n_trials"] < 60


def test_report_prints_table_and_writes_plots(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=6", "hydra.sweeper.plots=false"))
    assert res.returncode == 0, res.stdout
    assert not (sweep_dir / "convergence.png").exists()
    rep = run([sys.executable, "-m", "hpo_sweeper", "report", str(sweep_dir), "--top", "3"])
    assert rep.returncode == 0, rep.stdout
    summary = results(sweep_dir)
    assert f"Best trial {summary['best_trial']}" in rep.stdout
    assert "Top 3 trials" in rep.stdout
    for name in ("convergence.png", "params.png"):
        png = (sweep_dir / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_sweep_writes_plots_at_the_end(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    res = run(sweep_cmd(sweep_dir, "hydra/sweeper=random", "hydra.sweeper.n_trials=4"))
    assert res.returncode == 0, res.stdout
    assert (sweep_dir / "convergence.png").exists() and (sweep_dir / "params.png").exists()


def _table_dump(db: Path) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT * FROM trials ORDER BY number").fetchall() + con.execute(
            "SELECT * FROM meta ORDER BY key").fetchall()
    finally:
        con.close()


def test_a_finished_grid_runs_again_and_keeps_the_earlier_run(quadratic_sweep, tmp_path: Path) -> None:
    """As with Hydra's basic sweeper, the same grid command into the same sweep dir runs the grid
    again, numbered from 0 (hydra-core's IntegrationTestSuite relies on it); the earlier run is
    moved to .hpo_sweeper/previous/1, whole, never overwritten. An unfinished grid resumes instead."""
    sweep_dir = tmp_path / "grid"
    args = ["hydra/sweeper=grid", "x=0.1,0.2", "y=1"]
    quadratic_sweep(args, sweep_dir=sweep_dir)
    first = (sweep_dir / "trials.csv").read_text()
    first_job_config = (sweep_dir / "0" / ".hydra" / "overrides.yaml").read_text()
    (sweep_dir / "0" / "mine.txt").write_text("written by job 0 of the first run")
    quadratic_sweep(args, sweep_dir=sweep_dir)
    previous = sweep_dir / ".hpo_sweeper" / "previous" / "1"
    assert (previous / "trials.csv").read_text() == first
    assert (previous / "0" / "mine.txt").read_text() == "written by job 0 of the first run"
    assert (previous / "0" / ".hydra" / "overrides.yaml").read_text() == first_job_config
    assert (previous / "trials.db").is_file() and (previous / "jobs").is_dir()
    # The new run: jobs 0 and 1 again, in fresh job dirs, with its own store and results.
    assert not (sweep_dir / "0" / "mine.txt").exists()
    rows = list(csv.DictReader(open(sweep_dir / "trials.csv", newline="")))
    assert [(r["number"], r["x"], r["status"]) for r in rows] == [("0", "0.1", "completed"), ("1", "0.2", "completed")]
    assert yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())["n_completed"] == 2
    # A third run moves the second aside too, and the first stays where it was.
    quadratic_sweep(args, sweep_dir=sweep_dir)
    assert (sweep_dir / ".hpo_sweeper" / "previous" / "2" / "trials.csv").read_text().count("\n") == 3
    assert (previous / "trials.csv").read_text() == first


def test_a_grid_killed_after_its_last_job_resumes_instead_of_running_again(quadratic_sweep, tmp_path: Path) -> None:
    """Every point run, but the run did not end by itself (killed before writing its results: the
    store's ended_by_itself is still false): the next run resumes, runs nothing, and ends."""
    sweep_dir = tmp_path / "grid"
    args = ["hydra/sweeper=grid", "x=0.1,0.2", "y=1"]
    quadratic_sweep(args, sweep_dir=sweep_dir)
    con = sqlite3.connect(sweep_dir / "trials.db")
    with con:
        assert con.execute("SELECT value FROM meta WHERE key = 'ended_by_itself'").fetchone() == ("true",)
        con.execute("UPDATE meta SET value = 'false' WHERE key = 'ended_by_itself'")  # as a kill leaves it
    con.close()
    (sweep_dir / "optimization_results.yaml").unlink()  # killed before the results were written
    (sweep_dir / "0" / "mine.txt").write_text("written by job 0")
    quadratic_sweep(args, sweep_dir=sweep_dir)
    assert not (sweep_dir / ".hpo_sweeper" / "previous").exists()
    assert (sweep_dir / "0" / "mine.txt").read_text() == "written by job 0"
    summary = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert summary["n_completed"] == 2
    # This run ended by itself: the same command now runs the grid again.
    quadratic_sweep(args, sweep_dir=sweep_dir)
    assert (sweep_dir / ".hpo_sweeper" / "previous" / "1" / "0" / "mine.txt").is_file()
