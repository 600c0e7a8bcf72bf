"""The search space: typed parameters and their encodings.

One internal form serves every optimiser:

* ``unit``: one coordinate per parameter in [0, 1] (log-scaled parameters are
  log-transformed first; a categorical of k choices owns the k equal cells of
  [0, 1]). Random and quasi-random samplers draw here.
* ``features``: the form a Gaussian process sees. Numeric parameters keep their
  unit coordinate; a categorical becomes k one-hot columns. ``FeatureLayout``
  (``SearchSpace.layout``, computed once) gives an engine the columns as arrays, and
  ``snap_to_levels`` is the one rule, for numpy and JAX alike, that moves a coordinate
  onto its parameter's nearest level.

Notation: ``d`` parameters, ``D`` feature columns, ``X: (n, D)``.

This module knows nothing of Hydra; the override grammar is parsed in
``hpo_sweeper.grammar``.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from hpo_sweeper.errors import HpoSweeperError

__all__ = [
    "FeatureLayout",
    "Kind",
    "Levels",
    "Parameter",
    "SearchSpace",
    "SearchSpaceError",
    "snap_to_levels",
]

#: A stepped parameter with at most this many levels is enumerated exactly
#: (for grids, and for snapping GP proposals onto valid values).
MAX_ENUMERATED_LEVELS = 4096


class SearchSpaceError(HpoSweeperError, ValueError):
    """A search space, or a point claimed to lie in one, is invalid."""


class Kind(enum.Enum):
    FLOAT = "float"
    INT = "int"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class Parameter:
    """One searched parameter.

    ``low``/``high`` are inclusive bounds of numeric kinds. ``step`` makes a
    numeric parameter discrete (values ``low + k * step``); an INT without a step
    takes every integer. ``choices`` holds a categorical's values in order.
    """

    name: str
    kind: Kind
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        where = f"parameter '{self.name}'"
        if not isinstance(self.log, bool):
            # bool('false') is True: only a real bool (YAML's true/false) says what is meant.
            raise SearchSpaceError(f"{where}: 'log' must be true or false, got {self.log!r}")
        if self.kind is Kind.CATEGORICAL:
            if len(self.choices) == 0:
                raise SearchSpaceError(f"{where}: choice() needs at least one value")
            if len(_dedupe(self.choices)) != len(self.choices):
                raise SearchSpaceError(f"{where}: choice() lists a value twice: {_short(list(self.choices))}")
            return
        if self.low is None or self.high is None:
            raise SearchSpaceError(f"{where}: a {self.kind.value} parameter needs both low and high")
        for label, value in (("low", self.low), ("high", self.high), ("step", self.step)):
            if value is not None and not _is_number(value):
                raise SearchSpaceError(f"{where}: '{label}' must be a number, got {value!r}")
        for bound in (self.low, self.high):
            if not math.isfinite(bound):
                raise SearchSpaceError(f"{where}: bounds must be finite, got [{self.low}, {self.high}]")
        if self.low >= self.high:
            raise SearchSpaceError(
                f"{where}: low must be smaller than high, got low={self.low}, high={self.high}"
            )
        if self.log and self.low <= 0:
            raise SearchSpaceError(
                f"{where}: a log scale needs bounds > 0, got low={self.low}, high={self.high}"
            )
        if self.step is not None:
            if not self.step > 0:
                raise SearchSpaceError(f"{where}: step must be > 0, got {self.step}")
            if self.log:
                raise SearchSpaceError(f"{where}: step and log scale cannot be combined")
        if self.kind is Kind.INT:
            if self.low != int(self.low) or self.high != int(self.high):
                raise SearchSpaceError(
                    f"{where}: an int parameter needs integer bounds, got [{self.low}, {self.high}]"
                )
            if self.step is not None and self.step != int(self.step):
                raise SearchSpaceError(f"{where}: an int parameter needs an integer step, got {self.step}")

    # --- levels of discrete parameters -------------------------------------------------

    @property
    def n_levels(self) -> int | None:
        """Number of distinct values, or None for a continuous float."""
        if self.kind is Kind.CATEGORICAL:
            return len(self.choices)
        return self._n_levels

    @functools.cached_property
    def _n_levels(self) -> int | None:
        step = self.step if self.step is not None else (1 if self.kind is Kind.INT else None)
        if step is None:
            return None
        assert self.low is not None and self.high is not None
        if self.kind is Kind.INT:
            return (int(self.high) - int(self.low)) // int(step) + 1  # exact, however wide
        # Bounds carry 12 significant digits (see _cast): a top level that lost its last digit
        # to that rounding still counts (capped: a step of 1e-12 over [0, 1] must not gain one).
        slack = 1e-9 + min(0.01, 1e-12 * max(abs(self.low), abs(self.high)) / step)
        return int(math.floor((self.high - self.low) / step + slack)) + 1

    def levels(self) -> Sequence[Any]:
        """Every value of a discrete parameter, in increasing order.

        A numeric parameter's levels are computed on access (``Levels``), never stored:
        ``int(interval(1, 10**9))`` has a billion of them."""
        n = self.n_levels
        if n is None:
            raise SearchSpaceError(f"parameter '{self.name}' is continuous and has no levels")
        if self.kind is Kind.CATEGORICAL:
            return list(self.choices)
        return Levels(self, n)

    def level(self, k: int) -> Any:
        """The k-th level (0-based) of a stepped or int parameter."""
        step = self.step if self.step is not None else 1
        assert self.low is not None
        if self.kind is Kind.INT:
            return int(self.low) + k * int(step)
        return self._cast(self.low + k * step)

    def _cast(self, x: Any) -> Any:  # a float, or any number validate() accepted
        if self.kind is Kind.INT:
            return int(round(x))
        # Drop float noise (0.1 + 2 * 0.1 = 0.30000000000000004, exp(log(1e-4)) =
        # 0.00010000000000000009): 12 significant digits are plenty for a hyperparameter.
        # The rounding must not step outside bounds that carry more digits than that.
        assert self.low is not None and self.high is not None
        return min(max(float(f"{x:.12g}"), float(self.low)), float(self.high))

    # --- unit-interval encoding ---------------------------------------------------------

    def _t(self, x: float) -> float:
        return math.log(x) if self.log else float(x)

    def to_unit(self, value: Any) -> float:
        """Encode a value into [0, 1]."""
        if self.kind is Kind.CATEGORICAL:
            return (self.index_of(value) + 0.5) / len(self.choices)
        assert self.low is not None and self.high is not None
        lo, hi = self._t(self.low), self._t(self.high)
        # min/max in plain floats: what np.clip computes, without its per-call overhead
        return min(max((self._t(value) - lo) / (hi - lo), 0.0), 1.0)

    def from_unit(self, u: float) -> Any:
        """Decode a coordinate of [0, 1] into a valid value."""
        u = float(np.clip(u, 0.0, 1.0))
        if self.kind is Kind.CATEGORICAL:
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        assert self.low is not None and self.high is not None
        lo, hi = self._t(self.low), self._t(self.high)
        x = lo + u * (hi - lo)
        x = math.exp(x) if self.log else x
        step = self.step if self.step is not None else (1 if self.kind is Kind.INT else None)
        if step is not None:
            x = self.low + round((x - self.low) / step) * step
            if x > self.high + 1e-12:  # the top level when high - low is not a multiple of step
                x -= step
        return self._cast(min(max(x, self.low), self.high))

    def index_of(self, value: Any) -> int:
        i = self._choice_index.get(_hashable(value))
        if i is None:
            raise SearchSpaceError(
                f"parameter '{self.name}': {_short(value)} is not one of the choices {_short(list(self.choices))}"
            )
        return i

    @functools.cached_property
    def _choice_index(self) -> dict[Any, int]:
        # Hash lookup: a choice of 10,000 levels is encoded once per value, not scanned.
        return {_hashable(c): i for i, c in enumerate(self.choices)}

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise if it lies outside."""
        where = f"parameter '{self.name}'"
        if self.kind is Kind.CATEGORICAL:
            return self.choices[self.index_of(value)]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SearchSpaceError(f"{where}: expected a number, got {value!r}")
        assert self.low is not None and self.high is not None
        # Values are kept to 12 significant digits (see _cast): allow that much noise, relative to
        # the bounds (an absolute floor of 1e-11 let 1.5e-11 into [1e-14, 1e-11], clipped to 1e-11).
        tol = 1e-11 * max(abs(self.low), abs(self.high))
        if not (self.low - tol <= value <= self.high + tol):
            raise SearchSpaceError(f"{where}: {value!r} lies outside [{self.low}, {self.high}]")
        step = self.step if self.step is not None else (1 if self.kind is Kind.INT else None)
        if step is not None:
            k = (value - self.low) / step
            if abs(k - round(k)) * step > tol:
                raise SearchSpaceError(f"{where}: {value!r} is not on the grid low + k * {step}")
        return self._cast(value)

    def grid(self, points: int) -> Sequence[Any]:
        """Values for a grid search: every level of a stepped or categorical parameter,
        ``points`` evenly spaced values (log-spaced on a log scale) otherwise.

        Levels stay lazy (``Levels``): a stepped axis of 10**12 values costs nothing until
        a value is asked for, so the size of a grid is known without enumerating it."""
        n = self.n_levels
        explicit = self.kind is Kind.CATEGORICAL or self.step is not None
        if n is not None and (explicit or n <= points):
            return self.levels()
        return _dedupe([self.from_unit(u) for u in np.linspace(0.0, 1.0, points)])

    def describe(self) -> dict[str, Any]:
        """A plain-data description (used to detect a changed space on resume)."""
        if self.kind is Kind.CATEGORICAL:
            return {"type": "categorical", "choices": list(self.choices)}
        out: dict[str, Any] = {"type": self.kind.value, "low": self.low, "high": self.high, "log": self.log}
        if self.step is not None:
            out["step"] = self.step
        return out


