"""hpo_sweeper.pareto: fronts, ranks, hypervolume, reference point and box decomposition."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hpo_sweeper import pareto
from hpo_sweeper.direction import Direction
from hpo_sweeper.validation import SettingError


def brute_front(Y: np.ndarray, feasible: np.ndarray | None = None) -> np.ndarray:
    """The definition, pair by pair."""
    n = len(Y)
    feasible = np.ones(n, bool) if feasible is None else feasible
    out = np.zeros(n, bool)
    for i in range(n):
        if not feasible[i]:
            continue
        out[i] = not any(
            feasible[j] and np.all(Y[j] <= Y[i]) and np.any(Y[j] < Y[i]) for j in range(n) if j != i
        )
    return out


def mc_hypervolume(Y: np.ndarray, ref: np.ndarray, n: int, seed: int) -> tuple[float, float]:
    """Monte-Carlo estimate over the box [min(Y), ref] and its standard error."""
    low = Y.min(axis=0)
    S = np.random.default_rng(seed).uniform(low, ref, (n, len(ref)))
    dom = np.zeros(n, bool)
    for y in Y:
        dom |= np.all(S >= y, axis=1)
    vol = float(np.prod(ref - low))
    p = dom.mean()
    return p * vol, vol * np.sqrt(p * (1 - p) / n)


# --- fronts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "Y, expected",
    [
        ([[1, 2]], [True]),  # a single point is its own front
        ([[1, 2], [2, 1], [2, 2]], [True, True, False]),
        ([[1, 2], [1, 2], [3, 3]], [True, True, False]),  # duplicates: both copies on the front
        ([[1, 2], [1, 3]], [True, False]),  # a tie in one objective, worse in the other
        ([[0, 0], [1, 1], [2, 2]], [True, False, False]),
        ([[3, 1], [2, 2], [1, 3], [2.5, 2.5]], [True, True, True, False]),
    ],
)
def test_pareto_mask_hand_checked(Y: list, expected: list) -> None:
    assert pareto.pareto_mask(Y).tolist() == expected


def test_infeasible_points_never_on_the_front_and_dominate_nothing() -> None:
    Y = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0]])
    feas = np.array([False, True, True])
    assert pareto.pareto_mask(Y, feas).tolist() == [False, True, True]
    assert pareto.nondominated_ranks(Y, feas).tolist() == [-1, 0, 0]
    assert pareto.pareto_mask(Y, [False, False, False]).tolist() == [False] * 3
    # the infeasible ideal point adds no hypervolume
    ref = np.array([3.0, 3.0])
    assert pareto.hypervolume(Y, ref, feas) == pytest.approx(pareto.hypervolume(Y[1:], ref))


def test_pareto_mask_matches_the_definition_on_random_data_with_ties() -> None:
    rng = np.random.default_rng(3)
    for m in (2, 3, 4):
        Y = rng.integers(0, 4, (40, m)).astype(float)  # few levels: many ties and duplicates
        feas = rng.random(40) < 0.8
        np.testing.assert_array_equal(pareto.pareto_mask(Y, feas), brute_front(Y, feas))


def test_ranks_peel_fronts() -> None:
    Y = np.array([[1, 1], [2, 2], [3, 3], [1, 3], [3, 1], [2, 2]], dtype=float)
    assert pareto.nondominated_ranks(Y).tolist() == [0, 1, 2, 1, 1, 1]


def test_to_minimize_uses_one_direction_per_objective() -> None:
    Y = pareto.to_minimize([[1.0, 2.0]], ["minimize", Direction.MAXIMIZE])
    assert Y.tolist() == [[1.0, -2.0]]
    with pytest.raises(ValueError, match="2 objective values per point but 1 directions"):
        pareto.to_minimize([[1.0, 2.0]], ["minimize"])
    with pytest.raises(SettingError, match=r"direction\[1\] must be one of"):
        pareto.to_minimize([[1.0, 2.0]], ["minimize", "up"])


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        pareto.pareto_mask([[1.0, np.nan]])
    with pytest.raises(ValueError, match="2-D"):
        pareto.pareto_mask([1.0, 2.0])


# --- hypervolume ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "Y, ref, hv",
    [
        ([[1, 1]], [2, 2], 1.0),  # a single point: its box
        ([[1, 2], [2, 1]], [3, 3], 3.0),  # 2x1 + 1x2 - 1x1 overlap
        ([[1, 2], [2, 1], [1, 2], [2.5, 2.5]], [3, 3], 3.0),  # duplicate and dominated add nothing
        ([[1, 1], [4, 0]], [3, 3], 4.0),  # a point beyond ref in one objective adds nothing
        ([[3, 1]], [3, 3], 0.0),  # on the reference point's face: no volume
        ([[0, 0, 0]], [1, 2, 3], 6.0),
        ([[0, 1, 1], [1, 0, 1], [1, 1, 0]], [2, 2, 2], 4.0),  # 3 boxes of 2, minus 3 pair overlaps of 1, plus the triple 1
        ([[0.5]], [2.0], 1.5),  # one objective
    ],
)
def test_hypervolume_hand_checked(Y: list, ref: list, hv: float) -> None:
    assert pareto.hypervolume(Y, ref) == pytest.approx(hv)


def test_hypervolume_empty_and_bad_ref() -> None:
    assert pareto.hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0
    with pytest.raises(ValueError, match="ref must have shape"):
        pareto.hypervolume([[1, 1]], [2, 2, 2])


@pytest.mark.parametrize("m", [3, 4])
def test_hypervolume_against_monte_carlo(m: int) -> None:
    # 400k samples (fixed seed): the standard error is ~0.1% of the volume; 5 standard errors
    # (p ~ 6e-7 for a correct value) separates exact from a bug that drops or double-counts a
    # single point's exclusive volume (several % here).
    rng = np.random.default_rng(11)
    Y = rng.random((25, m))
    Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)  # on a sphere: most points on the front
    ref = np.full(m, 1.1)
    est, se = mc_hypervolume(Y, ref, 400_000, seed=5)
    assert abs(pareto.hypervolume(Y, ref) - est) < 5 * se


def test_hypervolume_2d_against_inclusion_exclusion() -> None:
    rng = np.random.default_rng(2)
    Y = rng.random((8, 2))
    ref = np.array([1.0, 1.0])
    total = 0.0  # inclusion-exclusion over subsets: the definition, exponential but exact
    for r in range(1, len(Y) + 1):
        for sub in itertools.combinations(range(len(Y)), r):
            corner = Y[list(sub)].max(axis=0)
            total += (-1) ** (r + 1) * np.prod(np.maximum(ref - corner, 0))
    assert pareto.hypervolume(Y, ref) == pytest.approx(total)


# --- reference point -----------------------------------------------------------------------------


def test_reference_point_all_is_the_worst_value_plus_a_tenth_of_the_range() -> None:
    Y = np.array([[0.0, 10.0], [4.0, 2.0], [5.0, 20.0]])  # the last point is dominated, and still counts
    np.testing.assert_allclose(pareto.reference_point(Y, rule="all"), [5.0 + 0.5, 20.0 + 1.8])


def test_reference_point_front_is_botorchs_nadir_of_the_front() -> None:
    Y = np.array([[0.0, 10.0], [4.0, 2.0], [5.0, 20.0]])  # nadir of the front (4, 10), ideal (0, 2)
    np.testing.assert_allclose(pareto.reference_point(Y, rule="front"), [4.0 + 0.4, 10.0 + 0.8])


def test_reference_point_mixed_is_the_front_nadir_plus_a_tenth_of_the_whole_range() -> None:
    Y = np.array([[0.0, 10.0], [4.0, 2.0], [5.0, 20.0]])
    np.testing.assert_allclose(pareto.reference_point(Y, rule="mixed"), [4.0 + 0.5, 10.0 + 1.8])


def test_reference_point_default_rule() -> None:
    Y = np.random.default_rng(0).random((20, 3))
    np.testing.assert_allclose(pareto.reference_point(Y), pareto.reference_point(Y, rule=pareto.REF_RULE))
    with pytest.raises(ValueError, match="rule must be one of"):
        pareto.reference_point(Y, rule="nadir")


@pytest.mark.parametrize("rule", pareto.REF_RULES)
def test_reference_point_single_point_and_zero(rule: str) -> None:
    np.testing.assert_allclose(pareto.reference_point([[2.0, -3.0]], rule=rule), [2.2, -2.7])
    np.testing.assert_allclose(pareto.reference_point([[0.0, 1.0]], rule=rule), [0.1, 1.1])
    with pytest.raises(ValueError, match="no feasible point"):
        pareto.reference_point([[0.0, 1.0]], [False], rule=rule)


@pytest.mark.parametrize("rule", pareto.REF_RULES)
def test_reference_point_ignores_infeasible_points(rule: str) -> None:
    Y = np.array([[0.0, 1.0], [1.0, 0.0], [-5.0, -5.0], [3.0, 3.0]])
    np.testing.assert_allclose(pareto.reference_point(Y, [True, True, False, False], rule=rule), [1.1, 1.1])


@pytest.mark.parametrize("rule", pareto.REF_RULES)
def test_every_front_point_is_strictly_better_than_the_reference(rule: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        Y = rng.standard_normal((int(rng.integers(1, 30)), int(rng.integers(2, 4))))
        ref = pareto.reference_point(Y, rule=rule)
        assert np.all(Y[pareto.pareto_mask(Y)] < ref)


# --- boxes of the non-dominated region ------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 4])
def test_boxes_give_the_hypervolume_improvement(m: int) -> None:
    rng = np.random.default_rng(m)
    Y = rng.random((12, m))
    ref = np.full(m, 1.2)
    front = pareto.unique_front(Y)
    lo, hi = pareto.nondominated_boxes(front, ref, lower=-10.0)
    assert np.all(hi > lo)
    for y in rng.random((20, m)) * 1.3 - 0.1:
        hvi = np.sum(np.prod(np.clip(hi - np.maximum(y, lo), 0, None), axis=1))
        assert hvi == pytest.approx(pareto.hypervolume_improvement(y, Y, ref), abs=1e-12)


def test_boxes_are_disjoint_and_tile_the_region() -> None:
    front = np.array([[0.2, 0.8, 0.5], [0.6, 0.3, 0.4], [0.5, 0.5, 0.1]])
    ref = np.ones(3)
    lo, hi = pareto.nondominated_boxes(front, ref, lower=0.0)
    # volume of the boxes = the reference box minus the dominated volume
    assert np.sum(np.prod(hi - lo, axis=1)) == pytest.approx(1.0 - pareto.hypervolume(front, ref))


def test_boxes_of_an_empty_front_are_the_reference_box() -> None:
    lo, hi = pareto.nondominated_boxes(np.zeros((0, 2)), np.array([1.0, 2.0]), lower=-3.0)
    assert lo.tolist() == [[-3.0, -3.0]] and hi.tolist() == [[1.0, 2.0]]
