"""``jax_gp.numerics``: log-EI's log h, finite and with live gradients far from the incumbent."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from hpo_sweeper.engines.jax_gp.numerics import log_h  # noqa: E402


def test_log_h_matches_the_direct_formula_and_stays_finite() -> None:
    from scipy.stats import norm

    with jax.enable_x64(True):
        u = jnp.array([5.0, 1.0, 0.0, -0.5, -1.0, -3.0, -10.0, -30.0, -99.0, -101.0, -1e3, -1e8])
        got = np.asarray(jax.jit(log_h)(u))
        grad = np.asarray(jax.jit(jax.vmap(jax.grad(log_h)))(u))
    u = np.asarray(u)
    direct = np.log(norm.pdf(u[:7]) + u[:7] * norm.cdf(u[:7]))
    np.testing.assert_allclose(got[:7], direct, rtol=1e-10)
    # Far tail: log h(u) ~ -u^2/2 - log(sqrt(2 pi)) - 2 log|u|, and d/du log h = Phi(u)/h(u) ~ |u|.
    tail = -0.5 * u[7:] ** 2 - 0.5 * np.log(2 * np.pi) - 2 * np.log(-u[7:])
    np.testing.assert_allclose(got[7:], tail, rtol=1e-3)
    assert np.all(np.isfinite(grad)) and np.all(grad > 0)
    np.testing.assert_allclose(grad[-3:], -u[-3:], rtol=1e-2)