class Levels(Sequence[Any]):
    """The levels of a stepped or int parameter, computed on access (``low + k * step``)."""

    def __init__(self, param: Parameter, n: int) -> None:
        self.param, self._n = param, n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, k: int) -> Any: ...

    @overload
    def __getitem__(self, k: slice) -> list[Any]: ...

    def __getitem__(self, k: int | slice) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._n))]
        if k < 0:
            k += self._n
        if not 0 <= k < self._n:
            raise IndexError(f"level {k} of parameter '{self.param.name}' (it has {self._n})")
        return self.param.level(k)

    def __iter__(self) -> Iterator[Any]:
        return (self.param.level(k) for k in range(self._n))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self[:5])
        return f"Levels([{head}{', ...' if self._n > 5 else ''}], n={self._n})"


def snap_to_levels(x: Any, levels: Any, n_levels: Any, xp: Any = np) -> Any:
    """THE rule that moves a unit coordinate onto its parameter's nearest level.

    Shared by numpy code (``xp=numpy``: the candidate sampler, ``FeatureLayout.snap``) and
    JAX code (``xp=jax.numpy``, vmapped over columns inside the jitted acquisition search),
    so both always agree on a level. Ties go to the lower level.

    Args:
        x: (M,) unit coordinates of one numeric column.
        levels: (L,) its sorted unit levels, padded with +inf beyond ``n_levels``.
        n_levels: () how many of ``levels`` are real; 0 means continuous (``x`` is kept).
    """
    i = xp.clip(xp.searchsorted(levels, x), 1, xp.maximum(n_levels - 1, 1))
    lo, hi = levels[i - 1], levels[xp.minimum(i, levels.shape[0] - 1)]
    nearest = xp.where(xp.abs(x - lo) <= xp.abs(hi - x), lo, hi)
    return xp.where(n_levels > 0, nearest, x)


