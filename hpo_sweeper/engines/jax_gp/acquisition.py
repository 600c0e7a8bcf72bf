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

1. candidates (host side, ``CandidateSampler``): a scrambled Sobol block, shifted per
   call (Cranley-Patterson rotation), plus Gaussian perturbations of the best observed
   points at scales 1e-3 .. 0.2; categorical columns are one-hot: every combination is
   spread over the candidates when there are few (``enumerate_cats``, <= 64), sampled per
   group otherwise; discrete numeric levels are snapped;
2. candidates equal to an observed or pending point are dropped, and the top ``S`` start
   L-BFGS (vmapped) on the numeric columns, the box removed by ``x = (1 - cos u) / 2``.
   Categoricals stay one-hot during the ascent: relaxing them proposes points off the
   lattice whose argmax is not where the model was maximised;
3. numeric columns with discrete levels are snapped to the nearest level and re-scored;
   when the categoricals were sampled (too many combinations to enumerate), every
   single-categorical change of each finalist is scored too (a one-exchange sweep);
   the best point that is not already observed or pending wins.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from hpo_sweeper.engines.jax_gp.gp import Posterior, predict
from hpo_sweeper.engines.jax_gp.numerics import Safeguards, log_h
from hpo_sweeper.engines.jax_gp.optim import lbfgs

__all__ = ["AcqConfig", "AcqInputs", "CandidateSampler", "acq_value", "propose"]

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
    has_levels: bool  # some numeric column is discrete: snap and re-score after the ascent
    n_starts: int  # S
    n_steps: int  # L-BFGS evaluations per start


class AcqInputs(NamedTuple):
    """Traced inputs of ``propose`` (arrays only, so changing them never recompiles)."""

    levels: jax.Array  # (n_numeric, Lmax) sorted unit levels, +inf padded
    n_levels: jax.Array  # (n_numeric,) int, 0 = continuous
    best: jax.Array  # () incumbent, standardised
    xi: jax.Array  # ()
    kappa: jax.Array  # ()


def acq_value(post: Posterior, X: jax.Array, inp: AcqInputs, cfg: AcqConfig) -> jax.Array:
    """(M, D) -> (M,) acquisition values (higher is better)."""
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


class CandidateSampler:
    """Host-side (numpy) candidate generation: cheap, and it keeps random-number
    generation and scatters out of the compiled program (they dominated compile time).

    Candidates are already valid points: one-hot categoricals, numeric levels snapped.
    """

    def __init__(
        self,
        sobol: np.ndarray,
        numeric_cols: tuple[int, ...],
        cat_groups: tuple[tuple[int, ...], ...],
        combos: np.ndarray | None,
        levels: list[np.ndarray | None],
        n_features: int,
    ) -> None:
        self.sobol, self.num, self.groups, self.combos = sobol, list(numeric_cols), cat_groups, combos
        self.levels, self.D = levels, n_features

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Numeric columns with levels -> nearest level, in place; returns X."""
        for j, lv in zip(self.num, self.levels):
            if lv is not None:
                i = np.clip(np.searchsorted(lv, X[:, j]), 1, max(len(lv) - 1, 1))
                lo, hi = lv[i - 1], lv[np.minimum(i, len(lv) - 1)]
                X[:, j] = np.where(np.abs(X[:, j] - lo) <= np.abs(hi - X[:, j]), lo, hi)
        return X

    def _one_hot(self, X: np.ndarray, u: np.ndarray) -> None:
        for g, cols in enumerate(self.groups):
            idx = np.minimum((u[:, g] * len(cols)).astype(int), len(cols) - 1)
            X[:, list(cols)] = np.eye(len(cols))[idx]

    def sample(self, rng: np.random.Generator, n_global: int, n_local: int, top_X: np.ndarray) -> np.ndarray:
        """(n_global + n_local, D): a shifted Sobol block and perturbations of ``top_X``."""
        n_num = len(self.num)
        U = np.mod(self.sobol[:n_global] + rng.random(self.sobol.shape[1]), 1.0)  # Cranley-Patterson
        Xg = np.zeros((n_global, self.D))
        if self.groups and self.combos is not None:
            C = len(self.combos)
            # Stratify the combinations over the candidates so each gets ~n_global / C of them.
            idx = (np.arange(n_global) + np.floor(U[:, n_num] * C).astype(int)) % C
            Xg = self.combos[idx].copy()
        elif self.groups:
            self._one_hot(Xg, U[:, n_num:])
        Xg[:, self.num] = U[:, :n_num]
        # Local candidates: the best points perturbed at scales 1e-3 .. 0.2 (log-uniform), so
        # the search refines the incumbent as well as it explores; categoricals resampled
        # with probability 0.2 per group.
        Xl = top_X[rng.integers(0, len(top_X), n_local)].copy()
        scale = np.exp(rng.uniform(np.log(1e-3), np.log(0.2), (n_local, 1)))
        Xl[:, self.num] = np.clip(Xl[:, self.num] + scale * rng.standard_normal((n_local, n_num)), 0.0, 1.0)
        if self.groups:
            fresh = np.zeros_like(Xl)
            self._one_hot(fresh, rng.random((n_local, len(self.groups))))
            for cols in self.groups:
                swap = rng.random((n_local, 1)) < 0.2
                Xl[:, list(cols)] = np.where(swap, fresh[:, list(cols)], Xl[:, list(cols)])
        return self.snap(np.concatenate([Xg, Xl], axis=0))


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

    ``Xc: (M, D)`` valid candidates (``CandidateSampler``); the best ``S`` start the ascent.
    """
    _trace_counter["propose"] += 1
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
