"""The pruner's settings (``hydra.sweeper.pruner``): one frozen dataclass, checked once, up front.

Every check goes through :mod:`hpo_sweeper.validation`, so a bad value reads
``pruner.reduction_factor must be an integer >= 2, got 1`` before any job runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

from hpo_sweeper.validation import SettingError, check_choice, check_int

__all__ = ["PrunerKind", "PrunerSettings"]


class PrunerKind(str, Enum):
    NONE = "none"
    MEDIAN = "median"
    ASHA = "asha"
    HYPERBAND = "hyperband"


@dataclasses.dataclass(frozen=True)
class PrunerSettings:
    """What ``hydra.sweeper.pruner`` holds; defaults follow Optuna's pruners where they have one."""

    type: PrunerKind = PrunerKind.NONE
    #: asha/hyperband: the first rung's step (Optuna's ``min_resource``, Ray's ``grace_period``).
    min_resource: int = 1
    #: asha/hyperband: the full budget in steps. None: asha puts no cap on its rungs (Optuna's
    #: SuccessiveHalvingPruner); hyperband infers it, per trial, as the largest step any trial had
    #: reported before that trial's first report (see hyperband.py).
    max_resource: int | None = None
    #: asha/hyperband: 1/reduction_factor of a rung goes on to the next one (Hyperband's eta).
    reduction_factor: int = 3
    #: asha: the first rung is at min_resource * reduction_factor ** min_early_stopping_rate (Optuna's s).
    min_early_stopping_rate: int = 0
    #: median: no pruning at steps below this (Optuna's ``n_warmup_steps``).
    warmup_steps: int = 0
    #: median: trials numbered below this are never pruned (Optuna's ``n_startup_trials``; in a
    #: sequential sweep the two rules agree: the first trials complete before any is judged).
    n_startup_trials: int = 5
    #: median: judge only if at least this many earlier trials reported at the same step.
    min_trials: int = 1
    #: median: judge every this many steps after the warm-up (Optuna's ``interval_steps``).
    interval_steps: int = 1

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None, *, prefix: str = "pruner") -> PrunerSettings:
        """Checked settings from a config mapping (unknown keys are an error, naming them)."""
        raw = dict(raw or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise SettingError(f"{prefix} has no setting {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        kind = raw.get("type", PrunerKind.NONE.value)
        kind = PrunerKind(check_choice(f"{prefix}.type", kind.value if isinstance(kind, PrunerKind) else kind,
                                       [k.value for k in PrunerKind]))

        def integer(name: str, low: int, allow_none: bool = False) -> Any:
            default = getattr(cls, name)
            return check_int(f"{prefix}.{name}", raw.get(name, default), low=low, allow_none=allow_none)

        min_resource = integer("min_resource", 1)
        max_resource = integer("max_resource", 1, allow_none=True)
        reduction_factor = integer("reduction_factor", 2)
        if max_resource is not None and max_resource <= min_resource:
            raise SettingError(f"{prefix}.max_resource must be greater than {prefix}.min_resource "
                               f"({min_resource}), got {max_resource}")
        return cls(
            type=kind,
            min_resource=min_resource,
            max_resource=max_resource,
            reduction_factor=reduction_factor,
            min_early_stopping_rate=integer("min_early_stopping_rate", 0),
            warmup_steps=integer("warmup_steps", 0),
            n_startup_trials=integer("n_startup_trials", 0),
            min_trials=integer("min_trials", 1),
            interval_steps=integer("interval_steps", 1),
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["type"] = self.type.value
        return data
