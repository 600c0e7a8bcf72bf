"""The results files (hpo_sweeper.results): optimization_results.yaml and trials.csv."""

from __future__ import annotations

import csv
import io
import math
import os
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from hpo_sweeper.results import RESULTS_FILE, TRIALS_FILE, best_trial, trials_csv_text, write_results
from hpo_sweeper.trials import Trial, TrialStatus

NAMES = ["optim.lr", "model.activation", "flag", "maybe"]
T0 = 1_700_000_000.25  # 2023-11-14T22:13:20.250+00:00


def trials() -> list[Trial]:
    done, failed, running = TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.RUNNING
    return [
        Trial(0, {"optim.lr": 1e-05, "model.activation": "relu", "flag": True, "maybe": None}, done, 0.5,
              started_at=T0, duration_s=1.23456, job_dir="/sweep/0"),
        Trial(1, {"optim.lr": 0.1, "model.activation": "a, b", "flag": False, "maybe": 1}, failed, None,
              error='RuntimeError: boom, "quoted"\nsecond line', started_at=T0 + 2, duration_s=0.5, job_dir="/sweep/1"),
        Trial(2, {"optim.lr": 0.001, "model.activation": "tanh", "flag": True, "maybe": None}, done, 0.125,
              started_at=T0 + 3, duration_s=2.0, job_dir="/sweep/2"),
        Trial(3, {"optim.lr": 0.01, "model.activation": "gelu", "flag": False, "maybe": 1}, done, 0.75,
              started_at=T0 + 4, duration_s=1.0, job_dir="/sweep/3"),
        Trial(4, {"optim.lr": 0.02, "model.activation": "silu", "flag": True, "maybe": None}, running,
              started_at=T0 + 5, job_dir=None),
    ]


def write(tmp_path: Path, ts=None, direction="minimize", **kw):
    return write_results(tmp_path, ts if ts is not None else trials(), NAMES, name="train", direction=direction,
                         objective="metrics.val_loss", **kw)


def test_optimization_results_yaml(tmp_path: Path) -> None:
    summary = write(tmp_path)
    data = yaml.safe_load((tmp_path / RESULTS_FILE).read_text())
    assert data == summary
    assert data["name"] == "train"
    assert data["best_trial"] == 2
    assert data["best_value"] == 0.125
    assert data["best_params"] == {"optim.lr": 0.001, "model.activation": "tanh", "flag": True, "maybe": None}
    assert data["best_job_dir"] == "/sweep/2"
    assert data["n_completed"] == 3
    assert data["n_failed"] == 1
    assert data["direction"] == "minimize" and data["objective"] == "metrics.val_loss"


def test_maximize_picks_the_largest(tmp_path: Path) -> None:
    data = write(tmp_path, direction="maximize")
    assert data["best_trial"] == 3 and data["best_value"] == 0.75
    assert yaml.safe_load((tmp_path / RESULTS_FILE).read_text())["best_trial"] == 3


def test_best_trial_ties_go_to_the_earlier_trial_and_failures_never_win() -> None:
    ts = [
        Trial(0, {}, TrialStatus.FAILED, None, error="x"),
        Trial(1, {}, TrialStatus.COMPLETED, 1.0),
        Trial(2, {}, TrialStatus.COMPLETED, 1.0),
        Trial(3, {}, TrialStatus.RUNNING),
    ]
    assert best_trial(ts, "minimize").number == 1
    assert best_trial(ts, "maximize").number == 1
    assert best_trial([ts[0], ts[3]], "minimize") is None


def test_no_completed_trial_gives_null_best(tmp_path: Path) -> None:
    ts = [Trial(0, {"optim.lr": 0.1}, TrialStatus.FAILED, error="boom")]
    data = write_results(tmp_path, ts, ["optim.lr"], name="x", direction="minimize", objective=None)
    assert data["best_trial"] is None and data["best_value"] is None and data["best_params"] is None
    assert data["best_job_dir"] is None
    assert data["n_completed"] == 0 and data["n_failed"] == 1


