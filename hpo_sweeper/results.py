"""Results files of a sweep, rewritten after every batch.

``optimization_results.yaml`` (the best trial and counts) and ``trials.csv`` (one
row per trial) are written atomically (temp file + rename), so a crash at any
moment leaves the previous complete version, never half a file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from hpo_sweeper import trials_csv
from hpo_sweeper.files import atomic_write
from hpo_sweeper.objectives import front_hypervolume, is_multi, objective_names, solutions
from hpo_sweeper.trials import Trial, TrialStatus

__all__ = ["RESULTS_FILE", "TRIALS_FILE", "best_trial", "write_results", "write_trials_csv"]

RESULTS_FILE = "optimization_results.yaml"
TRIALS_FILE = "trials.csv"


def best_trial(trials: Iterable[Trial], direction: Any) -> Trial | None:
    """The best completed trial; None in a multi-objective sweep (its best is ``solutions``)."""
    done = [t for t in trials if t.status is TrialStatus.COMPLETED and t.value is not None]
    if not done:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    # Ties go to the earlier trial.
    return min(done, key=lambda t: (sign * t.value, t.number))  # type: ignore[operator]


def results_summary(
    trials: Sequence[Trial],
    *,
    name: str,
    direction: Any,
    objective: Any,
    extra: dict[str, Any] | None = None,
    constraints: Sequence[str] | None = None,
    ref_point: Sequence[float] | None = None,
) -> dict[str, Any]:
    """``constraints``: the constraint keys of a sweep whose trials can be infeasible (None: none can,
    and the file holds what it always held). ``ref_point``: a multi-objective sweep's hypervolume
    reference (None: the default, ``pareto.reference_point``)."""
    best = best_trial(trials, direction)
    out: dict[str, Any] = {
        "name": name,
        "direction": direction,
        "objective": objective,
        "best_params": _plain(best.params) if best else None,
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_job_dir": best.job_dir if best else None,
        "n_trials": len(trials),
        "n_completed": sum(t.status is TrialStatus.COMPLETED for t in trials),
        "n_failed": sum(t.status is TrialStatus.FAILED for t in trials),
        "n_running": sum(t.status is TrialStatus.RUNNING for t in trials),
    }
    n_pruned = sum(t.status is TrialStatus.PRUNED for t in trials)
    if n_pruned:  # a sweep without a pruner writes what it always wrote
        out["n_pruned"] = n_pruned
    if is_multi(direction):  # the Pareto front, under the key the Optuna sweeper writes
        out["solutions"] = [{**s, "params": _plain(s["params"])} for s in solutions(trials, direction)]
        out["n_feasible"] = sum(t.status is TrialStatus.COMPLETED and t.values is not None for t in trials)
        hv = front_hypervolume(trials, direction, ref_point)
        out["hypervolume"], out["ref_point"] = (hv[0], hv[1]) if hv else (None, None if ref_point is None
                                                                            else list(ref_point))
    if constraints is not None:
        # Completed is feasible: an infeasible trial has its own status, and never a place above.
        out["n_feasible"] = sum(t.status is TrialStatus.COMPLETED for t in trials)
        out["n_infeasible"] = sum(t.status is TrialStatus.INFEASIBLE for t in trials)
        if out["n_feasible"] == 0 and out["n_infeasible"]:
            out["feasibility"] = (f"no trial was feasible: all {out['n_infeasible']} that finished with a result broke "
                                  "a constraint, so there is no best; loosen the constraints or the search space")
    out.update(extra or {})
    return out


def write_results(
    sweep_dir: str | os.PathLike[str] | None,
    trials: Sequence[Trial],
    param_names: Sequence[str],
    *,
    name: str,
    direction: Any,
    objective: Any,
    extra: dict[str, Any] | None = None,
    last_steps: Mapping[int, int] | None = None,
    constraints: Sequence[str] | None = None,
    ref_point: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Write both results files (none when ``sweep_dir`` is None); returns the summary of the YAML.

    ``last_steps``: trial number -> the last step it reported (pruning): trials.csv's ``last_step``
    column and the YAML's ``total_steps`` (every step any trial trained, the compute spent)."""
    if last_steps:
        extra = {**(extra or {}), "total_steps": sum(last_steps.values())}
    summary = results_summary(trials, name=name, direction=direction, objective=objective, extra=extra,
                              constraints=constraints, ref_point=ref_point)
    if sweep_dir is None:
        return summary
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(sweep_dir / RESULTS_FILE, yaml.safe_dump(summary, sort_keys=False, allow_unicode=True))
    names = objective_names(objective, len(direction)) if is_multi(direction) else ()
    atomic_write(sweep_dir / TRIALS_FILE, trials_csv.to_text(trials, param_names, last_steps, names, constraints or ()))
    return summary


def trials_csv_text(trials: Sequence[Trial], param_names: Sequence[str]) -> str:
    return trials_csv.to_text(trials, param_names)


def write_trials_csv(path: Path, trials: Sequence[Trial], param_names: Sequence[str]) -> None:
    atomic_write(path, trials_csv.to_text(trials, param_names))


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if not (isinstance(v, float) and math.isnan(v)) else None) for k, v in params.items()}
