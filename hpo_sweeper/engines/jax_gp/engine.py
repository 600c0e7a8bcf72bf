"""The ``backend="jax"`` engine: ``init(layout, config) -> state`` and
``suggest(state, X, y, X_pending, q, key) -> (X_new, state)`` (``engines/base.py``).

Host-side glue around the pure, jitted pieces (``gp.fit``, ``gp.posterior``,
``gp.condition``, ``acquisition.propose``): warp the targets, pad to a power-of-two
bucket (``padding``), fit as ``schedule`` says, condition on pending points, draw
candidates (``candidates``) and maximise the acquisition. Matern-5/2 ARD, MAP
hyperparameters, log-EI; pending points and the members of a batch are conditioned on
with a constant lie (kriging believer).

Notation: ``n`` observations, ``p`` pending points, ``q`` requested points, ``D``
features, ``N = bucket(n + p + q)`` the padded size; ``X: (N, D)``.

Compilation: every jitted function sees only bucket-shaped arrays and hashable static
configs, so a sweep compiles each function once per bucket: O(log n) compilations (the
tests count them with ``jax.monitoring``). A bucket's first call compiles for a few
seconds; JAX's persistent cache (``jax_cache.py``) keeps the programs across processes.

Precision: float64 on CPU (the default there), float32 on accelerators (their default;
jitter and noise floor grow, see ``numerics.safeguards_for``). float64 is enabled with
the ``jax.enable_x64`` context manager around this engine's own calls only, so other
JAX users in the process keep their setting.
"""

from __future__ import annotations

import copy
import logging
import math
import warnings
from functools import partial
from typing import Any

import jax
import numpy as np
from jax.scipy.linalg import cho_solve

from hpo_sweeper.engines.base import Key, check_arrays
from hpo_sweeper.engines.jax_gp import acquisition as acq
from hpo_sweeper.engines.jax_gp import blas_threads, gp, subset
from hpo_sweeper.engines.jax_gp.candidates import enumerates_categoricals, make_sampler
from hpo_sweeper.engines.jax_gp.config import ACQ_KIND, HEDGE_ARMS, JaxConfig, make_config
from hpo_sweeper.engines.jax_gp.fantasies import base_samples, fantasize
from hpo_sweeper.engines.jax_gp.numerics import Safeguards, safeguards_for
from hpo_sweeper.engines.jax_gp.padding import bucket, pad
from hpo_sweeper.engines.jax_gp.plateau import on_plateau, tie_streak
from hpo_sweeper.engines.jax_gp.schedule import fit_kind, fit_starts, n_random_starts
from hpo_sweeper.engines.jax_gp.state import EngineState, Statics
from hpo_sweeper.engines.jax_gp.warping import warp
from hpo_sweeper.space import FeatureLayout

# Hydra logs at INFO, so every sweep would show JAX's "Unable to initialize backend 'tpu'" from
# probing platforms this machine lacks. Set before any backend starts; a level the user set is kept.
_XLA_BRIDGE_LOG = logging.getLogger("jax._src.xla_bridge")
if _XLA_BRIDGE_LOG.level == logging.NOTSET:
    _XLA_BRIDGE_LOG.setLevel(logging.WARNING)

__all__ = ["EngineState", "JaxConfig", "bucket", "init", "make_config", "suggest"]

#: best observed points whose perturbations seed the acquisition search
N_TOP = 5
#: L-BFGS evaluations of a full hyperparameter fit (per restart)
FULL_FIT_STEPS = 100


@partial(jax.jit, static_argnames=("sg",))
def _condition(post: gp.Posterior, x: jax.Array, y: jax.Array, sg: Safeguards) -> gp.Posterior:
    return gp.condition(post, x, y, sg)


@partial(jax.jit, static_argnames=("sg",))
def _mean_at(post: gp.Posterior, X: jax.Array, sg: Safeguards) -> jax.Array:
    return gp.predict(post, X, sg)[0]


@jax.jit
def _refresh(post: gp.Posterior, z: jax.Array) -> gp.Posterior:
    """New targets ``z: (N,)`` for the same inputs and hyperparameters: O(N^2), L is kept."""
    resid = (z - post.hypers.mean) * post.mask
    return post._replace(resid=resid, alpha=cho_solve((post.L, True), resid))


# --- init -----------------------------------------------------------------------------------------


