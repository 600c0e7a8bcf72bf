"""``jax_gp.optim``: the jittable L-BFGS minimises, and stops at a NaN wall instead of failing."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from hpo_sweeper.engines.jax_gp.optim import lbfgs  # noqa: E402


def test_lbfgs_minimises_and_survives_nan_regions() -> None:
    with jax.enable_x64(True):

        def rosen(x: jax.Array) -> jax.Array:
            return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

        res = jax.jit(lambda x0: lbfgs(rosen, x0, maxiter=300))(jnp.array([-1.2, 1.0, 0.5]))
        np.testing.assert_allclose(np.asarray(res.theta), 1.0, atol=1e-4)

        def walled(x: jax.Array) -> jax.Array:  # NaN beyond 0.5, like a failed Cholesky
            return jnp.where(x[0] > 0.5, jnp.nan, (x[0] - 1.0) ** 2)

        res = jax.jit(lambda x0: lbfgs(walled, x0, maxiter=100))(jnp.array([0.0]))
        assert np.isfinite(float(res.value)) and 0.4 < float(res.theta[0]) <= 0.5