@dataclass(frozen=True)
class InactiveRule:
    """When one conditional parameter's feature columns are active (``FeatureLayout.inactive``).

    ``columns``: the parameter's columns (one, or its one-hot group when ``categorical``);
    ``onehot``: per categorical parent, the one-hot columns of the values its ``when`` allows;
    ``levels``: per discrete numeric parent, its column and the unit coordinates of the allowed
    values; ``parent_rules``: the indices (in ``FeatureLayout.inactive``) of the parents that are
    conditional themselves, whose own activity multiplies in (rules come in tree order)."""

    columns: tuple[int, ...]
    categorical: bool
    onehot: tuple[tuple[int, ...], ...] = ()
    levels: tuple[tuple[int, tuple[float, ...]], ...] = ()
    parent_rules: tuple[int, ...] = ()


def on_tree(X: Any, rules: Sequence[InactiveRule], xp: Any = np) -> Any:
    """(M, D) features -> the same rows at their point of the tree: each inactive parameter's
    columns set as ``SearchSpace.to_features`` writes them (a numeric one ``INACTIVE_UNIT``, a
    categorical one all zeros), whatever a relaxed row held there. numpy (``xp=numpy``, a copy)
    or JAX (``xp=jax.numpy``, inside the acquisition: a candidate is scored at the configuration
    it decodes to, not at a point with free inactive coordinates that no trial can have)."""
    if not rules:
        return X
    if xp is np:
        X = np.array(X, dtype=float, copy=True)
    acts: list[Any] = []
    for r in rules:
        a = xp.ones(X.shape[0], dtype=X.dtype)
        for cols in r.onehot:
            a = a * xp.sum(X[:, list(cols)], axis=1)
        for col, units in r.levels:
            hit = xp.abs(X[:, col][:, None] - xp.asarray(units, dtype=X.dtype)[None, :]) < 1e-9
            a = a * xp.any(hit, axis=1).astype(X.dtype)
        for i in r.parent_rules:
            a = a * acts[i]
        acts.append(a)
        c = list(r.columns)
        fill = 0.0 if r.categorical else INACTIVE_UNIT
        new = a[:, None] * X[:, c] + (1.0 - a[:, None]) * fill
        if xp is np:
            X[:, c] = new
        else:
            X = X.at[:, c].set(new)
    return X


