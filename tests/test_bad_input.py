"""Bad input fails before the first job, with a message naming the parameter and the problem.

Every case runs the quadratic test app with ``marker_dir`` set: a job that ran would
have left ``job<N>.json`` there. A few cases run as real ``python app.py -m ...``
processes to check what a user sees on the terminal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import job_dirs, run_app_subprocess
from hydra.errors import HydraException

from hpo_sweeper.errors import HpoSweeperError

SWEEP_ERRORS = (HydraException, HpoSweeperError)

# (overrides, words the message must contain: the parameter, then the problem)
BAD = {
    "interval-low-above-high": (["hydra/sweeper=random", "x=interval(5, 1)"], ["'x'", "low must be smaller than high"]),
    "interval-low-above-high-yaml": (["hydra/sweeper=random", "+search_space=bad_interval"],
                                     ["'x'", "low must be smaller than high"]),
    "log-from-zero": (["hydra/sweeper=random", "x=tag(log, interval(0, 1))"], ["'x'", "log scale needs bounds > 0"]),
    "log-negative-int": (["hydra/sweeper=grid", "a=tag(log, int(interval(-2, 8)))"], ["'a'", "log scale needs bounds > 0"]),
    "log-from-zero-dict": (["hydra/sweeper=random", "+search_space=bad_log"], ["'x'", "log scale needs bounds > 0"]),
    "empty-choice-command-line": (["hydra/sweeper=grid", "value=choice()"], ["value", "empty choice"]),
    "empty-choice-yaml": (["hydra/sweeper=random", "+search_space=bad_empty"], ["'value'", "empty choice"]),
    "unknown-dict-type": (["hydra/sweeper=random", "+search_space=bad_type"], ["'x'", "unknown type 'floaty'"]),
    "direction-up": (["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.direction=up"], ["direction", "'up'"]),
    "direction-up-grid": (["hydra/sweeper=grid", "a=1,2", "hydra.sweeper.direction=up"], ["direction", "'up'"]),
    "n_trials-0": (["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=0"], ["n_trials", ">= 1", "0"]),
    "n_trials-0-grid": (["hydra/sweeper=grid", "a=1,2", "hydra.sweeper.n_trials=0"], ["n_trials", ">= 1", "0"]),
    "batch_size-0": (["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.batch_size=0"], ["batch_size", ">= 1", "0"]),
    "max_failure_rate-2": (["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.max_failure_rate=2"],
                           ["max_failure_rate", "[0, 1]", "2"]),
    "unknown-sampler": (["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.sampler=sobolev"],
                        ["sampler", "'sobolev'"]),
    "grid_points-0": (["hydra/sweeper=grid", "x=interval(0, 1)", "hydra.sweeper.grid_points=0"], ["grid_points", "0"]),
    "random-without-parameters": (["hydra/sweeper=random", "x=0.5"], ["search space is empty"]),
    # A swept key the config lacks (a typo): every job config is composed before the first launch.
    "typo-in-swept-key": (["hydra/sweeper=grid", "a=1,2", "valeu=3,4"], ["cannot be composed", "valeu"]),
    "typo-in-searched-key": (["hydra/sweeper=random", "+search_space=quad", "xx=interval(0, 1)"],
                             ["cannot be composed", "xx"]),
}


def assert_nothing_ran(sweep_dir: Path, markers: Path) -> None:
    assert not markers.exists() or not any(markers.iterdir()), "a job ran"
    assert job_dirs(sweep_dir) == [], "a job directory was created"
    trials = sweep_dir / "trials.csv"
    assert not trials.exists() or len(trials.read_text().strip().splitlines()) <= 1, "a trial was recorded"


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_fails_before_any_job(quadratic_sweep, tmp_path: Path, case: str) -> None:
    overrides, words = BAD[case]
    markers, sweep_dir = tmp_path / "markers", tmp_path / "sweep"
    with pytest.raises(SWEEP_ERRORS) as e:
        quadratic_sweep([*overrides, f"marker_dir={markers}"], sweep_dir=sweep_dir)
    msg = str(e.value)
    for word in words:
        assert word in msg, msg
    assert_nothing_ran(sweep_dir, markers)


# Through a real process: the message on stderr, a non-zero exit, and no traceback.
SUBPROCESS_CASES = ["interval-low-above-high", "unknown-dict-type", "direction-up", "n_trials-0", "empty-choice-yaml"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_from_the_command_line(tmp_path: Path, case: str) -> None:
    overrides, words = BAD[case]
    markers, sweep_dir = tmp_path / "markers", tmp_path / "sweep"
    proc = run_app_subprocess([*overrides, f"marker_dir={markers}", f"hydra.sweep.dir={sweep_dir}",
                               "hydra.sweeper.plots=false"])
    assert proc.returncode != 0
    for word in words:
        assert word in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr  # a message for the user, not a crash
    assert_nothing_ran(sweep_dir, markers)


def test_a_good_run_of_the_same_app_does_run_jobs(tmp_path: Path) -> None:
    """The control: the checks above would notice a job that ran."""
    markers, sweep_dir = tmp_path / "markers", tmp_path / "sweep"
    proc = run_app_subprocess(["hydra/sweeper=random", "+search_space=quad", "hydra.sweeper.n_trials=2",
                               f"marker_dir={markers}", f"hydra.sweep.dir={sweep_dir}", "hydra.sweeper.plots=false"])
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in markers.iterdir()) == ["job0.json", "job1.json"]
    assert [p.name for p in job_dirs(sweep_dir)] == ["0", "1"]
