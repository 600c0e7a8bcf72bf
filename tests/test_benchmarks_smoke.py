"""Smoke tests of the benchmark suite (benchmarks/): problem definitions at their known
optima, and a tiny run of the regret harness and the report with our random search.
No timing assertions, and no Optuna (an optional extra)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.problems import PROBLEMS, branin, get_problem, hartmann6, levy, rosenbrock
from benchmarks.regret import Job, aggregate, reference_values, regret_curves, run_job


@pytest.mark.parametrize("name", [n for n, p in PROBLEMS.items() if p.optimum is not None])
def test_regret_is_zero_at_the_known_optimum(name):
    p = get_problem(name)
    assert p.x_opt is not None
    assert p(p.x_opt) - p.optimum == pytest.approx(0.0, abs=1e-9)


def test_published_optima():
    assert branin([math.pi, 2.275]) == pytest.approx(0.397887, abs=1e-6)
    assert branin([-math.pi, 12.275]) == pytest.approx(0.397887, abs=1e-6)
    assert branin([9.42478, 2.475]) == pytest.approx(0.397887, abs=1e-6)
    assert hartmann6([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]) == pytest.approx(-3.32237, abs=1e-5)
    assert rosenbrock(np.ones(4)) == 0.0
    assert levy(np.ones(10)) == pytest.approx(0.0, abs=1e-12)


def test_optima_are_minima_nearby():
    rng = np.random.default_rng(0)
    for name in ("branin", "hartmann6", "rosenbrock4", "levy10"):
        p = get_problem(name)
        for _ in range(20):
            x = {k: v + rng.normal(scale=1e-3) for k, v in p.x_opt.items()}
            x = {q.name: min(max(x[q.name], q.low), q.high) for q in p.params}
            assert p(x) >= p.optimum - 1e-9


def test_spaces_translate_for_each_tool():
    from hpo_sweeper import SearchSpace

    for p in PROBLEMS.values():
        space = SearchSpace.from_config(p.space_config())
        assert space.names == [q.name for q in p.params]
        assert len(p.skopt_dimensions()) == p.dim


def test_real_task_is_a_sane_error_rate():
    p = get_problem("svm_digits")
    good = p({"C": 10.0, "gamma": 0.01, "kernel": "rbf", "degree": 3})
    bad = p({"C": 0.01, "gamma": 1e-5, "kernel": "sigmoid", "degree": 2})
    assert 0.0 <= good < 0.05 < 0.5 < bad <= 1.0


@pytest.mark.parametrize("q", [1, 2])
def test_regret_harness_with_random_search(q):
    r = run_job(Job("branin", "random", seed=0, q=q, n_trials=5))
    assert r["error"] is None
    assert len(r["values"]) == 5
    assert len(r["ask_s"]) == math.ceil(5 / q)
    again = run_job(Job("branin", "random", seed=0, q=q, n_trials=5))
    assert again["values"] == r["values"]  # seeded
    ref = reference_values([r])
    curves = regret_curves([r], ref)
    m = curves[("branin", q, "random")]
    assert m.shape == (1, 5)
    assert np.all(np.diff(m[0]) <= 0) and np.all(m >= 0)
    assert m[0, -1] == pytest.approx(min(r["values"]) - get_problem("branin").optimum)
    agg = aggregate(curves)[("branin", q, "random")]
    assert np.allclose(agg["median"], m[0])


def test_report_from_a_tiny_run(tmp_path):
    from benchmarks.report import write_report

    results = [run_job(Job("branin", "random", seed=s, q=q, n_trials=5)) for s in (0, 1) for q in (1, 4)]
    path = write_report({"meta": {"mode": "test"}, "regret": results}, tmp_path)
    text = path.read_text()
    assert "Simple regret after the full budget, sequential (q=1)" in text
    assert "random (ours)" in text
    assert (tmp_path / "plots" / "regret_branin.png").stat().st_size > 0


def test_regenerated_report_links_every_hand_written_result(tmp_path):
    # The results of this wave's issues live in files of their own (benchmarks/notes/, <topic>/RESULTS.md):
    # a regenerated RESULTS.md must link each of them, so that regenerating it can drop none.
    from benchmarks.report import BENCH_DIR, hand_written_results, write_report

    files = hand_written_results()
    assert BENCH_DIR / "notes" / "issue15_async_joblib.md" in files
    assert BENCH_DIR / "RESULTS.md" not in files
    path = write_report({"meta": {"mode": "test"}}, tmp_path)
    text = path.read_text()
    for f in files:
        assert f.name in text, f"{f} is not linked from the regenerated report"
