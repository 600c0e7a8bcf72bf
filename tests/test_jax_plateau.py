"""``jax_gp.plateau``: the tie rule, and the engine's exploratory proposal on a plateau."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")

from hpo_sweeper import SearchSpace
from hpo_sweeper.engines.jax_gp import engine as jax_engine
from hpo_sweeper.engines.jax_gp.plateau import TIE_RTOL, on_plateau, tie_streak


def test_last_k_ties_of_the_best_are_a_plateau() -> None:
    y = np.array([0.9, 0.5, 0.7, 0.5, 0.5])
    assert on_plateau(y, 2)
    assert on_plateau(y, 1)
    assert not on_plateau(y, 3)  # 0.7 breaks the streak
    assert not on_plateau(y, 0)  # off


def test_a_tie_with_a_worse_value_is_no_plateau() -> None:
    assert not on_plateau(np.array([0.1, 0.5, 0.5, 0.5]), 3)


def test_fold_means_that_differ_in_their_last_bits_tie() -> None:
    y = np.array([0.35, 0.3111835, 0.3111835 * (1 + 1e-13), 0.3111835 * (1 - 1e-13)])
    assert on_plateau(y, 2)
    step = 10 * TIE_RTOL * (0.35 - 0.3111835)
    assert not on_plateau(np.array([0.35, 0.3111835, 0.3111835 + step]), 1)


def test_too_few_observations_are_no_plateau() -> None:
    assert not on_plateau(np.array([0.5, 0.5]), 2)  # the incumbent itself must come before the streak
    assert not on_plateau(np.zeros(0), 1)


SPACE = {"depth": "range(1, 16)", "a": "interval(0, 1)", "b": "interval(0, 1)"}


def test_the_streak_counts_ties_of_an_earlier_incumbent() -> None:
    assert tie_streak(np.array([0.9, 0.5, 0.5, 0.5])) == 2  # the first 0.5 found it
    assert tie_streak(np.array([0.5, 0.9, 0.5, 0.5])) == 2  # both tie the first
    assert tie_streak(np.array([0.9, 0.5])) == 0  # a new best is not a tie
    assert tie_streak(np.array([0.5, 0.5, 0.7])) == 0  # the last value broke it
    assert tie_streak(np.full(4, 0.5)) == 3
    assert tie_streak(np.array([0.5])) == 0 and tie_streak(np.zeros(0)) == 0
    assert tie_streak(np.array([0.9, 0.3111835, 0.3111835 * (1 + 1e-13)])) == 1  # on_plateau's tolerance


def _suggest(y: np.ndarray, **options: float) -> np.ndarray:
    space = SearchSpace.from_config(SPACE)
    X = space.to_features(space.from_unit(np.random.default_rng(0).random((len(y), len(space)))))
    cfg = jax_engine.make_config(seed=0, **options)
    X_new, _ = jax_engine.suggest(jax_engine.init(space.layout, cfg), X, y, np.zeros((0, X.shape[1])), 1, (0, 3))
    return X_new


def test_the_engine_explores_only_on_a_plateau() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(12)
    plateau = np.concatenate([y, [y.min(), y.min()]])
    # off the plateau the option changes nothing
    np.testing.assert_array_equal(_suggest(y, plateau_explore=2), _suggest(y))
    # with one tie too few, nothing either
    np.testing.assert_array_equal(_suggest(plateau, plateau_explore=3), _suggest(plateau))
    # on it, the proposal is not the model's
    explored = _suggest(plateau, plateau_explore=2)
    assert not np.allclose(explored, _suggest(plateau))
    assert np.all((explored >= 0) & (explored <= 1))


@pytest.mark.parametrize("option", [{"plateau_xi": 3.0}, {"plateau_margin": 1.0}, {"plateau_kappa": 4.0}])
def test_the_back_off_rules_change_only_proposals_on_a_plateau(option: dict[str, float]) -> None:
    rng = np.random.default_rng(1)
    y = rng.random(12)
    np.testing.assert_array_equal(_suggest(y, **option), _suggest(y))  # no tie: the default's proposal
    plateau = np.concatenate([y, [y.min(), y.min()]])
    backed_off = _suggest(plateau, **option)
    assert not np.allclose(backed_off, _suggest(plateau))
    assert np.all((backed_off >= 0) & (backed_off <= 1))


def test_a_margin_in_y_units_moves_the_proposal_to_where_the_model_is_unsure() -> None:
    """On a plateau, plateau_margin * streak asks for an improvement the model's mean cannot
    promise, so the proposal is where its sd is larger than at the default's proposal
    (14 points in 3-D, a deterministic fit: no seed dependence)."""
    import jax

    from hpo_sweeper.engines.jax_gp import gp

    rng = np.random.default_rng(1)
    y = rng.random(12)
    plateau = np.concatenate([y, [y.min(), y.min()]])
    space = SearchSpace.from_config(SPACE)
    X = space.to_features(space.from_unit(np.random.default_rng(0).random((len(plateau), len(space)))))
    state = jax_engine.init(space.layout, jax_engine.make_config(seed=0))
    _, state = jax_engine.suggest(state, X, plateau, np.zeros((0, X.shape[1])), 1, (0, 3))
    post = state.model[0]

    def sd(x: np.ndarray) -> float:
        with jax.enable_x64(True):
            return float(np.sqrt(gp.predict(post, x, state.static.sg)[1][0]))

    assert sd(_suggest(plateau, plateau_margin=1.0)) > sd(_suggest(plateau))