@dataclass(frozen=True, eq=False)
class FeatureLayout:
    """The space as arrays, computed once per space (``SearchSpace.layout``): what an
    array-native engine needs to know about the columns of ``X: (n, D)``.

    Per feature column group:
        ``numeric[i]``: the column of the i-th numeric parameter; ``categorical``: the
        one-hot column groups, one per categorical parameter.
    Per numeric parameter (``i`` indexes ``numeric``):
        ``numeric_levels[i]``: its sorted unit levels when discrete with at most
        ``MAX_ENUMERATED_LEVELS`` levels, else None; ``levels: (n_numeric, L)`` the same,
        +inf padded, and ``n_levels: (n_numeric,)`` their counts (0: continuous, or too many
        levels to enumerate): the arrays ``snap_to_levels`` reads.
    Per parameter (``j`` indexes ``params``):
        ``kind[j]``, ``log[j]``, ``low[j]``/``high[j]`` (bounds; NaN for a categorical),
        ``step[j]`` (NaN when none), ``column[j]`` (its first feature column).
    Per conditional parameter, in tree order: ``inactive``, the rules ``on_tree`` applies.
    """

    n_features: int
    numeric: tuple[int, ...]
    numeric_levels: tuple[np.ndarray | None, ...]
    categorical: tuple[tuple[int, ...], ...]
    params: tuple[Parameter, ...] = ()
    kind: tuple[Kind, ...] = ()
    log: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    low: np.ndarray = field(default_factory=lambda: np.zeros(0))
    high: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    column: tuple[int, ...] = ()
    levels: np.ndarray = field(default_factory=lambda: np.full((0, 1), np.inf))
    n_levels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    inactive: tuple[InactiveRule, ...] = ()

    def snap(self, X: np.ndarray) -> np.ndarray:
        """(n, D) relaxed features -> a copy with numeric levels snapped (``snap_to_levels``)
        and every categorical group one-hot at its argmax."""
        X = np.array(X, dtype=float, copy=True).reshape(-1, self.n_features)
        for i, col in enumerate(self.numeric):
            if self.n_levels[i] > 0:
                X[:, col] = snap_to_levels(X[:, col], self.levels[i], self.n_levels[i])
        for cols in self.categorical:
            c = list(cols)
            X[:, c] = np.eye(len(c))[np.argmax(X[:, c], axis=1)]
        return X


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of parameters plus fixed values passed to every trial."""

    params: tuple[Parameter, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    #: ``{child: {parent: value or [values]}}``: conditional parameters (``hpo_sweeper.conditions``)
    when: Mapping[str, Any] = field(default_factory=dict)
    #: partial configurations never proposed: ``[{key: value or [values], ...}, ...]``
    forbidden: Sequence[Any] = ()
    # computed from when/forbidden by __post_init__ (hpo_sweeper.conditions.check)
    _conditions: dict[str, Any] = field(init=False, repr=False, compare=False, default_factory=dict)
    _forbidden: tuple[dict[str, frozenset[Any]], ...] = field(init=False, repr=False, compare=False, default=())
    _order: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SearchSpaceError(f"parameters defined twice: {dupes}")
        clash = sorted(set(names) & set(self.fixed))
        if clash:
            raise SearchSpaceError(f"parameters both searched and fixed: {clash}")
        from hpo_sweeper import conditions

        conds, forbidden = conditions.check(self.params, self.fixed, self.when, self.forbidden)
        object.__setattr__(self, "_conditions", conds)
        object.__setattr__(self, "_forbidden", forbidden)
        object.__setattr__(self, "_order", tuple(conditions.topological_order(self.params, conds)))

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_config(cls, mapping: Mapping[str, Any]) -> SearchSpace:
        """Build a space from ``{name: spec}``.

        A spec is a string in Hydra's override grammar (``interval(1e-4, 1e-1)``,
        ``tag(log, int(interval(8, 256)))``, ``range(1, 10, 2)``, ``choice(a, b)``,
        ``a,b,c``), a dict in the Optuna form (``{type: float|int|categorical, low,
        high, log, step, choices}``), a list (a choice of its items), or any other
        scalar (a fixed value).
        """
        from hpo_sweeper.conditions import split_conditions
        from hpo_sweeper.grammar import parse_spec  # the grammar needs hydra-core's parser

        specs, when, forbidden = split_conditions(mapping)
        params: list[Parameter] = []
        fixed: dict[str, Any] = {}
        for name, spec in specs.items():
            parsed = parse_spec(str(name), spec)
            if isinstance(parsed, Parameter):
                params.append(parsed)
            else:
                fixed[str(name)] = parsed.value
        return cls(tuple(params), fixed, when, tuple(forbidden))

    # --- basic facts --------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def __len__(self) -> int:
        return len(self.params)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "params": {p.name: p.describe() for p in self.params},
            "fixed": dict(self.fixed),
        }
        if self.when:  # only then: an unconditional sweep's recorded description is unchanged
            out["when"] = {k: dict(v) for k, v in self.when.items()}
        if self.forbidden:
            out["forbidden"] = [dict(e) for e in self.forbidden]
        return out

    # --- conditions (hpo_sweeper.conditions) -------------------------------------------------

    @property
    def conditional(self) -> bool:
        """Whether some parameter has a ``when`` or some combination is forbidden."""
        return bool(self._conditions or self._forbidden)

    def active(self, params: Mapping[str, Any]) -> list[str]:
        """The searched keys that apply to a configuration, in declaration order: a parameter is
        active when it has no ``when``, or its parents are active and take allowed values."""
        conds = self._conditions
        if not conds:
            return self.names
        act: dict[str, Any] = {}
        for n in self._order:
            c = conds.get(n)
            if c is None or c.holds(act):
                act[n] = params.get(n)
        return [n for n in self._names if n in act]

    def prune(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration without its inactive parameters (fixed values kept)."""
        if not self._conditions:
            return dict(point)
        inactive = set(self._names) - set(self.active(point))
        return {k: v for k, v in point.items() if k not in inactive}

    def is_forbidden(self, point: Mapping[str, Any]) -> bool:
        """Whether a (pruned) configuration matches a ``forbidden`` entry: every key present and allowed."""
        return any(
            all(k in point and _hashable(point[k]) in allowed for k, allowed in entry.items())
            for entry in self._forbidden
        )

    def is_finite(self) -> bool:
        return all(p.n_levels is not None for p in self.params)

    def cardinality(self) -> int | None:
        """Number of distinct configurations, or None when a parameter is continuous.

        A conditional space counts valid configurations exactly; with ``forbidden`` entries
        they are enumerated when at most 10**6 (else the count before them, an upper bound)."""
        if self.conditional and self.is_finite():
            from hpo_sweeper import conditions

            axes = {p.name: p.levels() for p in self.params}
            count = conditions.count_points(self._order, self._conditions, axes)
            if self._forbidden and count <= 10**6:
                count = sum(1 for pt in conditions.iter_points(self._order, self._conditions, axes)
                            if not self.is_forbidden(pt))
            return count
        total = 1
        for p in self.params:
            n = p.n_levels
            if n is None:
                return None
            total *= n
        return total

    # --- points ---------------------------------------------------------------------------

    def validate(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """Check a user-supplied configuration; fixed values are filled in."""
        unknown = sorted(set(point) - set(self.names) - set(self.fixed))
        if unknown:
            raise SearchSpaceError(f"unknown parameters {unknown}; the space has {self.names}")
        out = {p.name: p.validate(point[p.name]) for p in self.params if p.name in point}
        active = self.active(out)
        inactive = [n for n in self._names if n in point and n not in active]
        if inactive:
            raise SearchSpaceError(f"parameters {inactive} do not apply to this configuration (their 'when' "
                                   "does not hold); leave them out")
        missing = [n for n in active if n not in point]
        if missing:
            raise SearchSpaceError(f"missing values for parameters {missing}")
        if self.is_forbidden(out):
            raise SearchSpaceError(f"the configuration {_short(out)} is forbidden (it matches a 'forbidden' entry)")
        out.update(self.fixed)
        return out

    def key(self, point: Mapping[str, Any]) -> tuple[Any, ...]:
        """A hashable identity of a point's searched values (for duplicate checks).

        Floats count to 12 significant digits (as ``Parameter._cast`` keeps them), lists and
        dicts by their canonical form, so ``{z: [1, 2]}`` is a key like any other."""
        if self._conditions:
            # an inactive key counts as absent, whatever a caller left in it
            active = set(self.active(point))
            return tuple(_hashable(point[n]) if n in active else _INACTIVE for n in self._names)
        return tuple(_hashable(point[n]) for n in self._names)

    def to_unit(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """(n, d) unit coordinates of configurations."""
        return np.array([[p.to_unit(pt[p.name]) if p.name in pt else INACTIVE_UNIT for p in self.params]
                         for pt in points], dtype=float).reshape(len(points), len(self.params))

    def from_unit(self, U: np.ndarray) -> list[dict[str, Any]]:
        """Configurations (fixed values included) from (n, d) unit coordinates."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        out = []
        for row in U:
            pt = {p.name: p.from_unit(u) for p, u in zip(self.params, row)}
            pt = self.prune(pt)  # the tree: a child is drawn only where its parents let it exist
            pt.update(self.fixed)
            out.append(pt)
        return out

    # --- GP features -----------------------------------------------------------------------

    @functools.cached_property
    def layout(self) -> FeatureLayout:
        """Computed once per space (it was rebuilt on every access: 110 ms with one
        ``int(interval(1, 4096))``); the space is frozen, so it cannot go stale."""
        numeric: list[int] = []
        levels: list[np.ndarray | None] = []
        cats: list[tuple[int, ...]] = []
        column: list[int] = []
        col = 0
        for p in self.params:
            column.append(col)
            if p.kind is Kind.CATEGORICAL:
                cats.append(tuple(range(col, col + len(p.choices))))
                col += len(p.choices)
            else:
                numeric.append(col)
                n = p.n_levels
                if n is not None and n <= MAX_ENUMERATED_LEVELS:
                    levels.append(np.unique(_units(p, list(p.levels()))))
                else:
                    levels.append(None)
                col += 1
        width = max([1] + [len(lv) for lv in levels if lv is not None])
        padded = np.full((len(levels), width), np.inf)
        counts = np.zeros(len(levels), dtype=np.int32)
        for i, lv in enumerate(levels):
            if lv is not None:
                padded[i, : len(lv)] = lv
                counts[i] = len(lv)
        nan = math.nan
        return FeatureLayout(
            n_features=col,
            numeric=tuple(numeric),
            numeric_levels=tuple(levels),
            categorical=tuple(cats),
            params=self.params,
            kind=tuple(p.kind for p in self.params),
            log=np.array([p.log for p in self.params], dtype=bool),
            low=np.array([nan if p.low is None else float(p.low) for p in self.params]),
            high=np.array([nan if p.high is None else float(p.high) for p in self.params]),
            step=np.array([nan if p.step is None else float(p.step) for p in self.params]),
            column=tuple(column),
            levels=padded,
            n_levels=counts,
            inactive=self._inactive_rules(tuple(column)),
        )

    def _inactive_rules(self, column: tuple[int, ...]) -> tuple[InactiveRule, ...]:
        """``FeatureLayout.inactive``: one rule per conditional parameter, parents first."""
        by_name = {p.name: (p, col) for p, col in zip(self.params, column)}
        rules: list[InactiveRule] = []
        index: dict[str, int] = {}
        for name in self._order:
            cond = self._conditions.get(name)
            if cond is None:
                continue
            p, col = by_name[name]
            onehot, levels, parents = [], [], []
            for parent, allowed in cond.values.items():
                q, qcol = by_name[parent]
                if q.kind is Kind.CATEGORICAL:
                    onehot.append(tuple(qcol + i for i, v in enumerate(q.choices) if _hashable(v) in allowed))
                else:  # a discrete numeric parent: its allowed values' unit coordinates (never all its levels)
                    values = sorted(h[1] for h in allowed if h[0] == "")
                    levels.append((qcol, tuple(float(u) for u in _units(q, values))))
                if parent in index:
                    parents.append(index[parent])
            index[name] = len(rules)
            width = len(p.choices) if p.kind is Kind.CATEGORICAL else 1
            rules.append(InactiveRule(columns=tuple(range(col, col + width)), categorical=p.kind is Kind.CATEGORICAL,
                                      onehot=tuple(onehot), levels=tuple(levels), parent_rules=tuple(parents)))
        return tuple(rules)

    def to_features(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """(n, D) GP features of configurations: one column (or one-hot group) at a time,
        vectorised, with the same arithmetic as ``Parameter.to_unit``."""
        layout = self.layout
        n = len(points)
        X = np.zeros((n, layout.n_features))
        if n <= _SCALAR_ROWS:  # a proposal or two: plain Python beats numpy's per-call overhead
            for i, pt in enumerate(points):
                for p, col in zip(self.params, layout.column):
                    if p.name not in pt:  # inactive: see INACTIVE_UNIT
                        if p.kind is not Kind.CATEGORICAL:
                            X[i, col] = INACTIVE_UNIT
                    elif p.kind is Kind.CATEGORICAL:
                        X[i, col + p.index_of(pt[p.name])] = 1.0
                    else:
                        X[i, col] = p.to_unit(pt[p.name])
            return X
        if self._conditions:
            return np.concatenate([self.to_features(points[i:i + _SCALAR_ROWS])
                                   for i in range(0, n, _SCALAR_ROWS)]).reshape(n, layout.n_features)
        rows = np.arange(n)
        for p, col in zip(self.params, layout.column):
            values = [pt[p.name] for pt in points]
            if p.kind is Kind.CATEGORICAL:
                idx = np.fromiter((p.index_of(v) for v in values), dtype=np.intp, count=n)
                X[rows, col + idx] = 1.0
            else:
                X[:, col] = _units(p, values)
        return X
    def from_features(self, X: np.ndarray) -> list[dict[str, Any]]:
        """Configurations from (n, D) features of the relaxed cube (argmax of one-hots)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        out = []
        for row in X:
            pt: dict[str, Any] = {}
            col = 0
            for p in self.params:
                if p.kind is Kind.CATEGORICAL:
                    k = len(p.choices)
                    pt[p.name] = p.choices[int(np.argmax(row[col : col + k]))]
                    col += k
                else:
                    pt[p.name] = p.from_unit(row[col])
                    col += 1
            pt = self.prune(pt)
            pt.update(self.fixed)
            out.append(pt)
        return out

    def snap_features(self, X: np.ndarray) -> np.ndarray:
        """Project relaxed features onto valid configurations: (n, D) -> (n, D)."""
        return self.to_features(self.from_features(X))


# --- small helpers -----------------------------------------------------------------------------

#: An inactive parameter's coordinate (``to_unit``, and its feature column; an inactive categorical's
#: one-hot group is all zeros). Imputation with one constant: within a branch the GP sees the
#: column as constant, and the parent's own column (one-hot, or level) already tells branches apart.
#: The JAX engine's acquisition scores candidates at this imputation too (``on_tree``); the constant,
#: the constant plus an indicator column, and scoring free inactive coordinates were measured in
#: benchmarks/notes/issue17_conditional.md.
INACTIVE_UNIT = 0.5
#: ``SearchSpace.key`` of an inactive parameter
_INACTIVE = ("inactive",)

#: ``to_features`` encodes up to this many points one value at a time, more column by column
#: (measured, 1 point of the README's MLP space: 6.5 us that way, 24 us vectorised)
_SCALAR_ROWS = 4


def _units(p: Parameter, values: Sequence[Any]) -> np.ndarray:
    """``Parameter.to_unit`` of many values of a numeric parameter at once, bit for bit
    (the same math.log, then the same float64 arithmetic, vectorised)."""
    assert p.low is not None and p.high is not None
    if p.log:
        x = np.array([math.log(v) for v in values], dtype=float)
    else:
        x = np.array(values, dtype=float).reshape(len(values))
    lo, hi = p._t(p.low), p._t(p.high)
    # maximum/minimum rather than np.clip: the same values, at a fifth of the call overhead
    return np.minimum(np.maximum((x - lo) / (hi - lo), 0.0), 1.0)


def _same_value(a: Any, b: Any) -> bool:
    """Do two values name the same configuration value? (``_hashable`` decides.)"""
    return _hashable(a) == _hashable(b)


def _hashable(v: Any) -> Any:
    """A hashable canonical form of a parameter value.

    True == 1 in Python, but choice(1, true) names two different values: bools and None
    carry a tag. Numbers compare by value (1 and 1.0 are one value), floats to 12
    significant digits (the precision ``Parameter._cast`` keeps; 12 *decimal places* made
    every value below 1e-12 one key). Lists and dicts, valid categorical values in Hydra,
    hash by their contents, dict keys sorted, recursively (a canonical JSON, as tuples).
    """
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or isinstance(v, bool):
        return ("none",) if v is None else ("bool", v)
    if isinstance(v, float):
        if math.isnan(v):
            return ("nan",)
        return ("", float(f"{v:.12g}") if math.isfinite(v) else v)
    if isinstance(v, (int, str, bytes)):
        return ("", v)
    if isinstance(v, Mapping):
        items = [(_hashable(k), _hashable(x)) for k, x in v.items()]
        return ("dict", tuple(sorted(items, key=repr)))
    if isinstance(v, (list, tuple)):
        return ("list", tuple(_hashable(x) for x in v))
    try:
        hash(v)
    except TypeError:
        return ("repr", type(v).__name__, repr(v))  # exotic unhashable values: by their text
    return ("", v)


def _dedupe(values: Iterable[Any]) -> list[Any]:
    """Values in order, repeats (by ``_hashable``) dropped; linear time."""
    seen: dict[Any, Any] = {}
    for v in values:
        seen.setdefault(_hashable(v), v)
    return list(seen.values())


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _short(obj: Any, limit: int = 300) -> str:
    """repr(), cut short: an error message about a choice of 10,000 values stays readable."""
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
