"""Smoke tests of the Bayesmark-style suite (benchmarks/bayesmark/): the tasks are well formed, the
logit warping round-trips, the score follows its definition, and one tiny run of two methods and the
report go through. No thresholds on optimisation quality (that is the benchmark's job)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bayesmark.models import MODEL_NAMES, logistic, logit, unwarp
from benchmarks.bayesmark.run import Job, run_job
from benchmarks.bayesmark.score import aggregate, references, task_scores
from benchmarks.bayesmark.tasks import ALL_TASKS, get_task


def test_the_grid_is_bayesmarks():
    assert len(ALL_TASKS) == 90  # 9 models x (4 classification datasets + 1 regression) x 2 metrics
    assert {t.split("_")[0] for t in ALL_TASKS} == set(MODEL_NAMES)
    with pytest.raises(KeyError, match="unknown task"):
        get_task("SVM_boston_mse")


def test_spaces_translate_for_every_tool():
    from hpo_sweeper import SearchSpace

    for name in ALL_TASKS:
        p = get_task(name).problem()
        space = SearchSpace.from_config(p.space_config())
        assert space.names == [q.name for q in p.params]
        assert len(p.skopt_dimensions()) == p.dim


def test_logit_parameters_are_searched_warped_and_unwarped_into_range():
    task = get_task("DT_wine_acc")
    spec = {sp.name: sp for sp in task.spec.space}
    p = {q.name: q for q in task.problem().params}
    assert p["max_features"].low == pytest.approx(logit(0.01)) and p["max_features"].high == pytest.approx(logit(0.99))
    assert logistic(logit(0.3)) == pytest.approx(0.3)
    lows = unwarp(task.spec.space, {n: (q.low if q.kind != "cat" else q.choices[0]) for n, q in p.items()})
    assert lows["max_features"] == pytest.approx(spec["max_features"].low)
    assert isinstance(lows["max_depth"], int)


def test_a_task_is_deterministic_and_a_failing_fit_gets_the_dummy_loss():
    task = get_task("kNN_iris_acc")
    v = task({"n_neighbors": 5, "p": 2})
    assert 0.0 <= v < 0.2 and task({"n_neighbors": 5, "p": 2}) == v
    reg = get_task("SVM_diabetes_mse")
    assert reg.fallback > 0 and math.isfinite(reg.fallback)


def test_score_definition():
    runs = [
        {"task": "t", "method": "random", "budget": "2x1", "seed": 0, "values": [3.0, 1.0]},
        {"task": "t", "method": "random", "budget": "2x1", "seed": 1, "values": [2.0, 4.0]},
        {"task": "t", "method": "a", "budget": "2x1", "seed": 0, "values": [5.0, 0.0]},
        {"task": "t", "method": "a", "budget": "2x1", "seed": 1, "values": [9.0, 9.0]},
    ]
    ref = references(runs)["t"]
    assert ref["clip"] == 2.5 and ref["opt"] == pytest.approx(0.0, abs=1e-9)
    s = task_scores(runs)
    # random: best 1 and 2 -> normed 0.4, 0.8 -> 100 * (1 - 0.6); a: 0 and 9 -> normed 0 and 1 (clipped)
    assert s[("t", "2x1", "random")]["score"] == pytest.approx(40.0)
    assert s[("t", "2x1", "a")]["score"] == pytest.approx(50.0)
    assert aggregate(s)[("2x1", "a")]["score"] == pytest.approx(50.0)


def test_a_tiny_run_and_its_report(tmp_path):
    from benchmarks.bayesmark.report import write_report
    from benchmarks.run import machine, versions

    runs = [run_job(Job("kNN_iris_acc", m, s, "2x2")) for m in ("random", "bayes-skopt") for s in (0, 1)]
    for r in runs:
        assert r["error"] is None and len(r["values"]) == 4
    assert run_job(Job("kNN_iris_acc", "random", 0, "2x2"))["values"] == runs[0]["values"]  # seeded
    meta = {"command": "test", "date": "now", "git": "?", "workers": 1, "machine": machine(), "versions": versions(),
            "load_start": "?", "tasks": ["kNN_iris_acc"], "budgets": ["2x2"], "seeds": 2,
            "methods": ["random", "bayes-skopt"], "unavailable": {}}
    text = write_report(meta, runs, tmp_path).read_text()
    assert "## Aggregate score per method" in text and "kNN_iris_acc" in text
