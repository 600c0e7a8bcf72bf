"""``jax_gp.kernels``: the batched covariance equals the one-pair Matern-5/2 kernel."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from hpo_sweeper.engines.jax_gp.kernels import cross_cov, matern52  # noqa: E402


def test_cross_cov_equals_the_pair_kernel() -> None:
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        A, B = jnp.asarray(rng.random((5, 3))), jnp.asarray(rng.random((4, 3)))
        inv_ls = jnp.asarray([2.0, 0.5, 7.0])
        K = np.asarray(cross_cov(A, B, inv_ls, 1e-30))
        pair = jax.jit(lambda a, b: matern52(a, b, inv_ls, 1e-30))
        ref = np.array([[float(pair(a, b)) for b in B] for a in A])
        np.testing.assert_allclose(K, ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.diag(np.asarray(cross_cov(A, A, inv_ls, 1e-30))), 1.0)
