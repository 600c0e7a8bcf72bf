"""Acquisition functions and their maximisation over the (mixed) feature cube.

Notation: ``D`` features, ``M`` candidates, ``S`` gradient starts; ``X: (M, D)``;
``mu, var: (M,)`` latent posterior mean and variance in standardised (warped) units;
``best``: the incumbent's standardised value; every acquisition is MAXIMISED.

* log-EI: ``log sigma + log_h(u)``, ``u = (best - mu) / sigma - xi`` (numerics.log_h,
  Ament et al. 2023) so flat regions far from the incumbent still have a usable gradient;
* log-PI: ``log Phi(u)``;
* LCB: ``kappa sigma - mu`` (the lower confidence bound of a minimiser, negated).

``xi`` is a margin in units of the posterior standard deviation, not of y: EI then asks
for an improvement of ``xi sigma(x)``. With a margin fixed in y units (skopt's reading),
xi = 0.01 stalled Hartmann-6 at a regret of ~2e-3 once the remaining improvement was
below it (measured: median regret 2.6e-3 after 45 and after 70 trials; 1.3e-4 and 6e-6
with the sd-relative margin), while near the incumbent sigma -> 0 and the margin vanishes.

Maximisation (``propose``), one jitted program per bucket:

1. candidates (host side, ``candidates.CandidateSampler``): valid points of the feature
   cube (one-hot categoricals, numeric levels snapped);
2. candidates equal to an observed or pending point are dropped, and the top ``S`` start
   L-BFGS (vmapped) on the numeric columns, the box removed by ``x = (1 - cos u) / 2``.
   Categoricals stay one-hot during the ascent: relaxing them proposes points off the
   lattice whose argmax is not where the model was maximised;
3. numeric columns with discrete levels are snapped to the nearest level
   (``space.snap_to_levels``, the rule the candidates use) and re-scored;
   when the categoricals were sampled (too many combinations to enumerate), every
   single-categorical change of each finalist is scored too (a one-exchange sweep);
   the best point that is not already observed or pending wins.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import log_ndtr, logsumexp

from hpo_sweeper.engines.jax_gp.fantasies import Fantasies
from hpo_sweeper.engines.jax_gp.gp import Posterior, predict
from hpo_sweeper.engines.jax_gp.kernels import cross_cov
from hpo_sweeper.engines.jax_gp.numerics import Safeguards, log_h
from hpo_sweeper.engines.jax_gp.optim import lbfgs
from hpo_sweeper.space import snap_to_levels

__all__ = ["AcqConfig", "AcqInputs", "acq_value", "propose"]

KINDS = ("ei", "pi", "lcb")


class AcqConfig(NamedTuple):
    """Static (hashable) configuration of the acquisition search."""

    kind: str  # one of KINDS
    safeguards: Safeguards
    n_features: int
    numeric_cols: tuple[int, ...]
    cat_groups: tuple[tuple[int, ...], ...]
    enumerate_cats: bool
    has_levels: bool  # some numeric column is discrete: snap and re-score after the ascent
    n_starts: int  # S
    n_steps: int  # L-BFGS evaluations per start


#: a jax.Array, or a numpy array where the engine runs on JAX's default device (cheaper to pass)
ArrayLike = Any


class AcqInputs(NamedTuple):
    """Traced inputs of ``propose`` (arrays only, so changing them never recompiles)."""

    levels: ArrayLike  # (n_numeric, Lmax) sorted unit levels, +inf padded
    n_levels: ArrayLike  # (n_numeric,) int, 0 = continuous
    best: ArrayLike  # () incumbent, standardised
    xi: ArrayLike  # ()
    kappa: ArrayLike  # ()
    #: joint draws of the pending points (``fantasies.py``); None: no pending points, or a constant lie
    fantasies: Fantasies | None = None


def _acq_fantasies(post: Posterior, X: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """The acquisition averaged over the pending points' fantasies (``fantasies.py``).

    ``post`` is conditioned on the pending points (its variance does not depend on their
    values); the mean and the incumbent are per fantasy. EI and PI average in log space.
    """
    f = inp.fantasies
    assert f is not None
    sg, h = cfg.safeguards, post.hypers
    k = h.signal * cross_cov(X, post.X, h.inv_ls, sg.tiny) * post.mask  # (M, N)
    mu = h.mean + k @ f.alpha.T  # (M, S)
    v = solve_triangular(post.L, k.T, lower=True)
    sigma = jnp.sqrt(jnp.maximum(h.signal - jnp.sum(v * v, axis=0), sg.min_variance))  # (M,)
    if cfg.kind == "lcb":
        return inp.kappa * sigma - jnp.mean(mu, axis=1)
    u = (f.best[None, :] - mu) / sigma[:, None] - inp.xi
    log_s = jnp.log(mu.shape[1])
    if cfg.kind == "pi":
        return logsumexp(log_ndtr(u), axis=1) - log_s
    return jnp.log(sigma) + logsumexp(log_h(u), axis=1) - log_s


def acq_value(post: Posterior, X: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """(M, D) -> (M,) acquisition values (higher is better)."""
    if inp.fantasies is not None:
        return _acq_fantasies(post, X, inp, cfg)
    mu, var = predict(post, X, cfg.safeguards)
    sigma = jnp.sqrt(var)
    if cfg.kind == "lcb":
        return inp.kappa * sigma - mu
    # xi is in units of the posterior sd (see the module docstring): a fixed margin in
    # units of y stalls convergence once the remaining regret is below it.
    u = (inp.best - mu) / sigma - inp.xi
    if cfg.kind == "pi":
        return log_ndtr(u)
    return jnp.log(sigma) + log_h(u)


def _snap(X: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """Numeric columns with levels -> nearest level (categoricals are already one-hot)."""
    if not cfg.numeric_cols:
        return X
    num = jnp.array(cfg.numeric_cols, dtype=jnp.int32)

    def col(x: jax.Array, lv: jax.Array, nlv: jax.Array) -> jax.Array:  # (M,), (Lmax,), ()
        return snap_to_levels(x, lv, nlv, xp=jnp)  # the space's rule, as the candidates use it

    snapped = jax.vmap(col, in_axes=(1, 0, 0), out_axes=1)(X[:, num], inp.levels, inp.n_levels)
    return X.at[:, num].set(snapped)


def _ascend(post: Posterior, X0: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> tuple[jax.Array, jax.Array]:
    """L-BFGS from each row of ``X0: (S, D)`` (vmapped) on the numeric columns.

    The box is removed by ``x = (1 - cos u) / 2``: smooth, onto [0, 1], and a maximum on
    a face of the cube is a stationary point in ``u``, so plain L-BFGS handles bounds.
    """
    num = jnp.array(cfg.numeric_cols, dtype=jnp.int32)

    def to_x(base: jax.Array, u: jax.Array) -> jax.Array:
        return base.at[num].set(0.5 * (1.0 - jnp.cos(u)))

    def one(base: jax.Array) -> tuple[jax.Array, jax.Array]:
        # Off the faces a little: there du/dx is infinite and the start could not move.
        u0 = jnp.arccos(1.0 - 2.0 * jnp.clip(base[num], 1e-4, 1.0 - 1e-4))
        res = lbfgs(
            lambda u: -acq_value(post, to_x(base, u)[None, :], inp, cfg)[0],
            u0,
            maxiter=cfg.n_steps,
            gtol=1e-7,
            ftol=1e-12,
        )
        return to_x(base, res.theta), -res.value

    return jax.vmap(one)(X0)


def _exchange(X: jax.Array, cfg: AcqConfig) -> jax.Array:
    """(S, D) -> (S * sum(k_g), D): every single-categorical change of every row."""
    out = []
    for cols in cfg.cat_groups:
        c = jnp.array(cols)
        for j in range(len(cols)):
            out.append(X.at[:, c].set(jax.nn.one_hot(j, len(cols), dtype=X.dtype)))
    return jnp.concatenate(out, axis=0)


def _is_known(X: jax.Array, post: Posterior) -> jax.Array:
    """(F, D) -> (F,) bool: the row equals a filled slot of ``post`` (observed or pending)."""
    d2 = jnp.sum(X * X, 1)[:, None] + jnp.sum(post.X * post.X, 1)[None, :] - 2.0 * (X @ post.X.T)
    return jnp.any((d2 < 1e-12) & (post.mask[None, :] > 0), axis=1)


@partial(jax.jit, static_argnames=("cfg",))
def propose(post: Posterior, Xc: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> tuple[jax.Array, jax.Array]:
    """The acquisition's maximiser among valid, new points: ``(x: (D,), value: ())``.

    ``Xc: (M, D)`` valid candidates (``candidates.CandidateSampler``); the best ``S`` start the ascent.
    """
    ac = acq_value(post, Xc, inp, cfg)
    # Candidates that repeat an observed or pending point cannot start: in small discrete
    # spaces the best few candidates are often exactly the points already evaluated.
    ac = jnp.where(jnp.isfinite(ac) & ~_is_known(Xc, post), ac, -jnp.inf)
    a0, top = jax.lax.top_k(ac, cfg.n_starts)
    Xf, af = Xc[top], a0
    if cfg.numeric_cols and cfg.n_steps > 0:
        Xo, ao = _ascend(post, Xf, inp, cfg)
        if cfg.has_levels:
            Xo = _snap(Xo, inp, cfg)
            ao = acq_value(post, Xo, inp, cfg)
        Xf, af = jnp.concatenate([Xf, Xo], axis=0), jnp.concatenate([af, ao])
    if cfg.cat_groups and not cfg.enumerate_cats:
        Xe = _exchange(Xf, cfg)
        Xf, af = jnp.concatenate([Xf, Xe], axis=0), jnp.concatenate([af, acq_value(post, Xe, inp, cfg)])
    af = jnp.where(jnp.isfinite(af), af, -jnp.inf)
    score = jnp.where(_is_known(Xf, post), -jnp.inf, af)
    # If every finalist repeats a point, the front replaces it; still return the best.
    i = jnp.where(jnp.any(jnp.isfinite(score)), jnp.argmax(score), jnp.argmax(af))
    return Xf[i], af[i]
