"""``jax_gp.gp``: the likelihood's gradient, and conditioning (pending points, fantasies) against
conditioning from scratch."""

from __future__ import annotations

import math

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from hpo_sweeper.engines.jax_gp import gp  # noqa: E402
from hpo_sweeper.engines.jax_gp.numerics import safeguards_for  # noqa: E402


def test_likelihood_gradient_matches_finite_differences() -> None:
    """The hand-written gradient of the log-likelihood core, padding included."""
    cfg = gp.make_fit_config(3, safeguards_for("float64"), 10)
    rng = np.random.default_rng(0)
    X, z, m = rng.random((16, 3)), rng.standard_normal(16), np.r_[np.ones(12), np.zeros(4)]
    data = gp.Data(X, z * m, m)
    theta = gp.default_theta(cfg) + 0.3 * rng.standard_normal(6)
    with jax.enable_x64(True):
        f = jax.jit(lambda t: gp.neg_log_posterior(t, data, cfg))
        grad = np.asarray(jax.jit(jax.grad(lambda t: gp.neg_log_posterior(t, data, cfg)))(theta))
        eps = 1e-6
        fd = [(float(f(theta + eps * e)) - float(f(theta - eps * e))) / (2 * eps) for e in np.eye(6)]
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6)


def test_condition_matches_a_posterior_on_the_augmented_data() -> None:
    """The O(N^2) rank-one update (pending points, fantasies) equals conditioning from scratch."""
    from hpo_sweeper.engines.jax_gp.engine import _condition

    sg = safeguards_for("float64")
    cfg = gp.make_fit_config(2, sg, 10)
    rng = np.random.default_rng(1)
    X, z = rng.random((9, 2)), rng.standard_normal(9)
    theta = np.array([-1.0, -0.5, 0.2, math.log(1e-3), 0.1])

    def data(k: int) -> gp.Data:
        Xp, zp, m = np.zeros((16, 2)), np.zeros(16), np.zeros(16)
        Xp[:k], zp[:k], m[:k] = X[:k], z[:k], 1.0
        return gp.Data(Xp, zp, m)

    with jax.enable_x64(True):
        post = gp.posterior(data(7), theta, cfg)
        for i in (7, 8):
            post = _condition(post, X[i], np.asarray(z[i]), sg)
        full = gp.posterior(data(9), theta, cfg)
        Xq = jnp.asarray(rng.random((20, 2)))
        for a, b in zip(gp.predict(post, Xq, sg), gp.predict(full, Xq, sg)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-9)
