"""Pareto fronts, hypervolume and the non-dominated region, for minimised objectives.

Notation: ``n`` points, ``m`` objectives; ``Y: (n, m)`` values to MINIMISE (user values
pass through ``to_minimize`` with one ``Direction`` per objective first);
``feasible: (n,)`` bool, ``False`` for a point that violates a constraint; ``ref: (m,)``
the reference point (a point counts towards the hypervolume only where it is strictly
better than ``ref`` in every objective).

Conventions:

* ``a`` dominates ``b`` when ``a <= b`` everywhere and ``a < b`` somewhere. Duplicates do
  not dominate each other, so every copy of a front point is on the front (Optuna's
  ``best_trials`` keeps them too); ``unique_front`` drops repeats where one copy is wanted.
* An infeasible point is never on the front and never dominates anything: the front is
  the front of the feasible points alone. ``nondominated_ranks`` gives it rank -1.
* Non-finite values (NaN, +-inf) are refused with a ``ValueError``: a crashed trial has no
  values, and the caller must leave it out (or mark it infeasible with finite values).

Pure numpy: no jax import (the library and the results writer use this module).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpo_sweeper.direction import Direction

__all__ = [
    "REF_RULE",
    "REF_RULES",
    "REF_SCALE",
    "hypervolume",
    "hypervolume_improvement",
    "nondominated_boxes",
    "nondominated_ranks",
    "pareto_mask",
    "reference_point",
    "to_minimize",
    "unique_front",
]

#: the default reference point lies this fraction of the range beyond the worst feasible value
REF_SCALE = 0.1


def to_minimize(values: np.ndarray | Sequence[Sequence[float]], directions: Sequence[Direction | str]) -> np.ndarray:
    """User values ``(n, m)`` -> values to minimise: maximised columns are negated."""
    Y = np.asarray(values, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"values must be a 2-D array (n points, m objectives), got shape {Y.shape}")
    signs = np.array([Direction.parse(d, name=f"direction[{i}]").sign for i, d in enumerate(directions)])
    if len(signs) != Y.shape[1]:
        raise ValueError(f"{Y.shape[1]} objective values per point but {len(signs)} directions")
    return Y * signs


def _check(Y: np.ndarray | Sequence[Sequence[float]], feasible: np.ndarray | Sequence[bool] | None) -> tuple[
    np.ndarray, np.ndarray
]:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D array (n points, m objectives), got shape {Y.shape}")
    if not np.all(np.isfinite(Y)):
        raise ValueError("Y holds non-finite values; leave crashed trials out of the front")
    if feasible is None:
        feas = np.ones(len(Y), dtype=bool)
    else:
        feas = np.asarray(feasible, dtype=bool)
        if feas.shape != (len(Y),):
            raise ValueError(f"feasible must have shape ({len(Y)},), got {feas.shape}")
    return Y, feas


def _dominated_by_any(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(n,) whether each row of ``Y`` is dominated by some row of ``P``; O(n |P| m) memory-light."""
    out = np.zeros(len(Y), dtype=bool)
    for start in range(0, len(Y), 256):  # chunks keep the (chunk, |P|, m) comparison small
        y = Y[start : start + 256, None, :]
        le = np.all(P[None, :, :] <= y, axis=2)
        lt = np.any(P[None, :, :] < y, axis=2)
        out[start : start + 256] = np.any(le & lt, axis=1)
    return out


def pareto_mask(Y: np.ndarray | Sequence[Sequence[float]], feasible: np.ndarray | Sequence[bool] | None = None) -> (
    np.ndarray
):
    """(n,) bool: the feasible points that no other feasible point dominates."""
    Y, feas = _check(Y, feasible)
    mask = np.zeros(len(Y), dtype=bool)
    if not np.any(feas):
        return mask
    Yf = Y[feas]
    mask[np.flatnonzero(feas)] = ~_dominated_by_any(Yf, Yf)
    return mask


