"""A small, jit- and vmap-friendly L-BFGS minimiser (no optax/jaxopt dependency).

Notation: ``P`` parameters; ``theta: (P,)``; ``S, Y: (m, P)`` the last ``m`` steps and
gradient changes (a ring buffer, slot ``(k - 1) % m`` is the newest).

One loop, one function evaluation per iteration: each iteration evaluates the trial
point ``theta + t d``; if it passes the Armijo test it is accepted (memory updated, new
direction), otherwise the step halves. The objective therefore appears once in the
compiled program, which keeps XLA compile times down (the fit and the acquisition
search are compiled once per bucket). A trial whose value is NaN or +inf just fails
the test, so a failed Cholesky inside ``fun`` shrinks the step instead of poisoning
the iterate. ``maxiter`` counts evaluations; ``vmap`` over starts runs until the
slowest is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["LbfgsResult", "lbfgs"]

_ARMIJO = 1e-4
_MAX_HALVINGS = 30


class LbfgsResult(NamedTuple):
    theta: jax.Array  # (P,) best point found
    value: jax.Array  # () its value (inf when no finite value was ever seen)
    n_eval: jax.Array  # () evaluations used


class _State(NamedTuple):
    theta: jax.Array  # accepted iterate
    f: jax.Array
    g: jax.Array
    d: jax.Array  # search direction from theta
    t: jax.Array  # trial step length
    halvings: jax.Array
    S: jax.Array
    Y: jax.Array
    rho: jax.Array
    k: jax.Array  # pairs stored since the last reset
    it: jax.Array
    done: jax.Array


def _two_loop(g: jax.Array, S: jax.Array, Y: jax.Array, rho: jax.Array, k: jax.Array) -> jax.Array:
    """H g for the L-BFGS inverse-Hessian approximation (standard two-loop recursion)."""
    m = S.shape[0]
    count = jnp.minimum(k, m)

    def first(i: jax.Array, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        q, alphas = carry
        j = (k - 1 - i) % m  # newest to oldest
        a = jnp.where(i < count, rho[j] * jnp.dot(S[j], q), 0.0)
        return q - a * Y[j], alphas.at[j].set(a)

    q, alphas = jax.lax.fori_loop(0, m, first, (g, jnp.zeros(m, g.dtype)))
    newest = (k - 1) % m
    yy = jnp.dot(Y[newest], Y[newest])
    gamma = jnp.where(count > 0, jnp.dot(S[newest], Y[newest]) / jnp.where(yy > 0, yy, 1.0), 1.0)
    r = gamma * q

    def second(i: jax.Array, r: jax.Array) -> jax.Array:
        j = (k - count + i) % m  # oldest to newest
        b = rho[j] * jnp.dot(Y[j], r)
        return jnp.where(i < count, r + S[j] * (alphas[j] - b), r)

    return jax.lax.fori_loop(0, m, second, r)


def lbfgs(
    fun: Callable[[jax.Array], jax.Array],
    theta0: jax.Array,
    *,
    maxiter: int | jax.Array,
    history: int = 10,
    gtol: float = 1e-5,
    ftol: float = 1e-10,
) -> LbfgsResult:
    """Minimise a scalar ``fun`` from ``theta0`` with at most ``maxiter`` evaluations."""
    vg = jax.value_and_grad(fun)
    dtype = theta0.dtype
    P = theta0.shape[0]
    zeros = jnp.zeros(P, dtype)
    # The first "trial" is theta0 itself against f = +inf, so it is always accepted.
    init = _State(
        theta0,
        jnp.asarray(jnp.inf, dtype),
        zeros,
        zeros,
        jnp.asarray(0.0, dtype),
        jnp.asarray(0),
        jnp.zeros((history, P), dtype),
        jnp.zeros((history, P), dtype),
        jnp.zeros(history, dtype),
        jnp.asarray(0),
        jnp.asarray(0),
        jnp.asarray(False),
    )

    def cond(s: _State) -> jax.Array:
        return (~s.done) & (s.it < maxiter)

    def body(s: _State) -> _State:
        trial = s.theta + s.t * s.d
        f_new, g_new = vg(trial)
        gd = jnp.dot(s.g, s.d)
        finite = jnp.isfinite(f_new) & jnp.all(jnp.isfinite(g_new))
        accepted = finite & (f_new <= s.f + _ARMIJO * s.t * gd)
        first = ~jnp.isfinite(s.f)  # theta0 itself was just evaluated

        # --- accepted: curvature pair, convergence test, next direction ---
        step, dg = trial - s.theta, g_new - s.g
        sy = jnp.dot(step, dg)
        store = accepted & ~first & (sy > 1e-10 * jnp.dot(dg, dg))  # keep H positive definite
        slot = s.k % history
        S = jnp.where(store, s.S.at[slot].set(step), s.S)
        Y = jnp.where(store, s.Y.at[slot].set(dg), s.Y)
        rho = jnp.where(store, s.rho.at[slot].set(1.0 / jnp.where(sy != 0, sy, 1.0)), s.rho)
        k = s.k + store.astype(s.k.dtype)
        d_acc = -_two_loop(g_new, S, Y, rho, k)
        # Not a descent direction (stale curvature): forget the memory, take the gradient.
        bad = ~(jnp.dot(g_new, d_acc) < 0) | ~jnp.all(jnp.isfinite(d_acc))
        d_acc = jnp.where(bad, -g_new, d_acc)
        k = jnp.where(bad, 0, k)
        # A fresh memory starts with a unit-length move rather than a unit-gradient step.
        t_acc = jnp.where(k == 0, jnp.minimum(1.0, 1.0 / (jnp.linalg.norm(d_acc) + 1e-30)), 1.0).astype(dtype)
        converged = (jnp.max(jnp.abs(g_new)) < gtol) | (
            ~first & (jnp.abs(s.f - f_new) <= ftol * jnp.maximum(1.0, jnp.abs(f_new)))
        )

        # --- rejected: halve the step; after too many halvings drop the memory, and if a
        # plain gradient step fails too we are at a (numerical) minimum ---
        exhausted = s.halvings + 1 >= _MAX_HALVINGS
        restart = exhausted & (s.k > 0)
        d_rej = jnp.where(restart, -s.g, s.d)
        t_rej = jnp.where(restart, jnp.minimum(1.0, 1.0 / (jnp.linalg.norm(s.g) + 1e-30)), 0.5 * s.t).astype(dtype)
        give_up = (exhausted & (s.k == 0)) | (first & ~finite)

        def pick(a: jax.Array, b: jax.Array) -> jax.Array:
            return jnp.where(accepted, a, b)

        return _State(
            theta=pick(trial, s.theta),
            f=pick(f_new, s.f),
            g=pick(g_new, s.g),
            d=pick(d_acc, d_rej),
            t=pick(t_acc, t_rej),
            halvings=pick(jnp.asarray(0), jnp.where(restart, 0, s.halvings + 1)),
            S=S,
            Y=Y,
            rho=rho,
            k=pick(k, jnp.where(restart, 0, s.k)),
            it=s.it + 1,
            done=pick(converged, give_up),
        )

    out = jax.lax.while_loop(cond, body, init)
    return LbfgsResult(out.theta, out.f, out.it)
