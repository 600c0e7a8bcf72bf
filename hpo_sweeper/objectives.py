"""Several objectives: the directions, the value vector a task returns, and the Pareto front.

A single-objective sweep never comes here (it keeps ``Trial.value``); with ``direction`` a
list of m directions a trial carries ``Trial.values`` (m numbers in the user's units) and the
sweep's "best" is its Pareto front (``pareto.pareto_mask`` over the completed trials).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpo_sweeper.direction import Direction
from hpo_sweeper.objective import ObjectiveError, extract_objective
from hpo_sweeper.trials import Trial, TrialStatus
from hpo_sweeper.validation import SettingError

__all__ = ["extract_values", "front_hypervolume", "is_multi", "objective_names", "parse_directions", "pareto_trials",
           "solutions"]


def is_multi(direction: Any) -> bool:
    """Whether ``direction`` (a setting) asks for several objectives."""
    return isinstance(direction, (list, tuple))


def parse_directions(direction: Any, *, error: type[Exception] = SettingError) -> list[Direction]:
    """``direction`` as a list of ``Direction`` (one for a plain string)."""
    if not is_multi(direction):
        return [Direction.parse(direction, error=error)]
    if len(direction) < 1:
        raise error("direction must be minimize, maximize or a non-empty list of them, got []")
    return [Direction.parse(d, name=f"direction[{i}]", error=error) for i, d in enumerate(direction)]


def check_objective_keys(objective: Any, n: int, *, error: type[Exception] = SettingError) -> None:
    """With m directions, ``objective`` is null (the task returns m numbers) or a list of m dotted keys."""
    if objective is None:
        return
    if not isinstance(objective, (list, tuple)):
        raise error(f"objective must be null or a list of {n} dotted keys (one per direction), got {objective!r}")
    if len(objective) != n:
        raise error(f"objective has {len(objective)} keys but direction has {n} entries: give one key per "
                    f"objective, got {list(objective)!r}")
    for i, key in enumerate(objective):
        if not isinstance(key, str) or not all(part.strip() for part in key.split(".")):
            raise error(f"objective[{i}] must be a dotted key of non-empty parts such as 'metrics.val_loss', "
                        f"got {key!r}")


def objective_names(objective: Any, n: int) -> list[str]:
    """The name of each objective: its key, else ``value_<i>`` (trials.csv columns)."""
    if isinstance(objective, (list, tuple)):
        return [str(k) for k in objective]
    return [f"value_{i}" for i in range(n)]


def extract_values(returned: Any, objective: Any, n: int) -> list[float]:
    """The m objective values of a task's return value: a tuple/list of m numbers, or (with
    ``objective`` a list of keys) a mapping or dataclass read at each key.

    Raises:
        ObjectiveError: a length mismatch (naming what was expected and what came back), a
            missing key, or a value that is not a finite number.
    """
    if isinstance(objective, (list, tuple)):
        return [extract_objective(returned, key) for key in objective]
    items = getattr(returned, "tolist", lambda: returned)() if not isinstance(returned, Mapping) else returned
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise ObjectiveError(f"expected {n} objective values (direction has {n} entries), got "
                             f"{type(returned).__name__} {returned!r:.200}; return a tuple of {n} numbers or set "
                             "objective to a list of keys")
    if len(items) != n:
        raise ObjectiveError(f"expected {n} objective values (direction has {n} entries), got {len(items)}: "
                             f"{returned!r:.200}")
    return [extract_objective(v, None) for v in items]


def pareto_trials(trials: Sequence[Trial], directions: Sequence[Direction | str]) -> list[Trial]:
    """The completed trials on the Pareto front, in number order (duplicates of a point all kept)."""
    from hpo_sweeper.pareto import pareto_mask, to_minimize

    done = [t for t in trials if t.status is TrialStatus.COMPLETED and t.values is not None]
    if not done:
        return []
    Y = to_minimize(np.array([t.values for t in done], dtype=float), directions)
    mask = pareto_mask(Y)
    return sorted((t for t, m in zip(done, mask) if m), key=lambda t: t.number)


def solutions(trials: Sequence[Trial], directions: Sequence[Direction | str]) -> list[dict[str, Any]]:
    """The front as optimization_results.yaml's ``solutions:`` (the Optuna sweeper's key)."""
    return [{"trial": t.number, "params": dict(t.params), "values": list(t.values or [])}
            for t in pareto_trials(trials, directions)]


#: optimization_results.yaml's ``hypervolume`` is written up to this many objectives (3: 10 ms for 200 points)
MAX_HV_OBJECTIVES = 3


def front_hypervolume(
    trials: Sequence[Trial], directions: Sequence[Direction | str], ref_point: Sequence[float] | None = None
) -> tuple[float | None, list[float]] | None:
    """The hypervolume of the completed (feasible) trials and the reference point it is measured
    from, in the objectives' own units: ``ref_point`` as given, else ``pareto.reference_point``
    (the worst feasible value plus 10 % of the range). None before any trial completed; the
    volume is None with more than ``MAX_HV_OBJECTIVES`` objectives (the exact volume is
    recomputed after every batch: 1 s for 50 points at m = 5, growing fast)."""
    from hpo_sweeper.pareto import hypervolume, reference_point, to_minimize

    done = [t.values for t in trials if t.status is TrialStatus.COMPLETED and t.values is not None]
    if not done:
        return None
    Y = to_minimize(np.array(done, dtype=float), directions)
    signs = to_minimize(np.ones((1, len(directions))), directions)[0]
    ref = reference_point(Y) if ref_point is None else signs * np.asarray(ref_point, dtype=float)
    volume = hypervolume(Y, ref) if len(directions) <= MAX_HV_OBJECTIVES else None
    return volume, [float(v) for v in signs * ref]
