"""Constraints: bounds on numbers a task returns, and trials that break them (``infeasible``).

``constraints`` (a sweep setting) maps dotted keys of the returned dict to bounds, e.g.
``{metrics.memory_gb: {max: 40}}``. After a trial, each key is read like the objective; a value
outside its bounds makes the trial ``infeasible``: recorded with its objective and constraint
values, finished (never run again), not a failure, and never the best trial nor on the front.

``constraints_oom: infeasible`` also counts a trial that crashed out of memory as infeasible
(it has no values): what it says about the space (too big here) is as useful as a measured
violation. For the model (``model_rows``) such a trial's constraint values are imputed as the
worst violation seen; with no constraint to impute, a 0/1 column "ran out of memory" with
``max: 0.5`` stands in, so the GP learns the region where jobs crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_sweeper.objective import ObjectiveError, extract_objective

__all__ = [
    "OOM_CHOICES", "OOM_KEY", "Constraint", "is_out_of_memory", "model_bounds", "model_record", "model_rows",
    "parse_constraints",
    "read_constraint_values", "violated",
]

#: What a trial that crashed out of memory becomes.
OOM_CHOICES = ("failed", "infeasible")
#: The name of the implicit 0/1 constraint of a sweep with constraints_oom=infeasible and no constraints.
OOM_KEY = "<out of memory>"
#: What an out-of-memory crash says in its error text: Python's MemoryError, torch's
#: OutOfMemoryError ("CUDA out of memory"), JAX/XLA's "RESOURCE_EXHAUSTED: Out of memory".
_OOM_PATTERN = re.compile(r"MemoryError|out of memory|RESOURCE_EXHAUSTED", re.IGNORECASE)


@dataclass(frozen=True)
class Constraint:
    """``min <= returned[key] <= max`` (either bound may be None)."""

    key: str
    min: float | None = None
    max: float | None = None

    def holds(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def as_setting(self) -> dict[str, float]:
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


def parse_constraints(value: Any, *, error: type[Exception]) -> list[Constraint]:
    """The ``constraints`` setting as a list of ``Constraint``; a bad one raises ``error`` naming it."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise error(f"constraints must be a mapping of dotted keys to bounds, e.g. {{metrics.memory_gb: {{max: 40}}}}; "
                    f"got {value!r}")
    out = []
    for key, bounds in value.items():
        if not isinstance(key, str) or not key or not all(part.strip() for part in key.split(".")):
            raise error(f"constraints: {key!r} is not a dotted key of non-empty parts such as 'metrics.memory_gb'")
        name = f"constraints.{key}"
        if not isinstance(bounds, Mapping):
            raise error(f"{name} must be a mapping with min and/or max, e.g. {{max: 40}}; got {bounds!r}")
        unknown = sorted(set(map(str, bounds)) - {"min", "max"})
        if unknown:
            raise error(f"{name} has no bound {', '.join(unknown)} (a bound is min or max)")
        if bounds.get("min") is None and bounds.get("max") is None:
            raise error(f"{name} needs min, max or both; got {dict(bounds)!r}")
        got = {}
        for b in ("min", "max"):
            v = bounds.get(b)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise error(f"{name}.{b} must be a finite number, got {v!r}")
            got[b] = float(v)
        if "min" in got and "max" in got and got["min"] > got["max"]:
            raise error(f"{name}: min {got['min']:g} is greater than max {got['max']:g}, so no trial could be feasible")
        out.append(Constraint(key, got.get("min"), got.get("max")))
    return out


def read_constraint_values(returned: Any, constraints: Sequence[Constraint]) -> dict[str, float]:
    """Each constraint's value in a task's return value; raises ``ObjectiveError`` naming the key."""
    out = {}
    for c in constraints:
        try:
            out[c.key] = extract_objective(returned, c.key)
        except ObjectiveError as e:
            raise ObjectiveError(f"constraint {c.key}: {e}") from None
    return out


def violated(values: Mapping[str, float], constraints: Sequence[Constraint]) -> list[str]:
    """The constraints ``values`` break, as text for the trial's record (``metrics.mem=41 > max 40``)."""
    out = []
    for c in constraints:
        v = values[c.key]
        if c.min is not None and v < c.min:
            out.append(f"{c.key}={v:g} < min {c.min:g}")
        if c.max is not None and v > c.max:
            out.append(f"{c.key}={v:g} > max {c.max:g}")
    return out


def is_out_of_memory(error: str | None) -> bool:
    """Whether a trial's error text is an out-of-memory crash."""
    return bool(error) and _OOM_PATTERN.search(error or "") is not None


# --- for the model (the bayes optimiser) -------------------------------------------------------


def model_bounds(constraints: Sequence[Constraint], oom_infeasible: bool) -> np.ndarray:
    """``(k, 2)`` [lower, upper] of each modelled constraint column (+-inf for a missing side)."""
    if not constraints and oom_infeasible:
        return np.array([[-np.inf, 0.5]])
    return np.array([[-np.inf if c.min is None else c.min, np.inf if c.max is None else c.max]
                     for c in constraints]).reshape(-1, 2)


def model_rows(records: Sequence[Sequence[float] | None], bounds: np.ndarray) -> np.ndarray:
    """``(n, k)`` constraint values for the GPs, one row per record (a measured row, or NaNs for a
    trial that crashed out of memory).

    A crashed trial's cell becomes the worst violation seen on that column plus a tenth of the
    column's range (on the upper side where the column has an upper bound: memory and time
    limits are upper bounds, and a crash means "too big"), so the model places it beyond every
    measured violation; with nothing measured yet, the bound plus 1 or 10 % of its size."""
    k = bounds.shape[0]
    C = np.array([[math.nan] * k if r is None else list(r) for r in records], dtype=float).reshape(-1, k)
    for j in range(k):
        col = C[:, j]
        missing = np.isnan(col)
        if not missing.any():
            continue
        seen = col[~missing]
        lo, hi = bounds[j]
        upper = math.isfinite(hi)
        edge = hi if upper else lo
        pts = np.concatenate([seen, [edge]])
        span = float(pts.max() - pts.min())
        margin = 0.1 * span if span > 0 else max(1.0, 0.1 * abs(edge))
        col[missing] = (pts.max() + margin) if upper else (pts.min() - margin)
    return C


def model_record(trial: Any, constraints: Sequence[Constraint], oom_infeasible: bool) -> list[float] | None:
    """What the model is told of a trial's constraints (``Optimizer.tell(..., constraints=)``):
    a value per modelled column (``model_bounds``), NaN where a crash out of memory left it
    unmeasured; None for a trial that says nothing about feasibility (failed, pruned, running).

    ``trial`` is a ``hpo_sweeper.trials.Trial`` (not imported: trials.py stays at the bottom)."""
    from hpo_sweeper.trials import TrialStatus

    measured = trial.constraint_values
    if not constraints:
        if not oom_infeasible or trial.status not in (TrialStatus.COMPLETED, TrialStatus.INFEASIBLE):
            return None
        return [1.0 if trial.status is TrialStatus.INFEASIBLE else 0.0]  # the 0/1 "ran out of memory" column
    if measured is not None and all(c.key in measured for c in constraints):
        return [float(measured[c.key]) for c in constraints]
    if trial.status is TrialStatus.INFEASIBLE:  # crashed out of memory: imputed by model_rows
        return [math.nan] * len(constraints)
    return None