def test_trials_csv(tmp_path: Path) -> None:
    write(tmp_path)
    with open(tmp_path / TRIALS_FILE, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
        f.seek(0)
        rows = list(csv.DictReader(f))
    assert header == ["number", *NAMES, "value", "status", "error", "duration_s", "started_at"]
    assert [r["number"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert [r["status"] for r in rows] == ["completed", "failed", "completed", "completed", "running"]
    r0, r1, r2, _, r4 = rows
    # values written so they read back exactly, exponent form kept
    assert r0["optim.lr"] == "1e-05" and float(r0["optim.lr"]) == 1e-05
    assert r0["model.activation"] == "relu" and r0["flag"] == "true" and r0["maybe"] == "null"
    assert r1["model.activation"] == "a, b" and r1["flag"] == "false" and r1["maybe"] == "1"
    assert float(r0["value"]) == 0.5 and float(r2["value"]) == 0.125
    assert r1["value"] == "" and r4["value"] == ""
    assert r1["error"] == 'RuntimeError: boom, "quoted"\nsecond line'  # CSV quoting keeps it whole
    assert r0["error"] == ""
    assert float(r0["duration_s"]) == pytest.approx(1.235, abs=1e-3) and r4["duration_s"] == ""
    assert datetime.fromisoformat(r0["started_at"]).timestamp() == pytest.approx(T0, abs=1e-3)
    assert datetime.fromisoformat(r0["started_at"]).utcoffset() is not None  # a time zone is stated


def test_trials_csv_keeps_params_not_in_the_space() -> None:
    ts = [Trial(0, {"a": 1, "extra": "x"}, TrialStatus.COMPLETED, 1.0)]
    header = next(csv.reader(io.StringIO(trials_csv_text(ts, ["a"]))))
    assert header[:3] == ["number", "a", "extra"]


def test_values_read_back_exactly(tmp_path: Path) -> None:
    v = 0.1 + 0.2  # 0.30000000000000004: the CSV must not round it
    ts = [Trial(0, {"optim.lr": 1 / 3, "model.activation": "x", "flag": True, "maybe": None}, TrialStatus.COMPLETED, v)]
    write(tmp_path, ts)
    row = list(csv.DictReader(open(tmp_path / TRIALS_FILE, newline="")))[0]
    assert float(row["value"]) == v and float(row["optim.lr"]) == 1 / 3
    assert yaml.safe_load((tmp_path / RESULTS_FILE).read_text())["best_value"] == v


def test_nan_param_is_null_in_yaml(tmp_path: Path) -> None:
    ts = [Trial(0, {"optim.lr": math.nan, "model.activation": "x", "flag": True, "maybe": None}, TrialStatus.COMPLETED, 1.0)]
    write(tmp_path, ts)
    data = yaml.safe_load((tmp_path / RESULTS_FILE).read_text())
    assert data["best_params"]["optim.lr"] is None


# --- atomic rewrite -----------------------------------------------------------------------------


def test_rewrite_replaces_the_file_rather_than_truncating_it(tmp_path: Path) -> None:
    write(tmp_path, trials()[:2])
    old_yaml, old_csv = (tmp_path / RESULTS_FILE).read_text(), (tmp_path / TRIALS_FILE).read_text()
    # A reader that opened the files before the rewrite (say, a dashboard polling them)...
    with open(tmp_path / RESULTS_FILE) as yaml_reader, open(tmp_path / TRIALS_FILE) as csv_reader:
        write(tmp_path)
        # ...still reads the whole previous version, never a truncated or half-written one.
        assert yaml_reader.read() == old_yaml
        assert csv_reader.read() == old_csv
    assert yaml.safe_load((tmp_path / RESULTS_FILE).read_text())["n_completed"] == 3
    assert len(list(csv.DictReader(open(tmp_path / TRIALS_FILE, newline="")))) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([RESULTS_FILE, TRIALS_FILE])  # no temp files


def test_a_failed_write_leaves_the_previous_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, trials()[:2])
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}

    def full_disk(fd: int) -> None:  # the disk fills up while the new version is being written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write(tmp_path)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before  # old files intact, no temp files


def test_write_creates_the_sweep_dir(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b" / RESULTS_FILE).exists() and (tmp_path / "a" / "b" / TRIALS_FILE).exists()
