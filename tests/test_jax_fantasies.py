"""The jax engine's pending-aware proposals, ``batch_strategy="qei"`` (fantasies.py): pending
points are respected, batches are distinct, a fixed key gives fixed proposals, and asks
within one bucket compile nothing new."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from hpo_sweeper import SearchSpace  # noqa: E402
from hpo_sweeper.engines.jax_gp import engine as jax_engine  # noqa: E402
from hpo_sweeper.engines.jax_gp import fantasies  # noqa: E402

BRANIN = {"x1": "interval(-5, 10)", "x2": "interval(0, 15)"}


def branin_u(U: np.ndarray) -> np.ndarray:
    """Branin on the unit square (the space's features are the unit cube for intervals)."""
    x1, x2 = -5.0 + 15.0 * U[:, 0], 15.0 * U[:, 1]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10


def observed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(seed).random((n, 2))
    return X, branin_u(X)


def state(seed: int = 0, **options: Any) -> Any:
    space = SearchSpace.from_config(BRANIN)
    return jax_engine.init(space.layout, jax_engine.make_config(seed=seed, batch_strategy="qei", **options))


def test_qei_is_the_engine_default() -> None:
    assert jax_engine.make_config(seed=0).batch_strategy == "qei"


@pytest.mark.parametrize("acq_func", ["EI", "gp_hedge"])
def test_proposal_keeps_away_from_pending_points(acq_func: str) -> None:
    """A pending point at the model's own favourite: the next proposal is elsewhere. 0.02
    of the unit square's side is far above the L-BFGS tolerance (the optimiser would land
    within ~1e-4 of the favourite again if the pending point were ignored, as it does
    without pending points: checked by the first assertion)."""
    X, y = observed(14, 1)
    s = state(acq_func=acq_func)
    none = np.zeros((0, 2))
    (fav,), _ = jax_engine.suggest(s, X, y, none, 1, (0, 0))
    (again,), _ = jax_engine.suggest(s, X, y, none, 1, (0, 0))
    np.testing.assert_array_equal(fav, again)
    (nxt,), _ = jax_engine.suggest(s, X, y, fav[None, :], 1, (0, 0))
    assert np.linalg.norm(nxt - fav) > 0.02, (fav, nxt)


def test_batch_members_are_distinct_and_away_from_pending() -> None:
    X, y = observed(12, 2)
    pend = np.random.default_rng(3).random((3, 2))
    out, _ = jax_engine.suggest(state(), X, y, pend, 4, (0, 0))
    assert out.shape == (4, 2) and np.all((out >= 0) & (out <= 1))
    allp = np.concatenate([out, pend])
    d = np.linalg.norm(allp[:, None, :] - allp[None, :, :], axis=-1)
    # every proposal is apart from every other proposal and every pending point
    assert np.min(d[:4][:, np.r_[0:4, 4:7]] + np.eye(7)[:4] * 9) > 1e-3, d


def test_fixed_key_gives_fixed_proposals_another_key_others() -> None:
    X, y = observed(12, 4)
    pend = np.random.default_rng(5).random((2, 2))
    s = state(seed=7)
    a, _ = jax_engine.suggest(s, X, y, pend, 3, (7, 0))
    b, _ = jax_engine.suggest(s, X, y, pend, 3, (7, 0))
    c, _ = jax_engine.suggest(s, X, y, pend, 3, (7, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_base_samples_are_fixed_standard_normal_draws() -> None:
    """Fixed by their entropy (so the acquisition is deterministic), and standard normal:
    64 scrambled-Sobol draws per column; over 512 values the mean's sd is 0.044 for plain
    MC and far less for QMC, so 0.05 / 0.05 bounds hold for any scramble."""
    np.testing.assert_array_equal(fantasies.base_samples((1, 2), 8), fantasies.base_samples((1, 2), 8))
    assert not np.array_equal(fantasies.base_samples((1, 2), 8), fantasies.base_samples((1, 3), 8))
    eps = fantasies.base_samples((0, 1), 8)
    assert eps.shape == (fantasies.N_FANTASIES, 8)
    assert abs(float(np.mean(eps))) < 0.05 and abs(float(np.std(eps)) - 1.0) < 0.05


def test_no_recompilation_across_asks_within_a_bucket() -> None:
    """After the first ask in a bucket (it compiles the fit, the fantasies and the
    acquisition search), further asks with pending points and batches in the same bucket
    compile nothing: every jitted function sees bucket-shaped arrays only."""
    compiles = [0]

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            compiles[0] += 1

    def asks(key0: int) -> None:
        s = state(seed=1)
        for k in range(5):  # n + p + q stays in 21..32: one bucket; full fits, refinements, extensions
            Xk, yk = observed(20 + k, 6)
            pend = np.random.default_rng(10 + k).random((1 + k % 3, 2))
            _, s = jax_engine.suggest(s, Xk, yk, pend, 1 + k % 4, (key0, k))

    asks(0)  # compiles what this bucket needs
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        asks(1)  # other keys, so other candidates and fantasies: the same programs
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiles[0] == 0, compiles
