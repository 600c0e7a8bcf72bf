"""Acquisition functions and their maximisation over the (mixed) feature cube.

Notation: ``D`` features, ``M`` candidates, ``S`` gradient starts; ``X: (M, D)``;
``mu, var: (M,)`` latent posterior mean and variance in standardised (warped) units;
``best``: the incumbent's standardised value; every acquisition is MAXIMISED.

* log-EI: ``log sigma + log_h((best - xi - mu) / sigma)`` (numerics.log_h, Ament et al.
  2023) so flat regions far from the incumbent still have a usable gradient;
* log-PI: ``log Phi((best - xi - mu) / sigma)``;
* LCB: ``kappa sigma - mu`` (the lower confidence bound of a minimiser, negated).

Maximisation (``propose``), one jitted program per bucket:

1. candidates: a scrambled Sobol block, shifted per call (Cranley-Patterson rotation),
   plus Gaussian perturbations of the best observed points at several scales;
   categorical columns are one-hot: every combination is enumerated across the candidates
   when there are few (``enumerate_cats``), sampled per group otherwise;
2. the top ``S`` candidates start projected Adam ascent in [0, 1] on the numeric columns
   only (categoricals stay one-hot: relaxing them proposes points off the lattice);
3. numeric columns with discrete levels are snapped to the nearest level, categoricals
   get a one-exchange sweep when not enumerated; the best snapped point that is not
   already observed or pending wins.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr

from hpo_sweeper.engines.jax_gp.gp import Posterior, predict
from hpo_sweeper.engines.jax_gp.numerics import Safeguards, log_h

__all__ = ["AcqConfig", "AcqInputs", "acq_value", "propose"]

KINDS = ("ei", "pi", "lcb")
#: times ``propose`` was traced (== compiled); read by tests
_trace_counter: dict[str, int] = {"propose": 0}


class AcqConfig(NamedTuple):
    """Static (hashable) configuration of the acquisition search."""

    kind: str  # one of KINDS
    safeguards: Safeguards
    n_features: int
    numeric_cols: tuple[int, ...]
    cat_groups: tuple[tuple[int, ...], ...]
    enumerate_cats: bool
    n_local: int  # perturbations of the best points
    n_starts: int  # S
    n_steps: int  # Adam steps
    lr: float  # initial Adam step in unit-cube units (cosine-decayed)


class AcqInputs(NamedTuple):
    """Traced inputs of ``propose`` (arrays only, so changing them never recompiles)."""

    sobol: jax.Array  # (M0, n_numeric + n_cat_dims) base quasi-random points
    combos: jax.Array  # (C, D) one-hot rows of every categorical combination (or (1, D))
    levels: jax.Array  # (n_numeric, Lmax) sorted unit levels, +inf padded
    n_levels: jax.Array  # (n_numeric,) int, 0 = continuous
    top_X: jax.Array  # (k, D) best observed points (repeated when fewer)
    best: jax.Array  # () incumbent, standardised
    xi: jax.Array  # ()
    kappa: jax.Array  # ()


def acq_value(post: Posterior, X: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """(M, D) -> (M,) acquisition values (higher is better)."""
    mu, var = predict(post, X, cfg.safeguards)
    sigma = jnp.sqrt(var)
    if cfg.kind == "lcb":
        return inp.kappa * sigma - mu
    u = (inp.best - inp.xi - mu) / sigma
    if cfg.kind == "pi":
        return log_ndtr(u)
    return jnp.log(sigma) + log_h(u)


def _one_hot_groups(u: jax.Array, groups: tuple[tuple[int, ...], ...], D: int) -> jax.Array:
    """(M, n_groups) uniforms -> (M, D) one-hot categoricals (numeric columns 0)."""
    X = jnp.zeros((u.shape[0], D), u.dtype)
    for g, cols in enumerate(groups):
        idx = jnp.minimum((u[:, g] * len(cols)).astype(jnp.int32), len(cols) - 1)
        X = X.at[:, jnp.array(cols)].set(jax.nn.one_hot(idx, len(cols), dtype=u.dtype))
    return X


def _candidates(key: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """(M0 + n_local, D) candidate points."""
    D, num = cfg.n_features, jnp.array(cfg.numeric_cols, dtype=jnp.int32)
    n_num = len(cfg.numeric_cols)
    k_shift, k_par, k_scale, k_eps, k_cat, k_res = jax.random.split(key, 6)
    dtype = inp.sobol.dtype
    U = jnp.mod(inp.sobol + jax.random.uniform(k_shift, (inp.sobol.shape[1],), dtype), 1.0)
    M0 = U.shape[0]
    if cfg.cat_groups and cfg.enumerate_cats:
        C = inp.combos.shape[0]
        # Stratify the combinations over the candidates so each gets ~M0 / C of them.
        idx = (jnp.arange(M0) + jnp.floor(U[:, n_num] * C).astype(jnp.int32)) % C
        Xg = inp.combos[idx]
    elif cfg.cat_groups:
        Xg = _one_hot_groups(U[:, n_num:], cfg.cat_groups, D)
    else:
        Xg = jnp.zeros((M0, D), dtype)
    if n_num:
        Xg = Xg.at[:, num].set(U[:, :n_num])

    # Local candidates: the best observed points perturbed at scales 1e-3 .. 0.2, so the
    # search refines the incumbent as well as it explores.
    nl = cfg.n_local
    parents = inp.top_X[jax.random.randint(k_par, (nl,), 0, inp.top_X.shape[0])]
    scale = jnp.exp(jax.random.uniform(k_scale, (nl, 1), dtype, math.log(1e-3), math.log(0.2)))
    Xl = parents
    if n_num:
        step = scale * jax.random.normal(k_eps, (nl, n_num), dtype)
        Xl = Xl.at[:, num].set(jnp.clip(parents[:, num] + step, 0.0, 1.0))
    if cfg.cat_groups:
        fresh = _one_hot_groups(jax.random.uniform(k_cat, (nl, len(cfg.cat_groups)), dtype), cfg.cat_groups, D)
        for g, cols in enumerate(cfg.cat_groups):
            c = jnp.array(cols)
            swap = jax.random.uniform(jax.random.fold_in(k_res, g), (nl, 1), dtype) < 0.2
            Xl = Xl.at[:, c].set(jnp.where(swap, fresh[:, c], Xl[:, c]))
    return jnp.concatenate([Xg, Xl], axis=0)


def _snap(X: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """Numeric columns with levels -> nearest level (categoricals are already one-hot)."""
    if not cfg.numeric_cols:
        return X
    num = jnp.array(cfg.numeric_cols, dtype=jnp.int32)

    def col(x: jax.Array, lv: jax.Array, nlv: jax.Array) -> jax.Array:  # (M,), (Lmax,), ()
        i = jnp.clip(jnp.searchsorted(lv, x), 1, jnp.maximum(nlv - 1, 1))
        lo, hi = lv[i - 1], lv[jnp.minimum(i, lv.shape[0] - 1)]
        nearest = jnp.where(jnp.abs(x - lo) <= jnp.abs(hi - x), lo, hi)
        nearest = jnp.where(nlv == 1, lv[0], nearest)
        return jnp.where(nlv > 0, nearest, x)

    snapped = jax.vmap(col, in_axes=(1, 0, 0), out_axes=1)(X[:, num], inp.levels, inp.n_levels)
    return X.at[:, num].set(snapped)


def _ascend(post: Posterior, X0: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """Projected Adam from ``X0: (S, D)`` on the numeric columns; returns each start's best iterate."""
    grad_mask = jnp.zeros(cfg.n_features, X0.dtype).at[jnp.array(cfg.numeric_cols, dtype=jnp.int32)].set(1.0)

    def total(X: jax.Array) -> tuple[jax.Array, jax.Array]:
        a = acq_value(post, X, inp, cfg)
        return jnp.sum(a), a  # points are independent: grad of the sum = per-point grads

    vg = jax.value_and_grad(total, has_aux=True)
    b1, b2, eps = 0.9, 0.999, 1e-8
    lr_min = cfg.lr * 1e-3

    def step(t: jax.Array, c: tuple[jax.Array, ...]) -> tuple[jax.Array, ...]:
        X, m, v, best_X, best_a = c
        (_, a), g = vg(X)
        g = jnp.where(jnp.isfinite(g), g, 0.0) * grad_mask
        better = a > best_a
        best_X = jnp.where(better[:, None], X, best_X)
        best_a = jnp.where(better, a, best_a)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        tf = (t + 1).astype(X.dtype)
        mhat, vhat = m / (1 - b1**tf), v / (1 - b2**tf)
        lr = lr_min + 0.5 * (cfg.lr - lr_min) * (1 + jnp.cos(jnp.pi * t / cfg.n_steps))
        X = jnp.clip(X + lr * mhat / (jnp.sqrt(vhat) + eps), 0.0, 1.0)
        return X, m, v, best_X, best_a

    z = jnp.zeros_like(X0)
    init = (X0, z, z, X0, jnp.full(X0.shape[0], -jnp.inf, X0.dtype))
    X, _, _, best_X, best_a = jax.lax.fori_loop(0, cfg.n_steps, step, init)
    a_last = acq_value(post, X, inp, cfg)
    return jnp.where((a_last > best_a)[:, None], X, best_X)