def init(layout: FeatureLayout, config: JaxConfig) -> EngineState:
    """The engine's state for one search space: candidates' Sobol block, device constants."""
    default_device = config.device == jax.devices()[0]
    sg = safeguards_for(np.dtype(config.dtype))
    static = Statics(
        config=config,
        layout=layout,
        sg=sg,
        sampler=make_sampler(layout, config.n_candidates, config.seed),
        enumerate_cats=enumerates_categoricals(layout),
        levels=None,
        n_levels=layout.n_levels if default_device else jax.device_put(layout.n_levels, config.device),
        default_device=default_device,
    )
    static = static._replace(levels=_put(static, layout.levels))
    # Host-side randomness only: a jax.random call outside jit would compile per shape.
    return EngineState(static=static, rng=np.random.default_rng([config.seed, 1]),
                       hedge_gains=np.zeros(len(HEDGE_ARMS)), last_fit={})


def _put(static: Statics, a: np.ndarray | float) -> np.ndarray | jax.Array:
    """Host array in the engine's dtype; placed on the device unless that is JAX's
    default, where handing numpy to the jitted call is cheaper than a device_put."""
    a = np.asarray(a, dtype=static.config.dtype)
    if static.default_device:
        return a
    with jax.enable_x64(static.config.x64):
        return jax.device_put(a, static.config.device)


