"""Fantasies of the pending points: ``batch_strategy="qei"``.

A proposal made while ``p`` points are pending (running trials, or the earlier members
of a batch) should maximise the expected improvement of the *joint* outcome,
``qEI(P + {x}) = E[max(best - min(f_P, f_x), 0)]``, not the EI of a model told a
constant lie at ``P``. Writing ``best_s = min(best, min f_P^s)`` for one joint draw
``f_P^s`` of the pending values,

    qEI(P + {x}) = const + E_s[ EI(x | f_P = f_P^s, incumbent best_s) ],

and given ``f_P^s`` the value ``f_x`` is Gaussian (the posterior conditioned on the
pending points with those values): its mean is linear in ``f_P^s``, its variance does
not depend on them. So only the pending values are sampled (``S`` fixed quasi-random
base samples, the same for the whole acquisition search: the acquisition is
deterministic and smooth in ``x``), and EI at ``x`` is exact per fantasy, in log space
(``log mean_s exp(log EI_s)``, numerics.log_h). This is the sequential-greedy qEI of
BoTorch / Optuna's qLogEI with the inner expectation done analytically.

Cost: one ``(N, S)`` solve per proposal (``fantasize``), then ``mu_s = m + k alpha_s``
per candidate, ``(M, N) @ (N, S)``; shapes are the bucket's, so no recompilation.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve, solve_triangular

from hpo_sweeper.engines.jax_gp.gp import Posterior
from hpo_sweeper.engines.jax_gp.kernels import cross_cov
from hpo_sweeper.engines.jax_gp.numerics import Safeguards

__all__ = ["N_FANTASIES", "Fantasies", "base_samples", "fantasize"]

#: joint draws of the pending values; 64 keeps the seed-to-seed spread of the acquisition's
#: maximiser below the candidates' own (QMC draws converge ~1/S)
N_FANTASIES = 64


class Fantasies(NamedTuple):
    """Per-fantasy targets of the pending-conditioned posterior (traced arrays)."""

    alpha: jax.Array  # (S, N) K^-1 resid_s, K of the posterior with the pending points filled
    best: jax.Array  # (S,) min(incumbent, min f_P^s), standardised


def base_samples(entropy: tuple[int, ...], N: int) -> np.ndarray:
    """(S, N) standard normal QMC base samples (scrambled Sobol, inverse CDF); fixed by ``entropy``."""
    from scipy.stats import norm, qmc

    U = qmc.Sobol(d=N, scramble=True, seed=np.random.default_rng(list(entropy))).random(N_FANTASIES)
    return norm.ppf(np.clip(U, 1e-12, 1.0 - 1e-12))


@partial(jax.jit, static_argnames=("sg",))
def fantasize(
    post_obs: Posterior, post_pend: Posterior, best: jax.Array, eps: jax.Array, sg: Safeguards
) -> Fantasies:
    """Joint draws of the latent values at the pending slots of ``post_pend``.

    ``post_obs`` holds the observations only; ``post_pend`` is it conditioned on the
    pending points (``gp.condition``, same hyperparameters), so its slots beyond
    ``post_obs``'s filled ones are the pending points. ``eps: (S, N)`` base samples.
    """
    h = post_obs.hypers
    pm = post_pend.mask * (1.0 - post_obs.mask)  # (N,) 1 at pending slots
    Xp = post_pend.X
    k = h.signal * cross_cov(Xp, post_obs.X, h.inv_ls, sg.tiny) * post_obs.mask  # (N, N)
    mu = h.mean + k @ post_obs.alpha
    V = solve_triangular(post_obs.L, k.T, lower=True)
    cov = h.signal * cross_cov(Xp, Xp, h.inv_ls, sg.tiny) - V.T @ V
    cov = cov * pm[:, None] * pm[None, :] + jnp.diag(1.0 - pm + pm * sg.jitter * h.signal)
    # Near-duplicate pending points make cov singular; eigh is robust where Cholesky is not.
    w, Q = jnp.linalg.eigh(cov)
    root = Q * jnp.sqrt(jnp.maximum(w, 0.0))[None, :]
    f = (mu[None, :] + eps @ root.T) * pm[None, :]  # (S, N), 0 off the pending slots
    resid = post_pend.resid[None, :] * (1.0 - pm)[None, :] + (f - h.mean) * pm[None, :]
    alpha = cho_solve((post_pend.L, True), resid.T).T
    best_s = jnp.minimum(best, jnp.min(jnp.where(pm[None, :] > 0, f, jnp.inf), axis=1))
    return Fantasies(alpha=alpha, best=best_s)
