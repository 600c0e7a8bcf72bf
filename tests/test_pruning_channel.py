"""The report files (hpo_sweeper/pruning/channel.py) and the task-side API outside a sweep."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hpo_sweeper
from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning import PrunerSettings
from hpo_sweeper.pruning.channel import (
    ChannelConfig,
    ChannelError,
    CurveReader,
    append_pruned,
    append_report,
    pruner_path,
    read_curves,
    read_pruner_file,
    report_path,
    write_pruner_file,
)

APP = Path(__file__).parent / "pruning_app" / "app.py"


def test_reports_round_trip_and_a_rerun_starts_the_curve_again(tmp_path: Path) -> None:
    append_report(tmp_path, 3, 1, 0.5, 10.0)
    append_report(tmp_path, 3, 2, math.inf, 11.0)
    append_pruned(tmp_path, 3, 2, 11.5)
    c = read_curves(tmp_path)[3]
    assert [(r.step, r.time) for r in c.reports] == [(1, 10.0), (2, 11.0)]
    assert c.reports[0].value == 0.5 and math.isnan(c.reports[1].value)
    assert c.pruned_time == 11.5
    append_report(tmp_path, 3, 1, 0.4, 20.0)  # the trial ran again after its process died
    c = read_curves(tmp_path)[3]
    assert [(r.step, r.value) for r in c.reports] == [(1, 0.4)] and c.pruned_time is None
    assert len(report_path(tmp_path, 3).read_text().splitlines()) == 4  # nothing rewritten


def test_reader_reads_only_complete_lines_and_only_what_was_appended(tmp_path: Path) -> None:
    reader = CurveReader(tmp_path)
    assert reader.read() == {}
    append_report(tmp_path, 0, 1, 0.5, 1.0)
    path = report_path(tmp_path, 0)
    with open(path, "ab") as f:
        f.write(b'{"step": 2, "value": 0.')  # a writer caught mid-line
    assert [r.step for r in reader.read()[0].reports] == [1]
    with open(path, "ab") as f:
        f.write(b'4, "time": 2.0}\nnot json\n')
    assert [(r.step, r.value) for r in reader.read()[0].reports] == [(1, 0.5), (2, 0.4)]
    (path.parent / "notes.txt").write_text("x")  # other files in the folder are not trials
    assert list(reader.read()) == [0]


def test_pruner_file_round_trip_and_bad_files(tmp_path: Path) -> None:
    assert read_pruner_file(tmp_path) is None
    config = ChannelConfig(PrunerSettings.from_mapping({"type": "asha", "max_resource": 27}), Direction.MAXIMIZE,
                           "metrics.acc")
    write_pruner_file(tmp_path, config)
    assert read_pruner_file(tmp_path) == config
    assert ChannelConfig(config.pruner, "maximize", "metrics.acc") == config
    assert [p.name for p in pruner_path(tmp_path).parent.iterdir()] == ["pruner.json"]  # no temp file left
    pruner_path(tmp_path).write_text("{")
    with pytest.raises(ChannelError, match="is not JSON"):
        read_pruner_file(tmp_path)
    pruner_path(tmp_path).write_text('{"version": 1, "pruner": {"type": "asha", "reduction_factor": 1}}')
    with pytest.raises(ChannelError, match="pruner.reduction_factor must be an integer >= 2"):
        read_pruner_file(tmp_path)
    pruner_path(tmp_path).write_text('{"version": 1, "pruner": {}, "direction": "down"}')
    with pytest.raises(ChannelError, match="direction must be one of"):
        read_pruner_file(tmp_path)


def test_reports_are_never_written_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "sweep" / ".hpo_sweeper").mkdir(parents=True)
    os.symlink(target, tmp_path / "sweep" / ".hpo_sweeper" / "reports")
    with pytest.raises(OSError, match="symbolic link"):
        append_report(tmp_path / "sweep", 0, 1, 0.5, 1.0)
    assert list(target.iterdir()) == []


def test_report_and_should_prune_do_nothing_outside_hydra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert hpo_sweeper.report(0.5, step=1) is None
    assert hpo_sweeper.report("not even a number", step=-1) is None  # nothing is looked at
    assert hpo_sweeper.should_prune() is False
    assert list(tmp_path.iterdir()) == []


def test_plain_hydra_run_is_unchanged(tmp_path: Path) -> None:
    """A single run (no -m): every step runs, the task returns, no report file is written."""
    res = subprocess.run([sys.executable, str(APP), f"hydra.run.dir={tmp_path / 'run'}", "x=0.9"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert not list(tmp_path.rglob(".hpo_sweeper"))
