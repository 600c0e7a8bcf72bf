"""What a sweep keeps, unit by unit and without Hydra: the trials.csv codec (written by the
results, read by warm start and the report), the store, and job records."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo_sweeper.files import atomic_write
from hpo_sweeper.job_records import (
    JobRecord,
    job_started,
    recover_result,
    write_job_record,
    write_job_started,
)
from hpo_sweeper.plots import load_sweep
from hpo_sweeper.results import write_results
from hpo_sweeper.space import Kind, Parameter, SearchSpace
from hpo_sweeper.store import TrialStore, load_trials
from hpo_sweeper.trials import Trial, TrialStatus
from hpo_sweeper.trials_csv import TrialsCsvError, read_rows, to_text
from hpo_sweeper.warm_start import WarmStartError, load_warm_start

SPACE = SearchSpace((
    Parameter("lr", Kind.FLOAT, low=1e-4, high=1.0, log=True),
    Parameter("depth", Kind.INT, low=1, high=4),
    Parameter("act", Kind.CATEGORICAL, choices=("relu", None, True, 3)),
    Parameter("status", Kind.CATEGORICAL, choices=("a", "b")),  # a trial column's name
), {})

TRIALS = [
    Trial(0, {"lr": 0.001, "depth": 2, "act": "relu", "status": "a"}, TrialStatus.COMPLETED, 0.5,
          started_at=1_700_000_000.0, duration_s=1.25),
    Trial(1, {"lr": 0.1, "depth": 4, "act": None, "status": "b"}, TrialStatus.FAILED, None, "ValueError: x, \"y\"\nz"),
    Trial(2, {"lr": 0.01, "depth": 1, "act": True, "status": "a"}, TrialStatus.PRUNED),
    Trial(3, {"lr": 0.02, "depth": 3, "act": 3, "status": "b"}, TrialStatus.RUNNING),
]


def test_trials_csv_reads_back_typed_through_the_space(tmp_path: Path) -> None:
    path = tmp_path / "trials.csv"
    path.write_text(to_text(TRIALS, SPACE.names))
    rows = list(read_rows(path, SPACE))
    assert [r.params for r in rows] == [t.params for t in TRIALS]
    assert [(r.number, r.status, r.value, r.error) for r in rows] == [
        (t.number, t.status.value, t.value, t.error) for t in TRIALS
    ]
    assert next(iter(path.open())).startswith("number,lr,depth,act,params.status,value,status,")


def test_the_report_and_warm_start_read_what_the_results_write(tmp_path: Path) -> None:
    write_results(tmp_path, TRIALS, SPACE.names, name="s", direction="minimize", objective=None)
    data = load_sweep(tmp_path)  # no store here: read from trials.csv, types guessed
    assert [(t.number, t.status, t.value) for t in data.trials] == [(t.number, t.status, t.value) for t in TRIALS]
    assert data.trials[1].params == {"lr": 0.1, "depth": 4, "act": None, "status": "b"}
    warm = load_warm_start([tmp_path / "trials.csv"], SPACE)
    # Completed and failed trials seed the optimiser (failed as None); pruned and running do not.
    assert warm == [(TRIALS[0].params, 0.5), (TRIALS[1].params, None)]


def test_a_bad_value_cell_is_a_named_error(tmp_path: Path) -> None:
    path = tmp_path / "trials.csv"
    path.write_text("number,lr,value,status\n0,0.1,low,completed\n")
    with pytest.raises(TrialsCsvError, match="line 2: the value 'low' is not a number"):
        list(read_rows(path, SPACE))
    with pytest.raises(WarmStartError, match="warm_start: .*line 2"):
        load_warm_start([path], SPACE)


def test_the_store_keeps_every_status_and_never_reuses_a_number(tmp_path: Path) -> None:
    db = tmp_path / "trials.db"
    with TrialStore(db) as store:
        for t in TRIALS:
            store.add(t)
        store.remove(3)
        assert store.next_number() == 4  # 3 was handed out: its job dir may exist
    trials, meta = load_trials(db)
    assert [(t.number, t.status, t.params) for t in trials] == [(t.number, t.status, t.params) for t in TRIALS[:3]]
    assert meta["max_number"] == 3
    with TrialStore(db) as store:
        assert store.next_number() == 4


def test_job_records_tell_started_from_finished(tmp_path: Path) -> None:
    assert not job_started(tmp_path, 7) and recover_result(tmp_path, 7) is None
    write_job_started(tmp_path, 7)
    assert job_started(tmp_path, 7) and recover_result(tmp_path, 7) is None  # started, never finished
    write_job_record(tmp_path, 7, JobRecord(10.0, 2.0, returned={"loss": 0.25}))
    found = recover_result(tmp_path, 7)
    assert found is not None and found.returned == {"loss": 0.25} and found.duration_s == 2.0
    write_job_record(tmp_path, 8, JobRecord(10.0, 2.0, returned=object()))  # not storable as JSON
    assert job_started(tmp_path, 8) and recover_result(tmp_path, 8) is None  # must run again


def test_atomic_write_replaces_a_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("keep")
    link = tmp_path / "results.yaml"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert target.read_text() == "keep" and not link.is_symlink() and link.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.yaml", "victim"]  # no temp file left