def nondominated_ranks(
    Y: np.ndarray | Sequence[Sequence[float]], feasible: np.ndarray | Sequence[bool] | None = None
) -> np.ndarray:
    """(n,) int: 0 for the front, 1 for the front once it is removed, ...; -1 if infeasible.

    Peels fronts one after another: O(F n^2 m) for F fronts, ample for sweeps of
    thousands of trials.
    """
    Y, feas = _check(Y, feasible)
    ranks = np.full(len(Y), -1, dtype=int)
    left = np.flatnonzero(feas)
    r = 0
    while len(left):
        on = ~_dominated_by_any(Y[left], Y[left])
        ranks[left[on]] = r
        left = left[~on]
        r += 1
    return ranks


def unique_front(Y: np.ndarray | Sequence[Sequence[float]], feasible: np.ndarray | Sequence[bool] | None = None) -> (
    np.ndarray
):
    """(P, m) the front's distinct points, sorted lexicographically."""
    Y, feas = _check(Y, feasible)
    front = Y[pareto_mask(Y, feas)]
    return np.unique(front, axis=0) if len(front) else front.reshape(0, Y.shape[1])


#: the default reference-point rules (``reference_point``'s ``rule``): where the nadir and the margin's range come from
REF_RULES = ("front", "all", "mixed")
#: the rule used when none is named
REF_RULE = "all"


def reference_point(
    Y: np.ndarray | Sequence[Sequence[float]],
    feasible: np.ndarray | Sequence[bool] | None = None,
    scale: float = REF_SCALE,
    rule: str = REF_RULE,
) -> np.ndarray:
    """(m,) the default reference point: a nadir pushed out by ``scale`` of a range.

    Per objective, ``nadir + scale (nadir - best)``, where ``best`` is the smallest feasible
    value (the front's ideal point) and, by ``rule``:

    * ``"front"`` (BoTorch's ``infer_reference_point``): ``nadir`` is the worst value among the
      Pareto-front points, so the reference follows the front as it improves;
    * ``"all"``: ``nadir`` is the worst value among all feasible points (the worst seen; it
      only ever grows);
    * ``"mixed"``: the front's nadir pushed out by ``scale`` of the range of all feasible points.

    Where that range is 0 (one point, or a tie), ``scale |nadir|`` and, at 0, ``scale``. Every
    front point is then strictly better than the reference, so each counts towards the
    hypervolume. Raises ``ValueError`` with no feasible point or an unknown rule.
    """
    if rule not in REF_RULES:
        raise ValueError(f"reference point rule must be one of {REF_RULES}, got {rule!r}")
    Y, feas = _check(Y, feasible)
    if not np.any(feas):
        raise ValueError("no feasible point: the reference point is undefined")
    best, worst = Y[feas].min(axis=0), Y[feas].max(axis=0)
    nadir = worst if rule == "all" else Y[pareto_mask(Y, feas)].max(axis=0)
    span = (worst if rule == "mixed" else nadir) - best
    span = np.where(span > 0, span, np.abs(nadir))
    span = np.where(span > 0, span, 1.0)
    return nadir + scale * span


def _hv2(P: np.ndarray, ref: np.ndarray) -> float:
    """Exact 2-D hypervolume of points all strictly better than ``ref``: one sorted sweep.

    Sorted by the first objective, a point adds the strip between its second value and
    the best second value before it; dominated points and duplicates add nothing.
    """
    P = P[np.lexsort((P[:, 1], P[:, 0]))]
    y_before = np.concatenate([[ref[1]], np.minimum.accumulate(P[:, 1])[:-1]])
    return float(np.sum((ref[0] - P[:, 0]) * np.maximum(y_before - P[:, 1], 0.0)))


