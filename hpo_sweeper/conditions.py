"""Conditional search spaces: ``when`` conditions (a tree of parameters) and ``forbidden`` combinations.

A parameter with ``when: {parent: value}`` (or a list of values; several parents: all
must hold) exists only when its parents are active and take one of those values. An
inactive parameter is absent from a configuration: it is not passed to the job, its
trials.csv cell is empty and it never makes two configurations distinct.

``forbidden`` lists partial configurations that are never proposed: a configuration
is forbidden when every key of one entry is active and takes (one of) its value(s).

Everything is checked when the space is built (``check``), before any job: an unknown
parent, a value the parent cannot take, a parent that is fixed or continuous, a
condition on a key that is not searched, a cycle.

This module knows nothing of Hydra; ``SearchSpace`` calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo_sweeper.space import Parameter

__all__ = ["FORBIDDEN_KEY", "WHEN_KEY", "Condition", "check", "fix_parents", "split_conditions", "topological_order"]

#: The key of a parameter's dict spec that makes it conditional.
WHEN_KEY = "when"
#: The entry of a search-space mapping that lists forbidden combinations.
FORBIDDEN_KEY = "forbidden"


@dataclass(frozen=True)
class Condition:
    """``values[parent]``: the values (hashable forms, see ``space._hashable``) for which the child is active."""

    values: Mapping[str, frozenset[Any]]

    def holds(self, point: Mapping[str, Any]) -> bool:
        from hpo_sweeper.space import _hashable

        return all(p in point and _hashable(point[p]) in allowed for p, allowed in self.values.items())


def split_conditions(
    mapping: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """``{name: spec}`` -> (specs without ``when``, ``{name: when}``, forbidden entries).

    ``forbidden`` is the reserved entry when its value is a list of mappings (a choice of
    dicts would be written as a grammar string or ``{type: categorical, choices: [...]}``)."""
    specs: dict[str, Any] = {}
    when: dict[str, Any] = {}
    forbidden: list[Any] = []
    for name, spec in mapping.items():
        name = str(name)
        spec = _plain(spec)
        if name == FORBIDDEN_KEY and isinstance(spec, list) and all(isinstance(e, Mapping) for e in spec):
            forbidden = spec
            continue
        if isinstance(spec, Mapping) and WHEN_KEY in spec:
            spec = dict(spec)
            when[name] = spec.pop(WHEN_KEY)
            if set(spec) == {"sweep"}:  # the grammar-friendly form: {sweep: "interval(0, 1)", when: {...}}
                spec = spec["sweep"]
        specs[name] = spec
    return specs, when, forbidden


def check(
    params: Sequence[Parameter],
    fixed: Mapping[str, Any],
    when: Mapping[str, Any],
    forbidden: Sequence[Any],
) -> tuple[dict[str, Condition], tuple[dict[str, frozenset[Any]], ...]]:
    """Validate conditions and forbidden entries against the parameters; every mistake is a named error."""
    from hpo_sweeper.space import SearchSpaceError

    by_name = {p.name: p for p in params}
    conditions: dict[str, Condition] = {}
    for child, spec in when.items():
        where = f"parameter '{child}': when"
        if child in fixed:
            raise SearchSpaceError(f"{where}: '{child}' has a fixed value; only a searched parameter can be "
                                   "conditional")
        if child not in by_name:
            raise SearchSpaceError(f"{where}: '{child}' is not a searched parameter (a condition on a key that is "
                                   "not searched)")
        if not isinstance(spec, Mapping) or not spec:
            raise SearchSpaceError(f"{where} must map parent keys to a value or a list of values, got {spec!r}")
        conditions[child] = Condition({str(parent): _allowed(where, str(parent), values, by_name, fixed, child)
                                       for parent, values in spec.items()})
    topological_order(params, conditions)  # raises on a cycle
    entries = tuple(_forbidden_entry(i, e, by_name, fixed) for i, e in enumerate(forbidden))
    return conditions, entries


def _allowed(where: str, parent: str, values: Any, by_name: Mapping[str, Parameter], fixed: Mapping[str, Any],
             child: str) -> frozenset[Any]:
    from hpo_sweeper.space import SearchSpaceError, _hashable

    if parent == child:
        raise SearchSpaceError(f"{where}: '{child}' cannot depend on itself (a cycle)")
    if parent in fixed:
        raise SearchSpaceError(f"{where}: the parent '{parent}' has a fixed value ({fixed[parent]!r}); a condition "
                               "needs a searched parent")
    p = by_name.get(parent)
    if p is None:
        raise SearchSpaceError(f"{where}: unknown parent '{parent}'; searched parameters: {sorted(by_name)}")
    if p.n_levels is None:
        raise SearchSpaceError(f"{where}: the parent '{parent}' is continuous; a parent must be a choice or "
                               "take discrete values")
    listed = values if isinstance(values, (list, tuple)) else [values]
    if not listed:
        raise SearchSpaceError(f"{where}: the values of '{parent}' are an empty list")
    out = set()
    for v in listed:
        try:
            out.add(_hashable(p.validate(v)))
        except SearchSpaceError as e:
            raise SearchSpaceError(f"{where}: {v!r} is not a value the parent '{parent}' can take ({e})") from None
    return frozenset(out)


def _forbidden_entry(i: int, entry: Any, by_name: Mapping[str, Parameter],
                     fixed: Mapping[str, Any]) -> dict[str, frozenset[Any]]:
    from hpo_sweeper.space import SearchSpaceError, _hashable

    where = f"forbidden[{i}]"
    if not isinstance(entry, Mapping) or not entry:
        raise SearchSpaceError(f"{where} must map searched keys to a value or a list of values, got {entry!r}")
    out: dict[str, frozenset[Any]] = {}
    for key, values in entry.items():
        key = str(key)
        p = by_name.get(key)
        if p is None:
            what = "has a fixed value" if key in fixed else "is not a searched parameter"
            raise SearchSpaceError(f"{where}: '{key}' {what}; searched parameters: {sorted(by_name)}")
        listed = values if isinstance(values, (list, tuple)) and not _is_choice_value(p, values) else [values]
        allowed = set()
        for v in listed:
            try:
                allowed.add(_hashable(p.validate(v)))
            except Exception as e:
                raise SearchSpaceError(f"{where}: {v!r} is not a value '{key}' can take ({e})") from None
        out[key] = frozenset(allowed)
    return out


def _is_choice_value(p: Parameter, values: Any) -> bool:
    """A list that is itself one of a categorical's choices (Hydra allows list values) is one value."""
    from hpo_sweeper.space import _hashable

    return any(_hashable(c) == _hashable(values) for c in p.choices)


