"""hpo_sweeper.engines.jax_gp.multiobjective: LogEHVI proposals, constraints, pending points."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import pytest
from scipy.stats import qmc

from hpo_sweeper import pareto
from hpo_sweeper.engines.jax_gp import gp
from hpo_sweeper.engines.jax_gp import multiobjective as mo
from hpo_sweeper.engines.jax_gp.numerics import safeguards_for


def zdt1(X: np.ndarray) -> np.ndarray:  # Zitzler, Deb and Thiele (2000); front f2 = 1 - sqrt(f1)
    g = 1.0 + 9.0 / (X.shape[1] - 1) * X[:, 1:].sum(axis=1)
    return np.stack([X[:, 0], g * (1.0 - np.sqrt(X[:, 0] / g))], axis=1)


def sobol(n: int, d: int, seed: int) -> np.ndarray:
    return qmc.Sobol(d, scramble=True, seed=seed).random(n)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    X = sobol(12, 4, seed=1)
    return X, zdt1(X)


def test_proposals_are_inside_the_cube_and_distinct(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = data
    Xn, state = mo.suggest_multiobjective(X, Y, jax.random.key(0), q=4)
    assert Xn.shape == (4, 4)
    assert np.all(np.isfinite(Xn)) and np.all(Xn >= 0) and np.all(Xn <= 1)
    d = np.linalg.norm(Xn[:, None] - Xn[None], axis=2) + np.eye(4)
    assert d.min() > 1e-3  # Kriging-believer fantasies push later points away from earlier ones
    assert state.calls == 1 and state.thetas is not None and len(state.thetas) == 2


def test_same_key_same_points(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = data
    a, _ = mo.suggest_multiobjective(X, Y, jax.random.key(3))
    b, _ = mo.suggest_multiobjective(X, Y, jax.random.key(3))
    c, _ = mo.suggest_multiobjective(X, Y, 3)  # an int seed is accepted too
    np.testing.assert_array_equal(a, b)
    assert c.shape == a.shape


def test_pending_points_are_avoided(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = data
    key = jax.random.key(5)
    x0, _ = mo.suggest_multiobjective(X, Y, key)
    x1, _ = mo.suggest_multiobjective(X, Y, key, X_pending=x0)
    # Same data and key: without the pending point the answer would be x0 again.
    assert np.linalg.norm(x1 - x0) > 1e-3


def test_log_acquisition_is_the_expected_hypervolume_improvement(data: tuple[np.ndarray, np.ndarray]) -> None:
    """exp(LogEHVI) against a Monte-Carlo mean of the exact improvement under the posterior."""
    X, Y = data
    with jax.enable_x64(True):
        sg = safeguards_for(np.float64)
        Z, mean, std = mo._standardize(Y)
        N = 64
        Xp = np.zeros((N, 4))
        Xp[: len(X)] = X
        mask = np.zeros(N)
        mask[: len(X)] = 1.0
        posts, _ = mo._fit_all(Xp, Z, mask, len(X), np.random.default_rng(0), mo.init_state(), mo.MOConfig(), sg,
                               np.dtype(np.float64))
        ref = (pareto.reference_point(Y) - mean) / std
        a = mo._acq_data(list(Z), ref, float(Z.min()) - 100.0, True, np.zeros(0), np.zeros(0), 2,
                         lambda v: np.asarray(v, dtype=np.float64))
        cfg = mo._Static(n_obj=2, n_con=0, sg=sg, n_starts=4, n_steps=0)
        Xq = np.random.default_rng(1).random((5, 4))
        log_ehvi = np.asarray(mo.log_acquisition(posts, Xq, a, cfg))
        mu, var = jax.vmap(lambda p: gp.predict(p, Xq, sg))(posts)
        mu, sd = np.asarray(mu).T, np.sqrt(np.asarray(var)).T  # (5, 2)
    rng = np.random.default_rng(2)
    front = pareto.unique_front(Z)
    lo, hi = pareto.nondominated_boxes(front, ref, lower=-1e9)
    for i in range(len(Xq)):
        S = mu[i] + sd[i] * rng.standard_normal((100_000, 2))
        hvi = np.sum(np.prod(np.clip(hi[None] - np.maximum(S[:, None, :], lo[None]), 0, None), axis=2), axis=1)
        est, se = hvi.mean(), hvi.std() / np.sqrt(len(hvi))
        # 100k draws: 5 standard errors (plus 1e-12 absolute for improvements that underflow to 0
        # in the estimate) cannot fail by chance (p ~ 6e-7) but catch a wrong box or a lost factor.
        assert abs(np.exp(log_ehvi[i]) - est) < 5 * se + 1e-12, (i, np.exp(log_ehvi[i]), est, se)


def test_beats_random_search_on_zdt1_at_20_trials() -> None:
    """6 Sobol points + 14 proposals against 20 uniform points, hypervolume at ref (11, 11).

    Threshold: measured before writing the test, 20 random points reach a hypervolume of
    91.5-111.9 over seeds 0-9 on ZDT1 (d = 4; the front's is 120.67), the model 119.1-119.7
    over seeds 0-3; the test asks the worst of 2 model runs to beat the best of 10 random
    runs (a margin of ~7, which a model no better than random would not clear).
    """
    d, ref = 4, np.array([11.0, 11.0])
    rnd = [pareto.hypervolume(zdt1(np.random.default_rng(s).random((20, d))), ref) for s in range(10)]
    ours = []
    for seed in range(2):
        X = sobol(6, d, seed)
        Y = zdt1(X)
        state, key = mo.init_state(), jax.random.key(seed)
        while len(X) < 20:
            Xn, state = mo.suggest_multiobjective(X, Y, key, state=state)
            X, Y = np.vstack([X, Xn]), np.vstack([Y, zdt1(Xn)])
        ours.append(pareto.hypervolume(Y, ref))
    assert min(ours) > max(rnd), (ours, rnd)


def test_no_recompilation_within_a_bucket(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = data
    state, key = mo.init_state(), jax.random.key(1)
    Xn, state = mo.suggest_multiobjective(X, Y, key, state=state, q=2)  # compiles fit, propose, believe
    X, Y = np.vstack([X, Xn]), np.vstack([Y, zdt1(Xn)])
    traces: list[str] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event == "/jax/core/compile/jaxpr_trace_duration":
            traces.append(str(kwargs.get("fun_name")))  # a (re)trace: a new program to compile

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        for _ in range(4):  # n grows 14 -> 18, the front changes: same row and box buckets
            Xn, state = mo.suggest_multiobjective(X, Y, key, state=state, q=2, X_pending=X[:1])
            X, Y = np.vstack([X, Xn[:1]]), np.vstack([Y, zdt1(Xn[:1])])
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert not [t for t in traces if t in ("_propose", "_believe", "fit")], traces


def test_constraints_keep_proposals_feasible(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = data
    C = X[:, :1]  # c = x0 <= 0.3: a linear constraint a GP learns from 12 points
    bounds = np.array([[-np.inf, 0.3]])
    state, key = mo.init_state(), jax.random.key(2)
    xs = []
    for _ in range(4):
        Xn, state = mo.suggest_multiobjective(X, Y, key, C=C, constraint_bounds=bounds, state=state)
        xs.append(Xn[0])
        X, Y, C = np.vstack([X, Xn]), np.vstack([Y, zdt1(Xn)]), np.vstack([C, Xn[:, :1]])
    # 0.05 of slack: the GP's posterior on c near the bound is uncertain by a few hundredths.
    assert max(x[0] for x in xs) < 0.35, xs


def test_without_a_feasible_point_it_searches_for_feasibility() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((12, 3)) * [0.6, 1, 1] + [0.4, 0, 0]  # x0 in [0.4, 1]: all infeasible below
    Y = zdt1(X)
    Xn, _ = mo.suggest_multiobjective(X, Y, jax.random.key(0), C=X[:, :1], constraint_bounds=[[-np.inf, 0.2]])
    assert Xn[0, 0] < 0.4  # towards the feasible side, where no point has been yet


def test_first_call_without_data_is_quasi_random() -> None:
    Xn, state = mo.suggest_multiobjective(np.zeros((0, 3)), np.zeros((0, 2)), jax.random.key(0), q=3)
    assert Xn.shape == (3, 3) and np.all((Xn >= 0) & (Xn <= 1)) and state.calls == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": np.zeros((3, 2)), "Y": np.zeros((2, 2))}, "same n"),
        ({"X": np.full((2, 2), 2.0), "Y": np.zeros((2, 2))}, "unit cube"),
        ({"X": np.zeros((2, 2)), "Y": np.array([[0.0, np.nan], [0, 0]])}, "finite"),
        ({"X": np.zeros((2, 2)), "Y": np.zeros((2, 2)), "C": np.zeros((2, 1))}, "constraint_bounds"),
        ({"X": np.zeros((2, 2)), "Y": np.zeros((2, 2)), "C": np.zeros((2, 1)), "constraint_bounds": [[1, 0]]},
         "lower < upper"),
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mo.suggest_multiobjective(key=0, **kwargs)


def test_bad_q_is_named() -> None:
    with pytest.raises(ValueError, match=r"q must be an integer >= 0, got 1\.5"):
        mo.suggest_multiobjective(np.zeros((1, 2)), np.zeros((1, 2)), 0, q=1.5)  # type: ignore[arg-type]


def test_bad_objective_warping_is_named() -> None:
    with pytest.raises(ValueError, match="objective_warping must be one of"):
        mo.suggest_multiobjective(np.zeros((1, 2)), np.zeros((1, 2)), 0, config=mo.MOConfig(objective_warping="log"))


def test_half_rank_warping_forgets_a_diverged_runs_magnitude(data: tuple[np.ndarray, np.ndarray]) -> None:
    """A diverged trial (1e6 in objective 0) and a merely bad one (the column's worst by a little)
    have the same rank, so the warped model proposes the same points; standardised, the outlier
    flattens the column and moves the reference point, so the proposals differ."""
    X, Y = data
    worst = int(np.argmax(Y[:, 0]))
    Y_big, Y_small = Y.copy(), Y.copy()
    Y_big[worst, 0], Y_small[worst, 0] = 1e6, Y[:, 0].max() + 0.1
    cfg, key = mo.MOConfig(objective_warping="half_rank"), jax.random.key(2)
    a, _ = mo.suggest_multiobjective(X, Y_big, key, config=cfg)
    b, _ = mo.suggest_multiobjective(X, Y_small, key, config=cfg)
    np.testing.assert_allclose(a, b, atol=1e-9)
    c, _ = mo.suggest_multiobjective(X, Y_big, key)
    d, _ = mo.suggest_multiobjective(X, Y_small, key)
    assert np.linalg.norm(c - d) > 1e-3