def _acq_budget(cfg: JaxConfig, N: int) -> tuple[int, int, int, int]:
    """(global candidates, local candidates, starts, L-BFGS evaluations) for bucket N.

    The acquisition search costs ~ (candidates + starts x evaluations) x N^2; up to
    N = 128 it runs in full, beyond it shrinks ~1/N (with floors) so that a suggestion
    stays well under 0.05 s at n = 200 and 0.25 s at n = 1000 on two CPU cores.
    """
    f = min(1.0, 128.0 / N)
    m0 = max(min(256, cfg.n_candidates), int(cfg.n_candidates * f))
    starts = max(min(4, cfg.n_starts), round(cfg.n_starts * f))
    steps = max(min(20, cfg.acq_steps), int(cfg.acq_steps * f))
    return m0, max(64, m0 // 4), starts, steps


def _acq_config(static: Statics, kind: str, N: int) -> acq.AcqConfig:
    _, _, starts, steps = _acq_budget(static.config, N)
    layout = static.layout
    return acq.AcqConfig(
        kind=kind,
        safeguards=static.sg,
        n_features=layout.n_features,
        numeric_cols=layout.numeric,
        cat_groups=layout.categorical,
        enumerate_cats=static.enumerate_cats,
        has_levels=bool(np.any(layout.n_levels > 0)),
        n_starts=starts,
        n_steps=steps if layout.numeric else 0,
        tree=layout.inactive,
    )


# --- suggest -------------------------------------------------------------------------------------


def suggest(
    state: EngineState, X: np.ndarray, y: np.ndarray, X_pending: np.ndarray, q: int, key: Key
) -> tuple[np.ndarray, EngineState]:
    """Propose ``q`` feature rows; see ``hpo_sweeper.engines.base``."""
    static = state.static
    layout = static.layout
    X, y, X_pending = check_arrays(layout, X, y, X_pending)
    if q <= 0:
        return np.zeros((0, layout.n_features)), state
    cfg = static.config
    with jax.enable_x64(cfg.x64), blas_threads.limit(cfg.blas_threads):
        if len(X) == 0:  # nothing to model: quasi-random points
            U = np.random.default_rng([key[0], 4, key[1]]).random((q, layout.n_features))
            return layout.snap(U), state
        return _suggest(state, X, y, X_pending, q, key)


def _suggest(
    state: EngineState, X_obs: np.ndarray, y: np.ndarray, X_pend: np.ndarray, q: int, key: Key
) -> tuple[np.ndarray, EngineState]:
    static, cfg = state.static, state.static.config
    n_obs = len(X_obs)
    z = warp(y, cfg.output_warping)
    rng = copy.deepcopy(state.rng)  # the input state is never advanced
    # Above the cap the posterior holds a subset (subset.py), so its cost stops growing with n.
    # Room is left for the pending points and the batch so the bucket stays the cap's.
    m = max(cfg.max_posterior_points - len(X_pend) - q, cfg.max_posterior_points // 2)
    local = n_obs > m
    if local:
        inv_ls = None if state.theta is None else np.exp(-np.clip(state.theta[: static.layout.n_features], -6, 6))
        idx = subset.select(X_obs, z, m, inv_ls, np.random.default_rng([key[0], 7, key[1], n_obs]))
        X_post, z_post = X_obs[idx], z[idx]
    else:
        X_post, z_post = X_obs, z
    N = bucket(len(z_post) + len(X_pend) + q)
    data = pad(X_post, z_post, N, lambda a: _put(static, a))

    post, state = _fit(state, rng, data, X_obs, z, key, local)

    # "qei": the lie only fills the slots (fantasies.py replaces the pending values); the
    # constant liars keep their lie. GP-Hedge's gains then use the observations only.
    use_fantasies = cfg.batch_strategy == "qei"
    lie = {"cl_min": np.min(z), "cl_mean": np.mean(z), "cl_max": np.max(z), "qei": np.min(z)}[cfg.batch_strategy]
    lie_arr = _put(static, np.asarray(lie))
    post_obs = post
    hedge = cfg.acq_func == "gp_hedge"
    if use_fantasies and hedge:
        gains = _hedge_gains(state, post_obs)
    for x in X_pend:
        post = _condition(post, _put(static, x), lie_arr, static.sg)
    eps = _put(static, base_samples((key[0], 6, key[1]), N)) if use_fantasies and (q > 1 or len(X_pend)) else None

    order = np.argsort(z, kind="stable")[:N_TOP]
    top = X_obs[np.resize(order, N_TOP)]
    M0, n_local, _, _ = _acq_budget(cfg, N)
    # On a plateau (the last observations tie an earlier incumbent) back off from it: a larger
    # EI margin, or an LCB with a larger kappa (plateau.py). All traced inputs: no recompile.
    streak = tie_streak(y) if max(cfg.plateau_xi, cfg.plateau_margin, cfg.plateau_kappa) > 0 else 0
    kind = ACQ_KIND.get(cfg.acq_func, "ei")
    kappa = cfg.kappa
    if streak and cfg.plateau_kappa > 0 and cfg.acq_func != "gp_hedge":
        kind, kappa = "lcb", cfg.plateau_kappa
    inp = acq.AcqInputs(
        levels=static.levels,
        n_levels=static.n_levels,
        best=_put(static, np.asarray(np.min(z) - cfg.plateau_margin * streak)),
        xi=_put(static, np.asarray(cfg.xi + cfg.plateau_xi * streak)),
        kappa=_put(static, np.asarray(kappa)),
    )
    if not (use_fantasies and hedge):
        gains = _hedge_gains(state, post) if hedge else state.hedge_gains
    best = inp.best

    out = np.zeros((q, static.layout.n_features))
    nominees = []
    # The model keeps landing on the incumbent's plateau: the batch's first member explores.
    explore = on_plateau(y, cfg.plateau_explore)
    for j in range(q):
        if explore and j == 0:
            U = np.random.default_rng([key[0], 7, key[1]]).random((1, static.layout.n_features))
            out[j] = static.layout.snap(U)[0]
            if j < q - 1:
                post = _condition(post, _put(static, out[j]), lie_arr, static.sg)
            continue
        cand_rng = np.random.default_rng([key[0], 3, key[1], j])
        Xc = _put(static, static.sampler.sample(cand_rng, M0, n_local, top))
        if eps is not None and (j > 0 or len(X_pend)):
            inp = inp._replace(fantasies=fantasize(post_obs, post, best, eps, static.sg))
        if hedge:
            xs = [np.asarray(acq.propose(post, Xc, inp, _acq_config(static, k, N))[0]) for k in HEDGE_ARMS]
            nominees.append(np.stack(xs))
            p = np.exp(gains - np.max(gains))
            x = xs[int(rng.choice(len(xs), p=p / p.sum()))]
        else:
            x = np.asarray(acq.propose(post, Xc, inp, _acq_config(static, kind, N))[0])
        x = np.where(np.isfinite(x), x, 0.5)  # belt and braces: decoding must never see NaN
        out[j] = static.layout.snap(x[None, :])[0]
        if j < q - 1:  # the next member of the batch spreads away from this one
            post = _condition(post, _put(static, out[j]), lie_arr, static.sg)
    return out, state._replace(
        rng=rng,
        hedge_gains=gains,
        hedge_nominees=nominees[0] if nominees else state.hedge_nominees,
    )


# --- model fitting --------------------------------------------------------------------------------


def _fit(
    state: EngineState, rng: np.random.Generator, data: gp.Data, X_obs: np.ndarray, z: np.ndarray, key: Key,
    local: bool = False,
) -> tuple[gp.Posterior, EngineState]:
    """MAP hyperparameters as ``schedule.fit_kind`` says, then the posterior on all of ``data``.

    The fit sees at most ``max_fit_points`` observations, a seeded random subset of all of
    them (9 or so hyperparameters are well determined by 128 points). ``local``: ``data`` is
    a subset of the observations (``subset.py``), chosen afresh each call, so the last
    posterior is never extended (a short refinement runs instead) nor kept.
    ``rng`` is advanced (a copy).
    """
    static, cfg = state.static, state.static.config
    n_obs = len(z)
    N = int(data.X.shape[0])
    cfg_full = gp.make_fit_config(static.layout.n_features, static.sg, FULL_FIT_STEPS, cfg.noise_prior)
    default = gp.default_theta(cfg_full)
    kind = fit_kind(n_obs, N, state.theta is not None, state.full_fit_n, cfg.full_fit_below, cfg.refit_growth)
    if kind == "extend" and not local:
        post = _extend(state, X_obs, data.z, N)
        if post is not None:
            extended = {"theta": state.theta, "value": math.nan, "full": False, "kind": kind, "n": n_obs, "bucket": N}
            return post, state._replace(model=(post, X_obs.copy()), last_fit=extended)
        kind = "refine"
    full_fit_n = state.full_fit_n
    random = np.zeros((0, len(default)))
    if kind == "full":
        n_random = n_random_starts(state.theta, cfg.n_restarts)
        if n_random:
            random = np.asarray(gp.sample_prior_theta(rng, n_random, cfg_full))
        full_fit_n = n_obs
    theta0, maxiter = fit_starts(kind, state.theta, default, random, cfg.n_restarts, cfg_full.maxiter)
    if kind == "extend":
        kind = "refine"
    if n_obs <= cfg.max_fit_points and not local:
        fit_data = data
    else:
        pick = np.random.default_rng([key[0], 5, n_obs]).choice(n_obs, min(n_obs, cfg.max_fit_points), replace=False)
        idx = np.sort(pick)
        fit_data = pad(X_obs[idx], z[idx], bucket(len(idx)), lambda a: _put(static, a))
    post, theta, value = gp.fit(
        fit_data, data, _put(static, theta0), _put(static, default), cfg_full, np.asarray(maxiter, dtype=np.int32)
    )
    theta = np.asarray(theta, dtype=float)
    ok = bool(np.isfinite(np.asarray(value)))
    if not ok:
        warnings.warn(
            "jax GP engine: the hyperparameter fit gave non-finite values; using default hyperparameters",
            RuntimeWarning,
            stacklevel=5,
        )
    elif not bool(np.all(np.isfinite(np.asarray(post.alpha)))):
        warnings.warn(
            "jax GP engine: the fitted model is not finite; using default hyperparameters",
            RuntimeWarning,
            stacklevel=5,
        )
        ok, theta = False, default
        post = gp.posterior(data, _put(static, theta), cfg_full)
    last: dict[str, Any] = {"theta": theta, "value": float(np.asarray(value)), "full": kind == "full", "kind": kind,
                            "n": n_obs, "bucket": N, "posterior_points": int(np.asarray(data.mask).sum())}
    return post, state._replace(
        theta=theta if ok else state.theta,
        model=(post, X_obs.copy()) if ok and not local else None,
        full_fit_n=full_fit_n,
        last_fit=last,
    )


def _extend(state: EngineState, X_obs: np.ndarray, z: Any, N: int) -> gp.Posterior | None:
    """The last posterior plus the observations told since, same hyperparameters, or None
    when it cannot be reused (another bucket, or earlier observations changed)."""
    if state.model is None:
        return None
    static = state.static
    post, X_prev = state.model
    n_prev = len(X_prev)
    if int(post.X.shape[0]) != N or n_prev > len(X_obs) or not np.array_equal(X_prev, X_obs[:n_prev]):
        return None
    for x in X_obs[n_prev:]:
        post = _condition(post, _put(static, x), _put(static, 0.0), static.sg)  # targets set below
    return _refresh(post, z)


def _hedge_gains(state: EngineState, post: gp.Posterior) -> np.ndarray:
    """GP-Hedge: each arm gains minus the new model's mean at its last nominee."""
    if state.hedge_nominees is None:
        return state.hedge_gains
    static = state.static
    mu = np.asarray(_mean_at(post, _put(static, state.hedge_nominees), static.sg), dtype=float)
    gains = state.hedge_gains - mu
    return gains - np.max(gains)  # only differences matter; keep them bounded