def fix_parents(
    when: Mapping[str, Any],
    forbidden: Sequence[Any],
    fixed: Mapping[str, Any],
    parents: Mapping[str, Parameter],
) -> tuple[dict[str, Any], list[Any], list[str]]:
    """Keep to one branch: the command line fixed some parents the space searched (``optim.name=sgd``).

    ``fixed`` maps those parents to their value, ``parents`` to the parameter the space had for them
    (a ``when`` value must still be one it could take: a typo stays an error). A child whose ``when``
    asks another value of a fixed parent (or whose parent is dropped) is dropped: searched nowhere,
    passed to no job. A fixed parent that satisfies a ``when`` leaves it (an empty ``when``: the child
    is searched in every job). A forbidden entry that names a dropped key, or another value of a fixed
    parent, can never match and goes; a fixed parent's own value leaves the entry; an entry left empty
    forbids everything, an error.

    Returns (the conditions that remain, the forbidden entries that remain, the dropped keys in order).
    """
    from hpo_sweeper.space import SearchSpaceError, _hashable

    def allowed(where: str, parent: str, values: Any) -> set[Any]:
        p = parents[parent]
        out = set()
        for v in values if isinstance(values, (list, tuple)) else [values]:
            try:
                out.add(_hashable(p.validate(v)))
            except SearchSpaceError as e:
                raise SearchSpaceError(f"{where}: {v!r} is not a value the parent '{parent}' can take ({e})") from None
        return out

    fixed_h = {k: _hashable(v) for k, v in fixed.items()}
    remaining = {c: dict(spec) if isinstance(spec, Mapping) else spec for c, spec in when.items()}
    dropped: list[str] = []
    changed = True
    while changed:  # a dropped child may be a parent in turn: its children go too
        changed = False
        for child, spec in list(remaining.items()):
            if not isinstance(spec, Mapping):
                continue  # malformed: check() names it
            gone = any(str(p) in dropped for p in spec) or any(
                str(p) in fixed_h and fixed_h[str(p)] not in allowed(f"parameter '{child}': when", str(p), v)
                for p, v in spec.items())
            if gone:
                del remaining[child]
                dropped.append(child)
                changed = True
    for child, spec in list(remaining.items()):
        if isinstance(spec, Mapping):
            spec = {p: v for p, v in spec.items() if str(p) not in fixed_h}
            if spec:
                remaining[child] = spec
            else:
                del remaining[child]  # every parent fixed to an allowed value: always active
    kept: list[Any] = []
    for i, entry in enumerate(forbidden):
        if not isinstance(entry, Mapping):
            kept.append(entry)  # malformed: check() names it
            continue
        if any(str(k) in dropped for k in entry):
            continue
        rest = {}
        matches = True
        for k, v in entry.items():
            if str(k) in fixed_h:
                matches = matches and fixed_h[str(k)] in allowed(f"forbidden[{i}]", str(k), v)
            else:
                rest[k] = v
        if not matches:
            continue
        if not rest:
            shown = ", ".join(f"{k}={fixed[str(k)]!r}" for k in entry)
            raise SearchSpaceError(f"forbidden[{i}] forbids every configuration once the command line fixes {shown}")
        kept.append(rest)
    return remaining, kept, dropped


