"""Numerical safeguards of the JAX GP engine, written once and used everywhere.

Every constant that keeps the linear algebra finite lives here, chosen per dtype:
jitter on the covariance diagonal, the noise floor, the smallest predictive
variance, and the Cholesky retry that grows the jitter. Other modules import
these helpers instead of sprinkling their own ``1e-9``s.

Notation: ``N`` padded observations, ``K: (N, N)`` a covariance matrix,
``L: (N, N)`` its lower Cholesky factor.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfcx, ndtr

__all__ = ["Safeguards", "log_h", "safe_cholesky", "safe_sqrt", "safeguards_for"]


class Safeguards(NamedTuple):
    """Per-dtype constants (a NamedTuple of floats, so it is hashable and can be static)."""

    #: added to the covariance diagonal on top of the learned noise (standardised units)
    jitter: float
    #: lower bound of the learned noise variance (standardised units)
    noise_floor: float
    #: smallest predictive variance handed to an acquisition function
    min_variance: float
    #: r**2 below this counts as zero distance (keeps sqrt's gradient finite)
    tiny: float
    #: the Cholesky retry multiplies the jitter by 10 at most this many times
    max_jitter_tries: int


def safeguards_for(dtype: np.dtype | str) -> Safeguards:
    """float64 can afford a 1e-6 noise floor; float32 (accelerators) needs ~100x more
    diagonal to keep a Cholesky of a few thousand nearly-collinear rows positive."""
    if np.dtype(dtype) == np.float64:
        return Safeguards(jitter=1e-9, noise_floor=1e-6, min_variance=1e-12, tiny=1e-30, max_jitter_tries=6)
    return Safeguards(jitter=1e-6, noise_floor=1e-4, min_variance=1e-8, tiny=1e-20, max_jitter_tries=6)


def safe_sqrt(x: jax.Array, tiny: float) -> jax.Array:
    """sqrt with a finite gradient at 0 (duplicate points give zero distances)."""
    return jnp.sqrt(jnp.maximum(x, tiny))


def safe_cholesky(K: jax.Array, sg: Safeguards) -> tuple[jax.Array, jax.Array]:
    """Cholesky of ``K + j I`` with ``j`` = jitter, 10 jitter, 100 jitter, ... until finite.

    Returns ``(L, j)``. Not differentiable (it loops); the likelihood, which is
    differentiated, uses a fixed jitter and lets the line search reject NaNs.
    """
    eye = jnp.eye(K.shape[-1], dtype=K.dtype)
    scale = jnp.maximum(jnp.mean(jnp.diagonal(K)), 1.0)

    def attempt(j: jax.Array) -> jax.Array:
        return jnp.linalg.cholesky(K + j * scale * eye)

    def cond(state: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
        L, _, tries = state
        return (~jnp.all(jnp.isfinite(L))) & (tries < sg.max_jitter_tries)

    def body(state: tuple[jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
        _, j, tries = state
        j = j * 10.0
        return attempt(j), j, tries + 1

    j0 = jnp.asarray(sg.jitter, K.dtype)
    L, j, _ = jax.lax.while_loop(cond, body, (attempt(j0), j0, jnp.asarray(0)))
    return L, j * scale


_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def log_h(u: jax.Array) -> jax.Array:
    """log(phi(u) + u Phi(u)), the log of EI's standardised improvement, for any u.

    After Ament et al. (2023), "Unexpected improvements to expected improvement":

    * u > -1: the formula as written (no cancellation there);
    * -T < u <= -1: ``log phi(u) + log1p(-t R(t))``, t = -u, with the Mills ratio
      ``R(t) = sqrt(pi/2) erfcx(t/sqrt2)``: no underflow, and the gradient stays
      informative far from the incumbent (plain EI is exactly 0 there in floating point);
    * u <= -T: the asymptotic series ``1 - t R(t) ~ t^-2 - 3 t^-4 + 15 t^-6 - 105 t^-8``,
      as ``1 - t R(t)`` loses ~eps t^2 relative precision to cancellation.

    Each branch is evaluated on an input clamped into its own range ("double where"), so
    the branches not taken never produce NaN gradients.
    """
    big_t = 100.0 if u.dtype == jnp.float64 else 10.0
    # jnp.where, not maximum/clip: those split the gradient in two at a tie.
    hi, lo = u > -1.0, -u >= big_t
    u_hi = jnp.where(hi, u, 0.0)
    direct = jnp.log(jnp.exp(-0.5 * u_hi * u_hi) / math.sqrt(2 * math.pi) + u_hi * ndtr(u_hi))
    t_mid = jnp.where(hi | lo, 2.0, -u)
    t_r = t_mid * erfcx(t_mid / math.sqrt(2.0)) * math.sqrt(math.pi / 2.0)
    mid = -0.5 * t_mid * t_mid - _LOG_SQRT_2PI + jnp.log1p(-t_r)
    t_lo = jnp.where(lo, -u, 2.0 * big_t)
    inv2 = 1.0 / (t_lo * t_lo)
    series = inv2 * (1.0 - 3.0 * inv2 * (1.0 - 5.0 * inv2 * (1.0 - 7.0 * inv2)))
    far = -0.5 * t_lo * t_lo - _LOG_SQRT_2PI + jnp.log(series)
    return jnp.where(hi, direct, jnp.where(lo, far, mid))