def _hv_slices(P: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume for any m >= 3 by slicing along the last objective (HSO).

    Sorted by the last objective, the slab between consecutive values is dominated exactly
    by the (m-1)-dimensional front of the points below it: O(n^2 log n) for m = 3 (each
    slab is one 2-D sweep), exponential in m in general (the fallback for small m).
    """
    P = P[np.argsort(P[:, -1], kind="stable")]
    hv = 0.0
    for i in range(len(P)):
        top = P[i + 1, -1] if i + 1 < len(P) else ref[-1]
        depth = top - P[i, -1]
        if depth <= 0:
            continue
        hv += depth * _hv(P[: i + 1, :-1], ref[:-1])
    return float(hv)


def _hv(P: np.ndarray, ref: np.ndarray) -> float:
    P = P[np.all(P < ref, axis=1)]
    if len(P) == 0:
        return 0.0
    m = P.shape[1]
    if m == 1:
        return float(ref[0] - P[:, 0].min())
    if m == 2:
        return _hv2(P, ref)
    return _hv_slices(P[~_dominated_by_any(P, P)], ref)


def hypervolume(
    Y: np.ndarray | Sequence[Sequence[float]],
    ref: np.ndarray | Sequence[float],
    feasible: np.ndarray | Sequence[bool] | None = None,
) -> float:
    """The volume dominated by the feasible points and bounded by ``ref`` (exact, any m).

    Points not strictly better than ``ref`` in every objective add nothing. m = 2 is a
    sorted sweep, m = 3 slices into 2-D sweeps, larger m recurses (fine for small m and
    fronts of tens of points).
    """
    Y, feas = _check(Y, feasible)
    r = np.asarray(ref, dtype=float)
    if r.shape != (Y.shape[1],):
        raise ValueError(f"ref must have shape ({Y.shape[1]},), got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("ref must be finite")
    return _hv(Y[feas], r)


def hypervolume_improvement(
    y: np.ndarray | Sequence[float], Y: np.ndarray | Sequence[Sequence[float]], ref: np.ndarray | Sequence[float]
) -> float:
    """How much the point ``y: (m,)`` adds to the hypervolume of the points ``Y``."""
    Y = np.asarray(Y, dtype=float).reshape(-1, len(ref))
    return hypervolume(np.vstack([Y, np.asarray(y, dtype=float)[None, :]]), ref) - hypervolume(Y, ref)


def nondominated_boxes(front: np.ndarray, ref: np.ndarray, lower: float = -np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes that tile the region below ``ref`` that ``front`` does not dominate.

    Returns ``(lo, hi)``, each ``(B, m)``; boxes of zero volume are left out, and ``lower``
    stands in for the boxes' unbounded lower faces. The hypervolume improvement of a point
    ``y`` is then ``sum_b prod_j max(0, hi_bj - max(y_j, lo_bj))``, which is what an exact
    expected-hypervolume-improvement integrates box by box.

    Decomposition: a grid on the first m-1 objectives, cut at the front's coordinates;
    in each grid cell the region not dominated runs, along the last objective, up to the
    smallest last value among the points that weakly dominate the cell's lower corner
    (or ``ref``). Exact for every m; (P+1)^(m-1) cells for P front points: P+1 boxes for
    m = 2 (the minimal staircase), (P+1)^2 for m = 3.
    """
    front = np.asarray(front, dtype=float).reshape(-1, len(ref))
    ref = np.asarray(ref, dtype=float)
    m = len(ref)
    front = front[np.all(front < ref, axis=1)]
    if len(front) == 0:
        return np.full((1, m), lower), ref[None, :].copy()
    cuts = [np.unique(np.concatenate([[lower], front[:, j], [ref[j]]])) for j in range(m - 1)]
    if m == 1:
        return np.array([[lower]]), np.array([[float(front[:, 0].min())]])
    grids_lo = np.meshgrid(*[c[:-1] for c in cuts], indexing="ij")
    grids_hi = np.meshgrid(*[c[1:] for c in cuts], indexing="ij")
    lo_head = np.stack([g.ravel() for g in grids_lo], axis=1)  # (cells, m-1)
    hi_head = np.stack([g.ravel() for g in grids_hi], axis=1)
    # A front point covers a cell when it weakly dominates the cell's lower corner in the
    # first m-1 objectives; the cell is then dominated above that point's last value.
    covers = np.all(front[None, :, :-1] <= lo_head[:, None, :], axis=2)  # (cells, P)
    top = np.where(covers, front[None, :, -1], ref[-1]).min(axis=1)
    top = np.minimum(top, ref[-1])
    lo = np.concatenate([lo_head, np.full((len(lo_head), 1), lower)], axis=1)
    hi = np.concatenate([hi_head, top[:, None]], axis=1)
    keep = np.all(hi > lo, axis=1)
    return lo[keep], hi[keep]