def topological_order(params: Sequence[Parameter], conditions: Mapping[str, Condition]) -> list[str]:
    """Parameter names, parents before children, otherwise in declaration order; raises on a cycle."""
    from hpo_sweeper.space import SearchSpaceError

    names = [p.name for p in params]
    state: dict[str, int] = {}  # 1: on the path, 2: done
    order: list[str] = []

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            cycle = path[path.index(n):] + [n]
            raise SearchSpaceError(f"conditions form a cycle: {' -> '.join(cycle)} (each 'when' names a parent)")
        state[n] = 1
        for parent in conditions[n].values if n in conditions else ():
            visit(parent, [*path, n])
        state[n] = 2
        order.append(n)

    for n in names:
        visit(n, [])
    return order


def _plain(v: Any) -> Any:
    try:
        from omegaconf import OmegaConf
    except ImportError:  # pragma: no cover - omegaconf comes with hydra-core
        return v
    return OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v


# --- counting and enumerating the valid configurations of a finite tree ------------------------


def iter_points(
    order: Sequence[str],
    conditions: Mapping[str, Condition],
    axes: Mapping[str, Sequence[Any]],
) -> Any:
    """Every valid configuration (inactive keys absent) over the given axes, in ``order``
    with the last key varying fastest; forbidden ones are not filtered here."""

    def walk(i: int, point: dict[str, Any]) -> Any:
        if i == len(order):
            yield dict(point)
            return
        n = order[i]
        c = conditions.get(n)
        if c is not None and not c.holds(point):
            yield from walk(i + 1, point)
            return
        for v in axes[n]:
            point[n] = v
            yield from walk(i + 1, point)
        del point[n]

    yield from walk(0, {})


def count_points(
    order: Sequence[str],
    conditions: Mapping[str, Condition],
    axes: Mapping[str, Sequence[Any]],
) -> int:
    """How many configurations ``iter_points`` yields, without listing them: only parents
    branch; every other active key multiplies the count by its axis length."""
    from hpo_sweeper.space import _hashable

    parents = {p for c in conditions.values() for p in c.values}
    lookup = {n: [_hashable(v) for v in axes[n]] for n in parents}

    def walk(i: int, point: dict[str, Any]) -> int:
        if i == len(order):
            return 1
        n = order[i]
        c = conditions.get(n)
        if c is not None and not all(p in point and point[p] in allowed for p, allowed in c.values.items()):
            return walk(i + 1, point)
        if n not in parents:
            return len(axes[n]) * walk(i + 1, point)
        total = 0
        for h in lookup[n]:
            point[n] = h
            total += walk(i + 1, point)
        del point[n]
        return total

    return walk(0, {})