def _exchange(X: jax.Array, cfg: AcqConfig) -> jax.Array:
    """(S, D) -> (S * sum(k_g), D): every single-categorical change of every row."""
    out = []
    for cols in cfg.cat_groups:
        c = jnp.array(cols)
        for j in range(len(cols)):
            out.append(X.at[:, c].set(jax.nn.one_hot(j, len(cols), dtype=X.dtype)))
    return jnp.concatenate(out, axis=0)


@partial(jax.jit, static_argnames=("cfg",))
def propose(post: Posterior, key: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> tuple[jax.Array, jax.Array]:
    """The acquisition's maximiser among valid, new points: ``(x: (D,), value: ())``."""
    _trace_counter["propose"] += 1
    Xc = _candidates(key, inp, cfg)
    ac = acq_value(post, Xc, inp, cfg)
    ac = jnp.where(jnp.isfinite(ac), ac, -jnp.inf)
    _, top = jax.lax.top_k(ac, cfg.n_starts)
    X0 = Xc[top]
    finals = [_snap(X0, inp, cfg)]
    if cfg.numeric_cols and cfg.n_steps > 0:
        finals.append(_snap(_ascend(post, X0, inp, cfg), inp, cfg))
    if cfg.cat_groups and cfg.enumerate_cats and not cfg.numeric_cols:
        finals.append(inp.combos)  # all-categorical and small: score every configuration
    Xf = jnp.concatenate(finals, axis=0)
    if cfg.cat_groups and not cfg.enumerate_cats:
        Xf = jnp.concatenate([Xf, _exchange(Xf, cfg)], axis=0)
    af = acq_value(post, Xf, inp, cfg)
    af = jnp.where(jnp.isfinite(af), af, -jnp.inf)
    # Never propose what is already observed or pending (all filled slots of post.X).
    d2 = jnp.sum((Xf[:, None, :] - post.X[None, :, :]) ** 2, axis=-1)  # (F, N)
    dup = jnp.any((d2 < 1e-16) & (post.mask[None, :] > 0), axis=1)
    score = jnp.where(dup, -jnp.inf, af)
    # If every finalist repeats a point, the front replaces it; still return the best.
    i = jnp.where(jnp.any(jnp.isfinite(score)), jnp.argmax(score), jnp.argmax(af))
    return Xf[i], af[i]

