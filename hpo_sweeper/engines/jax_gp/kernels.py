"""Matern-5/2 ARD kernel on unit-cube features.

Notation: ``D`` feature columns; ``x, x2: (D,)`` one pair of points;
``X1: (n, D)``, ``X2: (m, D)``; ``inv_ls: (D,)`` inverse lengthscales;
``k: (n, m)`` the cross-covariance (without the signal variance).

``matern52`` is the kernel for one pair of points, as the formula reads; it is the
reference the tests hold ``cross_cov`` to. ``cross_cov`` computes the same matrix with
``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b``: one matrix product instead of an (n, m, D)
difference tensor, 3-6x faster on CPU for the fit and the acquisition. Its cancellation
error (~eps |x / ls|^2 in r^2) only moves k by ~eps near r = 0, as k is flat there.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from hpo_sweeper.engines.jax_gp.numerics import safe_sqrt

__all__ = ["cross_cov", "matern52"]

_SQRT5 = math.sqrt(5.0)


def matern52(x: jax.Array, x2: jax.Array, inv_ls: jax.Array, tiny: float) -> jax.Array:
    """k(x, x2) = (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r), r the scaled distance; k(x, x) = 1."""
    # Differences (not |x|^2 + |x2|^2 - 2 x.x2) keep r accurate for near-duplicate points.
    r2 = jnp.sum(((x - x2) * inv_ls) ** 2)
    r = _SQRT5 * safe_sqrt(r2, tiny)
    return (1.0 + r + r * r / 3.0) * jnp.exp(-r)


def cross_cov(X1: jax.Array, X2: jax.Array, inv_ls: jax.Array, tiny: float) -> jax.Array:
    """(n, D), (m, D) -> (n, m) kernel matrix, ``matern52`` on every pair."""
    A, B = X1 * inv_ls, X2 * inv_ls  # (n, D), (m, D)
    r2 = jnp.sum(A * A, axis=1)[:, None] + jnp.sum(B * B, axis=1)[None, :] - 2.0 * (A @ B.T)
    r = _SQRT5 * safe_sqrt(r2, tiny)  # safe_sqrt also clamps the round-off negatives
    return (1.0 + r + r * r / 3.0) * jnp.exp(-r)
