"""A small, jit- and vmap-friendly L-BFGS minimiser (no optax/jaxopt dependency).

Notation: ``P`` parameters; ``theta: (P,)``; ``S, Y: (m, P)`` the last ``m``
steps and gradient changes (a ring buffer, slot ``k % m`` is the newest).

Backtracking Armijo line search: a trial point whose value is NaN or +inf is
simply rejected (the step halves), so a failed Cholesky inside ``fun`` shrinks
the step instead of poisoning the iterate. Every loop is a ``lax.while_loop`` with
an iteration cap, so ``vmap`` over restarts runs until the slowest converges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["LbfgsResult", "lbfgs"]


class LbfgsResult(NamedTuple):
    theta: jax.Array  # (P,) best point found
    value: jax.Array  # () its value (inf when the start itself was not finite)
    n_iter: jax.Array  # () iterations used


class _State(NamedTuple):
    theta: jax.Array
    f: jax.Array
    g: jax.Array
    S: jax.Array
    Y: jax.Array
    rho: jax.Array
    k: jax.Array  # number of stored pairs
    it: jax.Array
    done: jax.Array


def _two_loop(g: jax.Array, S: jax.Array, Y: jax.Array, rho: jax.Array, k: jax.Array) -> jax.Array:
    """H g for the L-BFGS inverse-Hessian approximation (standard two-loop recursion)."""
    m = S.shape[0]
    count = jnp.minimum(k, m)

    def first(i: jax.Array, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        q, alphas = carry
        j = (k - 1 - i) % m  # newest to oldest
        use = i < count
        a = jnp.where(use, rho[j] * jnp.dot(S[j], q), 0.0)
        return q - a * Y[j], alphas.at[j].set(a)

    q, alphas = jax.lax.fori_loop(0, m, first, (g, jnp.zeros(m, g.dtype)))
    newest = (k - 1) % m
    yy = jnp.dot(Y[newest], Y[newest])
    gamma = jnp.where(count > 0, jnp.dot(S[newest], Y[newest]) / jnp.where(yy > 0, yy, 1.0), 1.0)
    r = gamma * q

    def second(i: jax.Array, r: jax.Array) -> jax.Array:
        j = (k - count + i) % m  # oldest to newest
        use = i < count
        b = rho[j] * jnp.dot(Y[j], r)
        return jnp.where(use, r + S[j] * (alphas[j] - b), r)

    return jax.lax.fori_loop(0, m, second, r)


def lbfgs(
    fun: Callable[[jax.Array], jax.Array],
    theta0: jax.Array,
    *,
    maxiter: int,
    history: int = 10,
    gtol: float = 1e-5,
    ftol: float = 1e-10,
    max_backtracks: int = 25,
) -> LbfgsResult:
    """Minimise a scalar ``fun`` from ``theta0`` with at most ``maxiter`` iterations."""
    vg = jax.value_and_grad(fun)
    dtype = theta0.dtype
    P = theta0.shape[0]
    f0, g0 = vg(theta0)
    finite0 = jnp.isfinite(f0) & jnp.all(jnp.isfinite(g0))
    f0 = jnp.where(finite0, f0, jnp.inf)
    g0 = jnp.where(finite0, g0, 0.0)
    init = _State(
        theta0, f0, g0,
        jnp.zeros((history, P), dtype), jnp.zeros((history, P), dtype), jnp.zeros(history, dtype),
        jnp.asarray(0), jnp.asarray(0), ~finite0,
    )

    def cond(s: _State) -> jax.Array:
        return (~s.done) & (s.it < maxiter)

    def body(s: _State) -> _State:
        d = -_two_loop(s.g, s.S, s.Y, s.rho, s.k)
        gd = jnp.dot(s.g, d)
        # Not a descent direction (curvature info gone stale): fall back to steepest descent.
        bad = ~(gd < 0) | ~jnp.all(jnp.isfinite(d))
        d = jnp.where(bad, -s.g, d)
        gd = jnp.where(bad, -jnp.dot(s.g, s.g), gd)
        # First step of a fresh history: a unit-length move, not a unit gradient step.
        t0 = jnp.where(s.k == 0, jnp.minimum(1.0, 1.0 / (jnp.linalg.norm(d) + 1e-30)), 1.0).astype(dtype)

        def ls_cond(c: tuple[jax.Array, jax.Array, jax.Array, jax.Array]) -> jax.Array:
            t, f_new, _, j = c
            ok = jnp.isfinite(f_new) & (f_new <= s.f + 1e-4 * t * gd)
            return (~ok) & (j < max_backtracks)

        def ls_body(c: tuple[jax.Array, jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, ...]:
            t, _, _, j = c
            t = t * 0.5
            f_new, g_new = vg(s.theta + t * d)
            return t, f_new, g_new, j + 1

        f1, g1 = vg(s.theta + t0 * d)
        t, f_new, g_new, _ = jax.lax.while_loop(ls_cond, ls_body, (t0, f1, g1, jnp.asarray(0)))
        accepted = jnp.isfinite(f_new) & (f_new <= s.f + 1e-4 * t * gd) & jnp.all(jnp.isfinite(g_new))
        theta_new = jnp.where(accepted, s.theta + t * d, s.theta)
        f_new = jnp.where(accepted, f_new, s.f)
        g_new = jnp.where(accepted, g_new, s.g)

        step = theta_new - s.theta
        dg = g_new - s.g
        sy = jnp.dot(step, dg)
        store = accepted & (sy > 1e-10 * jnp.dot(dg, dg))  # keep the approximation positive definite
        slot = s.k % history
        S = jnp.where(store, s.S.at[slot].set(step), s.S)
        Y = jnp.where(store, s.Y.at[slot].set(dg), s.Y)
        rho = jnp.where(store, s.rho.at[slot].set(1.0 / jnp.where(sy != 0, sy, 1.0)), s.rho)
        # A failed line search with curvature pairs stored: forget them and retry from a
        # gradient step; failing on a plain gradient step means we are done.
        k = jnp.where(accepted, s.k + store.astype(s.k.dtype), 0)
        give_up = ~accepted & (s.k == 0)

        converged = (jnp.max(jnp.abs(g_new)) < gtol) | (
            accepted & (jnp.abs(s.f - f_new) <= ftol * jnp.maximum(1.0, jnp.abs(f_new)))
        )
        return _State(theta_new, f_new, g_new, S, Y, rho, k, s.it + 1, converged | give_up)

    out = jax.lax.while_loop(cond, body, init)
    return LbfgsResult(out.theta, out.f, out.it)
