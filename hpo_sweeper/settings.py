"""The settings every sweep shares, with their defaults: defined here once.

The Hydra adapter's ConfigStore dataclasses (``hydra_plugins/hpo_sweeper_plugin/config.py``)
repeat these fields because OmegaConf needs its own types; ``tests/test_settings.py`` checks
that both have the same names and defaults, so the two cannot drift. The optimiser options
(``grid_points``, ``sampler``, ``backend``, ...) have their defaults in the optimisers'
constructors, and the same test checks the config against those.

Each value is checked through ``hpo_sweeper.validation``, so a bad one is an error that names
the setting, raised before the store is opened or a job runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo_sweeper.constraints import OOM_CHOICES, Constraint, parse_constraints
from hpo_sweeper.direction import Direction
from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.objectives import check_objective_keys, is_multi, parse_directions
from hpo_sweeper.pruning.settings import PrunerSettings
from hpo_sweeper.validation import SettingError, check_bool, check_choice, check_int, check_number

__all__ = ["KIND_DEFAULTS", "MAX_SEED", "EarlyStop", "SweepConfigError", "SweepSettings"]

#: Seeds every optimiser and engine accepts (numpy, scipy.qmc, scikit-optimize).
MAX_SEED = 2**32 - 1


#: Where a sweeper's default differs from ``SweepSettings``'s: a grid runs whole unless capped.
KIND_DEFAULTS: dict[str, dict[str, Any]] = {"grid": {"n_trials": None}}


class SweepConfigError(HpoSweeperError, ValueError):
    """A sweeper setting is invalid; raised before any job runs."""


@dataclass(frozen=True)
class EarlyStop:
    """Stop early: after ``patience`` trials without an improvement larger than
    ``min_delta``, or once a value at least as good as ``target`` is reached."""

    patience: int | None = None
    min_delta: float = 0.0
    target: float | None = None

    def __post_init__(self) -> None:
        check_int("early_stop.patience", self.patience, low=1, allow_none=True, error=SweepConfigError)
        # nan compares false with everything (no improvement would ever count), inf likewise.
        check_number("early_stop.min_delta", self.min_delta, low=0, error=SweepConfigError)
        check_number("early_stop.target", self.target, allow_none=True, error=SweepConfigError)

    @property
    def active(self) -> bool:
        return self.patience is not None or self.target is not None

    @classmethod
    def parse(cls, value: Any) -> EarlyStop:
        """From a mapping (a config block), an ``EarlyStop`` or None."""
        if value is None or isinstance(value, EarlyStop):
            return value or cls()
        if not isinstance(value, Mapping):
            raise SweepConfigError(f"early_stop must be a mapping of patience, min_delta, target; got {value!r}")
        unknown = sorted(set(map(str, value)) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise SweepConfigError(f"early_stop has no setting {', '.join(unknown)} (it has patience, min_delta, "
                                   "target)")
        return cls(**{str(k): v for k, v in value.items()})


@dataclass(frozen=True)
class SweepSettings:
    """What every sweeper accepts, whatever its algorithm (``hydra.sweeper.<name>``, or keyword
    arguments of ``hpo_sweeper.Sweep``). See README "The sweepers and their settings"."""

    # Trials to run in total (grid: a cap on the grid's size; null runs the whole grid).
    n_trials: int | None = 20
    # Trials handed to the launcher per call; null: a default per sweeper (Sweep.batch_size).
    batch_size: int | None = None
    # Seed of the optimiser; null draws one and records it, so a resumed sweep reuses it.
    seed: int | None = None
    # minimize | maximize, or a list of them: a multi-objective sweep (hpo_sweeper/objectives.py).
    direction: str | list[str] = "minimize"
    # null: the task returns the number (a tuple of numbers with a list direction); else a dotted
    # key into a returned dict or dataclass (a list of keys, one per direction).
    objective: str | list[str] | None = None
    # Stop with an error when more than this fraction of finished trials failed (judged after 5).
    max_failure_rate: float = 0.5
    # The SQLite trial store; null: none (Python API) or <sweep dir>/trials.db (Hydra).
    storage: str | None = None
    # Resume even though the search space changed.
    allow_space_change: bool = False
    # Resume even though settings that change what the stored trials mean changed.
    allow_settings_change: bool = False
    # Earlier stores, sweep dirs or trials.csv files whose trials seed the optimiser.
    warm_start: list[str] = field(default_factory=list)
    # Explicit first trials, validated against the space.
    enqueue: list[Any] = field(default_factory=list)
    early_stop: EarlyStop = field(default_factory=EarlyStop)
    # Write convergence.png and params.png when the sweep ends (where it has a results dir).
    plots: bool = True
    # How often a trial whose process died runs again before it is recorded failed.
    max_reruns: int = 1
    # Stop bad trials early from the values they report (hpo_sweeper.report; README "Pruning").
    pruner: PrunerSettings = field(default_factory=PrunerSettings)
    # batch: launch a batch, wait for all of it; async: a new trial the moment one ends (README
    # "Asynchronous sweeps").
    schedule: str = "batch"
    # async: trials in flight at most; null: the launcher's parallelism, else batch_size, else 1.
    max_concurrent: int | None = None
    # Bounds on keys of the returned dict ({metrics.memory_gb: {max: 40}}): a trial outside them is
    # infeasible, never the best (hpo_sweeper/constraints.py; README "Constraints").
    constraints: dict[str, Any] = field(default_factory=dict)
    # failed | infeasible: what a trial that crashed out of memory counts as.
    constraints_oom: str = "failed"
    # A multi-objective sweep's hypervolume reference point, one number per objective in its own
    # units; null: the worst feasible value + 10 % of the range (pareto.reference_point).
    ref_point: list[float] | None = None

    def __post_init__(self) -> None:
        e = SweepConfigError
        check_int("n_trials", self.n_trials, low=1, allow_none=True, error=e)
        check_int("batch_size", self.batch_size, low=1, allow_none=True, error=e)
        check_int("seed", self.seed, low=0, high=MAX_SEED, allow_none=True, error=e)
        if is_multi(self.direction):
            object.__setattr__(self, "direction", [d.value for d in parse_directions(self.direction, error=e)])
            if isinstance(self.objective, (list, tuple)):
                object.__setattr__(self, "objective", list(self.objective))
            check_objective_keys(self.objective, len(self.direction), error=e)
        else:
            Direction.parse(self.direction, error=e)
        obj = None if is_multi(self.direction) else self.objective
        # A key path with an empty part ('metrics..loss', 'loss.') can never match a returned value:
        # refused here rather than failing every trial.
        if obj is not None and (not isinstance(obj, str) or not all(part.strip() for part in obj.split("."))):
            raise e(f"objective must be null or a dotted key of non-empty parts such as 'metrics.val_loss', "
                    f"got {obj!r}")
        check_number("max_failure_rate", self.max_failure_rate, low=0, high=1, error=e)
        if isinstance(self.storage, os.PathLike):
            object.__setattr__(self, "storage", os.fspath(self.storage))
        if self.storage is not None and not (isinstance(self.storage, str) and self.storage.strip()):
            raise e(f"storage must be null or a file path, got {self.storage!r}")
        for name in ("allow_space_change", "allow_settings_change", "plots"):
            check_bool(name, getattr(self, name), error=e)
        if not isinstance(self.warm_start, (list, tuple)) or not all(isinstance(p, (str, os.PathLike))
                                                                      for p in self.warm_start):
            raise e(f"warm_start must be a list of paths, got {self.warm_start!r}")
        object.__setattr__(self, "warm_start", [os.fspath(p) for p in self.warm_start])
        if not isinstance(self.enqueue, (list, tuple)):
            raise e(f"enqueue must be a list of {{parameter: value}} mappings, got {self.enqueue!r}")
        object.__setattr__(self, "early_stop", EarlyStop.parse(self.early_stop))
        if is_multi(self.direction):
            # Both speak of one best value; a Pareto front has none.
            if self.early_stop.active:
                raise e("early_stop needs a single objective: a multi-objective sweep (direction a list) has no "
                        "single best value to reach or improve; remove early_stop")
            if self.warm_start:
                raise e("warm_start reads one value per earlier trial: it cannot seed a multi-objective sweep "
                        "(direction a list); remove warm_start")
        check_int("max_reruns", self.max_reruns, low=0, error=e)
        if not isinstance(self.pruner, PrunerSettings):
            if self.pruner is not None and not isinstance(self.pruner, Mapping):
                raise e(f"pruner must be a mapping of type, min_resource, max_resource, ...; got {self.pruner!r}")
            try:
                object.__setattr__(self, "pruner", PrunerSettings.from_mapping(self.pruner))
            except SettingError as err:
                raise e(str(err)) from None
        if is_multi(self.direction) and self.pruner.type.value != "none":
            raise e("pruner needs a single objective: a multi-objective sweep (direction a list) cannot rank "
                    "its trials' intermediate values; set pruner.type=none or give one direction")
        check_choice("schedule", self.schedule, ("batch", "async"), error=e)
        check_int("max_concurrent", self.max_concurrent, low=1, allow_none=True, error=e)
        self._check_constraints()
        self._check_ref_point()

    def _check_constraints(self) -> None:
        e = SweepConfigError
        parsed = parse_constraints(self.constraints, error=e)
        object.__setattr__(self, "constraints", {c.key: c.as_setting() for c in parsed})
        check_choice("constraints_oom", self.constraints_oom, OOM_CHOICES, error=e)
        if not parsed:
            return
        if self.objective is None:
            raise e("constraints read keys of the dict the task returns, but objective is null (the task returns "
                    "a bare number, which has no constraint values): set objective to the key of the number to "
                    f"optimise{' (a list of keys, one per direction)' if self.multi_objective else ''}")
        if self.warm_start:
            raise e("warm_start trials have no constraint values: it cannot seed a constrained sweep; remove "
                    "warm_start or constraints")
        if self.pruner.type.value != "none":
            raise e("pruner with constraints is not supported: a pruned trial has no constraint values to judge; "
                    "set pruner.type=none or remove constraints")

    def _check_ref_point(self) -> None:
        e = SweepConfigError
        if self.ref_point is None:
            return
        if not self.multi_objective:
            raise e("ref_point is the hypervolume reference of a multi-objective sweep (direction a list); a "
                    "single-objective sweep has none: remove ref_point")
        m = len(self.direction)
        if not isinstance(self.ref_point, (list, tuple)) or len(self.ref_point) != m:
            raise e(f"ref_point must be a list of {m} numbers (one per direction), got {self.ref_point!r}")
        # check_number refuses nan and inf: an infinite reference makes every hypervolume infinite.
        object.__setattr__(self, "ref_point", [check_number(f"ref_point[{i}]", v, error=e)
                                               for i, v in enumerate(self.ref_point)])

    @property
    def constraint_list(self) -> list[Constraint]:
        return parse_constraints(self.constraints, error=SweepConfigError)

    @property
    def oom_infeasible(self) -> bool:
        return self.constraints_oom == "infeasible"

    @property
    def direction_enum(self) -> Direction:
        return Direction(self.direction)

    @property
    def multi_objective(self) -> bool:
        return is_multi(self.direction)

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    def recorded(self) -> dict[str, Any]:
        """The settings as plain JSON, as the store keeps them (meta ``settings``)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=repr))
