"""Pruning through the library ``Sweep`` (a Python objective that reports), the model data bayes
fits in a pruning sweep, and a pruning Hydra sweep SIGKILLed mid-sweep and rerun."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import read_trials

import hpo_sweeper
from hpo_sweeper import SearchSpace, Sweep, TrialStatus
from hpo_sweeper.optimizers.bayes import BayesOptimizer
from hpo_sweeper.pruning import PrunerSettings
from hpo_sweeper.pruning.channel import append_report, read_curves, read_pruner_file, report_path
from hpo_sweeper.pruning.ingest import CurveIngest
from hpo_sweeper.pruning.model_feed import model_source
from hpo_sweeper.store import StoreError, TrialStore
from hpo_sweeper.trials import Trial, TrialLog

APP = Path(__file__).parent / "pruning_app" / "app.py"
ASHA9 = {"type": "asha", "max_resource": 9}  # rungs 1, 3 and the full budget 9


def reporting_objective(params: dict[str, Any]) -> float:
    """x + 1/step at steps 1..9: curves are parallel, so trials rank by x at every rung."""
    value = math.nan
    for step in range(1, 10):
        value = params["x"] + 1.0 / step
        hpo_sweeper.report(value, step=step)
        if hpo_sweeper.should_prune():
            raise hpo_sweeper.TrialPruned()
    return value


def test_python_objective_reports_and_is_pruned(tmp_path: Path) -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)"})
    sweep = Sweep(space, "random", sweep_dir=tmp_path / "s", storage=tmp_path / "s" / "trials.db", seed=0,
                  pruner=ASHA9)
    best = sweep.optimize(reporting_objective, n_trials=12)
    trials = sweep.trials
    pruned = [t for t in trials if t.status is TrialStatus.PRUNED]
    completed = [t for t in trials if t.status is TrialStatus.COMPLETED]
    # 12 trials, eta 3: once a rung holds 3 or more values only the best third goes on, so at
    # least half of the later trials stop early (a loose bound: exact counts depend on the draw).
    assert len(pruned) >= 4 and len(completed) >= 1, [(t.number, t.status) for t in trials]
    curves = read_curves(tmp_path / "s")
    with TrialStore(tmp_path / "s" / "trials.db", readonly=True) as store:
        for t in trials:
            stored = store.intermediate(t.number)
            assert [(s, v) for s, v, _ in stored] == [(r.step, r.value) for r in curves[t.number].reports]
            assert (stored[-1][0] == 9) == (t.status is TrialStatus.COMPLETED)
    assert all(t.value is None for t in pruned)  # a step-3 value is not a final value
    assert best is not None and best.status is TrialStatus.COMPLETED
    assert best.value == min(t.value for t in completed if t.value is not None)
    rows = {int(r["number"]): r for r in read_trials(tmp_path / "s")}
    assert {n: r["status"] for n, r in rows.items()} == {t.number: t.status.value for t in trials}
    assert all(int(rows[t.number]["last_step"]) == curves[t.number].reports[-1].step for t in trials)
    summary = yaml.safe_load((tmp_path / "s" / "optimization_results.yaml").read_text())
    assert summary["n_pruned"] == len(pruned)
    assert summary["total_steps"] == sum(c.reports[-1].step for c in curves.values())
    assert (tmp_path / "s" / "learning_curves.png").is_file()


def test_outside_a_running_trial_report_is_a_no_op() -> None:
    assert hpo_sweeper.report(1.0, step=1) is None and hpo_sweeper.should_prune() is False


def test_bayes_model_fits_one_budget_and_never_a_pruned_value_as_final(tmp_path: Path) -> None:
    """Trials 0-3 ran to step 9, trials 4-6 stopped at step 3 (pruned), trial 7 failed after step 3."""
    log = TrialLog()
    for n in range(8):
        status = TrialStatus.COMPLETED if n < 4 else TrialStatus.PRUNED if n < 7 else TrialStatus.FAILED
        log.add(Trial(n, {"x": n / 10}, status))
        for step in (1, 2, 3, *((4, 5, 6, 7, 8, 9) if n < 4 else ())):
            append_report(tmp_path, n, step, n / 10 + 1.0 / step, time.time())
    settings = PrunerSettings.from_mapping(ASHA9)
    source = model_source(log, CurveIngest(tmp_path, log), settings, n_dims=1)
    # n_dims + 2 = 3 trials are enough: 4 reached the full budget 9, so the model sees their final
    # values only, and none of the pruned trials.
    assert source() == [({"x": n / 10}, n / 10 + 1.0 / 9) for n in range(4)]
    # With 5 dimensions (7 needed) only rung 3 has enough: every non-failed trial at step 3.
    source = model_source(log, CurveIngest(tmp_path, log), settings, n_dims=5)
    assert source() == [({"x": n / 10}, n / 10 + 1.0 / 3) for n in range(7)]
    # Nowhere enough: None (the optimiser then fits its told history, pruned trials as failures).
    assert model_source(log, CurveIngest(tmp_path, log), settings, n_dims=10)() is None


XS = [0.5, 0.7, 0.2, 0.9, 0.1, 0.6]


def test_killed_asha_sweep_resumes_without_rerunning_pruned_trials(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    cmd = [sys.executable, str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", "hydra/sweeper=grid",
           "hydra.sweeper.pruner.type=asha", "hydra.sweeper.pruner.max_resource=9", "sleep=0.15",
           f"x={','.join(map(str, XS))}"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        # Killed while trial 4 runs: 0 and 2 completed, 1 and 3 pruned, 4 mid-curve.
        deadline = time.time() + 120
        while time.time() < deadline:
            curve = read_curves(sweep_dir).get(4)
            if curve is not None and len(curve.reports) >= 3:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("trial 4 never reported 3 steps")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {n: report_path(sweep_dir, n).read_bytes() for n in range(5)}
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stdout
    rows = read_trials(sweep_dir)
    by_x: dict[float, list[dict[str, str]]] = {}
    for r in rows:
        by_x.setdefault(float(r["x"]), []).append(r)
    # every configuration recorded once; the pruned ones (x = 0.7, 0.9) kept, not run again
    assert sorted(by_x) == sorted(XS) and all(len(v) == 1 for v in by_x.values()), rows
    assert [by_x[x][0]["status"] for x in (0.7, 0.9)] == ["pruned", "pruned"]
    assert [int(by_x[x][0]["number"]) for x in (0.7, 0.9)] == [1, 3]
    # no intermediate value lost: what the files held at the kill is still there, and in the store
    for n in range(4):
        assert report_path(sweep_dir, n).read_bytes() == before[n]  # finished trials: untouched
    assert report_path(sweep_dir, 4).read_bytes().startswith(before[4])  # the killed attempt is kept
    curves = read_curves(sweep_dir)
    with TrialStore(sweep_dir / "trials.db", readonly=True) as store:
        # the killed attempt of x = 0.1 (trial 4, run again under a new number): its values stored too
        assert [(s, v) for s, v, _ in store.intermediate(4)][:3] == [(c.step, c.value) for c in curves[4].reports][:3]
        for r in rows:
            n = int(r["number"])
            assert [(s, v) for s, v, _ in store.intermediate(n)] == [(c.step, c.value) for c in curves[n].reports]


def test_resume_with_other_pruner_settings_is_refused(tmp_path: Path) -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)"})
    store = tmp_path / "s" / "trials.db"
    Sweep(space, "random", sweep_dir=tmp_path / "s", storage=store, seed=0, pruner=ASHA9).optimize(
        reporting_objective, n_trials=3)
    other = Sweep(space, "random", sweep_dir=tmp_path / "s", storage=store, seed=0,
                  pruner={**ASHA9, "reduction_factor": 2})
    with pytest.raises(StoreError, match="pruner changed from .* allow_settings_change"):
        other.optimize(reporting_objective, n_trials=6)
    assert len(Sweep(space, "random", storage=store).trials) == 3  # nothing recorded was touched
    allowed = Sweep(space, "random", sweep_dir=tmp_path / "s", storage=store, seed=0, allow_settings_change=True,
                    pruner={**ASHA9, "reduction_factor": 2})
    allowed.optimize(reporting_objective, n_trials=6)
    assert len(allowed.trials) == 6
    assert read_pruner_file(tmp_path / "s").pruner.reduction_factor == 2  # jobs decide by the new rule


def test_bayes_sweep_with_asha_fits_the_model_data(tmp_path: Path) -> None:
    space = SearchSpace.from_config({"x": "interval(0, 1)"})
    sweep = Sweep(space, "bayes", backend="skopt", n_initial_points=3, sweep_dir=tmp_path / "s",
                  storage=tmp_path / "s" / "trials.db", seed=0, pruner=ASHA9)
    fitted: list[list[tuple[dict[str, Any], float]] | None] = []
    original = BayesOptimizer._observations

    def spy(self: BayesOptimizer) -> Any:
        fitted.append(self.model_source() if self.model_source is not None else None)
        return original(self)

    BayesOptimizer._observations = spy  # type: ignore[method-assign]
    try:
        sweep.optimize(reporting_objective, n_trials=8)
    finally:
        BayesOptimizer._observations = original  # type: ignore[method-assign]
    statuses = [t.status for t in sweep.trials]
    assert len(statuses) == 8 and TrialStatus.PRUNED in statuses
    # The model was fitted on one budget's values, and never on a pruned trial's last value as final:
    # every fitted value is x + 1/b for one budget b shared by all of them.
    used = [pairs for pairs in fitted if pairs]
    assert used, "the model never got pruning-aware data"
    for pairs in used:
        budgets = {round(1.0 / (v - p["x"])) for p, v in pairs}
        assert len(budgets) == 1 and budgets <= {1, 3, 9}, pairs
