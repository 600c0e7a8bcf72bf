"""suggest_multiobjective's options of 2026-12-04 (issue 16): proposals on an integer grid (``snap``)
and ParEGO scalarisation for 3+ objectives (``MOConfig.scalarization``)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
import pytest
from scipy.stats import qmc

from hpo_sweeper.engines.jax_gp import multiobjective as mo


def zdt1(X: np.ndarray) -> np.ndarray:
    g = 1.0 + 9.0 / (X.shape[1] - 1) * X[:, 1:].sum(axis=1)
    return np.stack([X[:, 0], g * (1.0 - np.sqrt(X[:, 0] / g))], axis=1)


def dtlz2(X: np.ndarray) -> np.ndarray:  # Deb et al. (2002), 3 objectives; front: the unit sphere's octant
    g = np.sum((X[:, 2:] - 0.5) ** 2, axis=1)
    a, b = 0.5 * np.pi * X[:, 0], 0.5 * np.pi * X[:, 1]
    return (1.0 + g)[:, None] * np.stack([np.cos(a) * np.cos(b), np.cos(a) * np.sin(b), np.sin(a)], axis=1)


def grid_snap(levels: int) -> Callable[[np.ndarray], np.ndarray]:
    """Column 1 takes ``levels`` values 0, 1/(levels-1), ..., 1 (an integer parameter); column 0 is free."""

    def snap(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=float, copy=True)
        X[:, 1] = np.round(X[:, 1] * (levels - 1)) / (levels - 1)
        return X

    return snap


def test_snapped_proposals_lie_on_the_grid_and_are_new() -> None:
    X = qmc.Sobol(2, scramble=True, seed=0).random(10)
    X = grid_snap(3)(X)
    Y = zdt1(X)
    Xn, _ = mo.suggest_multiobjective(X, Y, jax.random.key(0), q=3, snap=grid_snap(3))
    assert set(np.round(Xn[:, 1] * 2, 12)) <= {0.0, 1.0, 2.0}
    seen = {tuple(r) for r in np.round(np.vstack([X]), 12)}
    assert not [r for r in np.round(Xn, 12) if tuple(r) in seen]


def test_a_proposal_that_rounds_onto_a_known_point_is_replaced() -> None:
    """A 1-d grid of 6 points of which 5 ran: the only new configuration is the sixth, whatever the
    acquisition prefers between levels (without the snapped de-duplication the proposal would
    round onto a known level in most draws: the known levels hold 5/6 of the cube)."""
    levels = np.linspace(0.0, 1.0, 6)

    def snap(X: np.ndarray) -> np.ndarray:
        return levels[np.argmin(np.abs(np.asarray(X)[:, :1] - levels[None, :]), axis=1)][:, None]

    X = levels[[0, 1, 2, 4, 5], None]
    Y = np.stack([X[:, 0], (1.0 - X[:, 0]) ** 2], axis=1)
    for seed in range(3):
        Xn, _ = mo.suggest_multiobjective(X, Y, jax.random.key(seed), snap=snap)
        assert Xn[0, 0] == pytest.approx(levels[3])


def test_parego_scalarize_by_hand() -> None:
    Y = np.array([[0.0, 4.0], [1.0, 2.0], [2.0, 0.0]])  # normalised: (0, 1), (0.5, 0.5), (1, 0)
    s = mo.parego_scalarize(Y, np.array([0.25, 0.75]))
    # max(w * y) + 0.05 * sum(w * y)
    np.testing.assert_allclose(s, [0.75 + 0.05 * 0.75, 0.375 + 0.05 * 0.5, 0.25 + 0.05 * 0.25])
    # normalised over the feasible rows only (to (0, 1), (1, 0)): row 2 (infeasible) lands at (2, -1)
    s2 = mo.parego_scalarize(Y, np.array([0.5, 0.5]), feasible=np.array([True, True, False]))
    np.testing.assert_allclose(s2, [0.5 + 0.05 * 0.5, 0.5 + 0.05 * 0.5, 1.0 + 0.05 * 0.5])


def test_parego_with_three_objectives_proposes_a_spread_batch() -> None:
    X = qmc.Sobol(4, scramble=True, seed=1).random(12)
    cfg = mo.MOConfig(scalarization="parego")
    Xn, state = mo.suggest_multiobjective(X, dtlz2(X), jax.random.key(0), q=3, config=cfg)
    assert Xn.shape == (3, 4) and np.all((Xn >= 0) & (Xn <= 1))
    d = np.linalg.norm(Xn[:, None] - Xn[None], axis=2) + np.eye(3)
    assert d.min() > 1e-3  # later points see the earlier ones as pending
    assert state.calls == 1 and state.thetas is not None and len(state.thetas) == 1  # one GP: the scalarisation
    Xm, _ = mo.suggest_multiobjective(X, dtlz2(X), jax.random.key(1), q=1, config=cfg, state=state)
    assert Xm.shape == (1, 4)


def test_parego_leaves_two_objectives_to_logehvi() -> None:
    X = qmc.Sobol(3, scramble=True, seed=2).random(10)
    a, sa = mo.suggest_multiobjective(X, zdt1(X), jax.random.key(4), config=mo.MOConfig(scalarization="parego"))
    b, _ = mo.suggest_multiobjective(X, zdt1(X), jax.random.key(4))
    np.testing.assert_array_equal(a, b)
    assert sa.thetas is not None and len(sa.thetas) == 2


@pytest.mark.parametrize(
    "cfg, match",
    [
        (mo.MOConfig(scalarization="tchebycheff"), "scalarization must be one of"),
        (mo.MOConfig(scalarization_min_objectives=0), "scalarization_min_objectives must be an integer >= 1"),
    ],
)
def test_bad_scalarization_is_named(cfg: mo.MOConfig, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mo.suggest_multiobjective(np.zeros((1, 3)), np.zeros((1, 3)), 0, config=cfg)
