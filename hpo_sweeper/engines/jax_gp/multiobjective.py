"""Multi-objective, constrained proposals: one GP per output, log expected hypervolume improvement.

Notation: ``n`` observations, ``p`` pending points, ``q`` requested points, ``d`` features
in [0, 1]; ``m`` objectives (MINIMISED), ``k`` constraint values; ``O = m + k`` outputs,
each with its own GP. ``N = max(64, 2^ceil(log2(n + p + q)))`` the padded rows,
``B`` the padded number of boxes; ``X: (n, d)``, ``Y: (n, m)``, ``C: (n, k)`` with bounds
``(k, 2)`` = ``[lower, upper]`` (``-inf``/``inf`` for one-sided), ``Z: (n, m)`` standardised Y.

Acquisition (maximised), for a candidate ``x`` with independent posteriors
``y_j ~ N(mu_j, s_j^2)``:

* LogEHVI, exact: the region below the reference point that the front does not dominate is
  tiled by boxes ``[lo_b, hi_b]`` (``pareto.nondominated_boxes``); the improvement of ``y`` is
  ``sum_b prod_j (hi_bj - max(y_j, lo_bj))^+`` and, with ``(hi - max(y, lo))^+ =
  (hi - y)^+ - (lo - y)^+``, its expectation factorises per box and objective into
  ``s_j [h((hi_bj - mu_j)/s_j) - h((lo_bj - mu_j)/s_j)]``, ``h(u) = phi(u) + u Phi(u)``.
  Everything is summed in log space (``numerics.log_h``, a log-sum-exp over boxes), so
  the gradient stays informative where the improvement underflows (Ament et al. 2023).
* times the probability of feasibility ``prod_i P(lower_i <= c_i <= upper_i)`` (a sum of
  logs). With no feasible observation yet there is no front: the acquisition is the log
  probability of feasibility alone (find the feasible region first, as BoTorch and
  Optuna do).
* pending points and the later points of a batch enter as Kriging-believer fantasies:
  each output's GP is conditioned on its posterior mean there (O(N^2) per point,
  ``gp.condition``), and the fantasy joins the front when its predicted constraints hold.
  Near a pending point the variance then shrinks to the noise and its improvement to ~0,
  so the batch spreads out; no refit, no new compilation.

Objectives are standardised per column (affine, so the hypervolume is the raw one times
a constant and the maximiser is unchanged); the reference point is the caller's ``ref_point``
or else ``pareto.reference_point`` of the observed feasible values (``MOConfig.ref_rule``, by
default ``pareto.REF_RULE``: the worst feasible value plus 10 % of the range), fixed for the
whole call.

Compilation: arrays are padded (rows to ``N``, boxes to a power of two >= 64), so a sweep
compiles the fit once per row bucket and the proposal once per (row, box) bucket:
a 50-trial, 2-objective sweep runs one program of each (tests count the traces of ``_propose``,
``_believe`` and ``gp.fit`` with ``jax.monitoring``, as the single-objective engine's do).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, logsumexp

from hpo_sweeper import pareto
from hpo_sweeper.engines.jax_gp import gp
from hpo_sweeper.engines.jax_gp.numerics import Safeguards, log_h, safeguards_for
from hpo_sweeper.engines.jax_gp.optim import lbfgs
from hpo_sweeper.validation import check_int

__all__ = ["MOConfig", "MOState", "init_state", "log_acquisition", "parego_scalarize", "suggest_multiobjective"]

#: smallest row bucket (as the single-objective engine: one program serves sweeps up to ~60 trials)
MIN_BUCKET = 64
#: smallest box bucket: P + 1 boxes for m = 2, so fronts of up to 63 points share one program
MIN_BOX_BUCKET = 64
#: the boxes' open lower faces, in standardised units below the smallest value seen: any
#: sane posterior puts no mass 100 standard deviations below every observation
_LOWER_MARGIN = 100.0
#: MOConfig.objective_warping's choices (warping.WARPINGS, named here to keep warping.py's import lazy)
_OBJECTIVE_WARPINGS = ("standardize", "half_rank")
#: standardised constraint bounds are clamped here, so that +-inf never enters the program
_BOUND_CLAMP = 1e6
#: MOConfig.scalarization's choices
_SCALARIZATIONS = ("none", "parego")
#: ParEGO's augmentation weight rho (Knowles 2006): max_j w_j f_j + rho sum_j w_j f_j, so a point
#: that ties on the max but is worse elsewhere scores worse (weakly dominated points lose)
_PAREGO_RHO = 0.05


class MOConfig(NamedTuple):
    """Settings of ``suggest_multiobjective`` (hashable)."""

    #: quasi-random candidates scored per proposal, plus local ones around the front
    n_candidates: int = 1024
    n_local: int = 256
    #: the best candidates start L-BFGS ascents of this many evaluations
    n_starts: int = 8
    acq_steps: int = 60
    #: hyperparameter fit: restarts (previous optimum, default, prior draws), evaluations
    n_restarts: int = 4
    fit_maxiter: int = 100
    #: default reference point (no ref_point given): ``pareto.reference_point`` by this rule and scale
    ref_scale: float = pareto.REF_SCALE
    ref_rule: str = pareto.REF_RULE
    #: objective targets: "standardize" (affine: the acquisition is the raw hypervolume's) or
    #: "half_rank" (warping.py's monotone warp per objective: the front is unchanged, the
    #: hypervolume is the warped space's, so a diverged run's value stops flattening the model
    #: and stops pushing the default reference point out). Applied only without a given
    #: ref_point (a given reference is in the user's units, so those stay affine)
    objective_warping: str = "standardize"
    #: "none": LogEHVI over all objectives; "parego": with ``scalarization_min_objectives`` or more
    #: objectives, each proposed point gets its own random Chebyshev scalarisation of the
    #: objectives normalised to the observed [best, worst] (weights uniform on the simplex, as
    #: qParEGO's), modelled by one GP and proposed by LogEI (the 1-objective LogEHVI). Aim: with
    #: 3+ objectives the reference point of the EHVI (10 % beyond the worst point seen) lies far
    #: beyond the front and the EHVI chases degenerate corners; a scalarisation has no reference
    #: point. Fewer objectives keep LogEHVI (measured: benchmarks/notes/issue16_*.md)
    scalarization: str = "none"
    scalarization_min_objectives: int = 3
    dtype: str = "float64"


class MOState(NamedTuple):
    """Carried between calls: warm starts of each output's hyperparameters (host numpy)."""

    thetas: tuple[np.ndarray, ...] | None = None  # O arrays of shape (P,), or None before a fit
    calls: int = 0


def init_state() -> MOState:
    return MOState()


class _Static(NamedTuple):
    """Static configuration of the jitted proposal."""

    n_obj: int
    n_con: int
    sg: Safeguards
    n_starts: int
    n_steps: int


class _AcqData(NamedTuple):
    """Traced inputs of the acquisition (changing them never recompiles)."""

    lo: jax.Array  # (B, m) boxes' lower corners, standardised
    hi: jax.Array  # (B, m)
    box_ok: jax.Array  # (B,) 1 real box, 0 padding
    c_lo: jax.Array  # (k,) standardised constraint bounds
    c_hi: jax.Array  # (k,)
    use_hv: jax.Array  # () 1 when a feasible front exists


def _bucket(size: int, low: int) -> int:
    return max(low, 1 << max(0, math.ceil(math.log2(max(size, 1)))))


def _log1mexp(x: jax.Array) -> jax.Array:
    """log(1 - exp(x)) for x < 0 (Maechler's two branches); x is kept off 0."""
    x = jnp.minimum(x, -1e-15)
    return jnp.where(x > -math.log(2.0), jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x)))


def _predict_all(posts: gp.Posterior, X: jax.Array, sg: Safeguards) -> tuple[jax.Array, jax.Array]:
    """(M, d) -> mean, sd, each (O, M), from the stacked posteriors."""
    mu, var = jax.vmap(lambda p: gp.predict(p, X, sg))(posts)
    return mu, jnp.sqrt(var)


def log_acquisition(posts: gp.Posterior, X: jax.Array, a: _AcqData, cfg: _Static) -> jax.Array:
    """(M, d) -> (M,): log EHVI + log P(feasible) (see the module docstring)."""
    mu, sd = _predict_all(posts, X, cfg.sg)
    value = jnp.zeros(X.shape[0], dtype=X.dtype)
    if cfg.n_obj:
        mo, so = mu[: cfg.n_obj].T[:, None, :], sd[: cfg.n_obj].T[:, None, :]  # (M, 1, m)
        ok = a.box_ok > 0
        # Padded boxes get a benign unit box (finite logs, so no NaN in the unused gradient).
        lo = jnp.where(ok[:, None], a.lo, 0.0)[None]  # (1, B, m)
        hi = jnp.where(ok[:, None], a.hi, 1.0)[None]
        lha, lhb = log_h((hi - mo) / so), log_h((lo - mo) / so)  # (M, B, m)
        per_box = jnp.sum(jnp.log(so) + lha + _log1mexp(lhb - lha), axis=2)  # (M, B)
        per_box = jnp.where(ok[None, :], per_box, -jnp.inf)
        value = value + jnp.where(a.use_hv > 0, logsumexp(per_box, axis=1), 0.0)
    if cfg.n_con:
        mc, sc = mu[cfg.n_obj :].T, sd[cfg.n_obj :].T  # (M, k)
        lu = log_ndtr((a.c_hi - mc) / sc)
        ll = log_ndtr((a.c_lo - mc) / sc)
        value = value + jnp.sum(lu + _log1mexp(ll - lu), axis=1)
    return value


def _ascend(posts: gp.Posterior, X0: jax.Array, a: _AcqData, cfg: _Static) -> tuple[jax.Array, jax.Array]:
    """L-BFGS from each row of ``X0: (S, d)``; the box is removed by ``x = (1 - cos u) / 2``
    (smooth onto [0, 1]; a maximum on a face is a stationary point in u)."""

    def one(x0: jax.Array) -> tuple[jax.Array, jax.Array]:
        u0 = jnp.arccos(1.0 - 2.0 * jnp.clip(x0, 1e-4, 1.0 - 1e-4))  # off the faces, where du/dx is infinite
        res = lbfgs(
            lambda u: -log_acquisition(posts, (0.5 * (1.0 - jnp.cos(u)))[None, :], a, cfg)[0],
            u0,
            maxiter=cfg.n_steps,
            gtol=1e-7,
            ftol=1e-12,
        )
        return 0.5 * (1.0 - jnp.cos(res.theta)), -res.value

    return jax.vmap(one)(X0)


def _is_known(X: jax.Array, post: gp.Posterior) -> jax.Array:
    """(F, d) -> (F,): the row equals an observed or pending (filled) slot."""
    d2 = jnp.sum(X * X, 1)[:, None] + jnp.sum(post.X * post.X, 1)[None, :] - 2.0 * (X @ post.X.T)
    return jnp.any((d2 < 1e-12) & (post.mask[None, :] > 0), axis=1)


@partial(jax.jit, static_argnames=("cfg",))
def _propose(posts: gp.Posterior, Xc: jax.Array, a: _AcqData, cfg: _Static) -> tuple[jax.Array, jax.Array]:
    """The best new point among candidates ``Xc: (M, d)`` and their ascents: ``(x: (d,), value)``."""
    first = jax.tree.map(lambda t: t[0], posts)  # all outputs share X and the filled slots
    ac = log_acquisition(posts, Xc, a, cfg)
    ac = jnp.where(jnp.isfinite(ac) & ~_is_known(Xc, first), ac, -jnp.inf)
    a0, top = jax.lax.top_k(ac, cfg.n_starts)
    Xf, af = Xc[top], a0
    if cfg.n_steps > 0:
        Xo, ao = _ascend(posts, Xf, a, cfg)
        Xf, af = jnp.concatenate([Xf, Xo]), jnp.concatenate([af, ao])
    af = jnp.where(jnp.isfinite(af), af, -jnp.inf)
    score = jnp.where(_is_known(Xf, first), -jnp.inf, af)
    i = jnp.where(jnp.any(jnp.isfinite(score)), jnp.argmax(score), jnp.argmax(af))
    return Xf[i], af[i]


@partial(jax.jit, static_argnames=("cfg",))
def _finalists(posts: gp.Posterior, Xc: jax.Array, a: _AcqData, cfg: _Static) -> jax.Array:
    """The ``n_starts`` best candidates' L-BFGS ascents (unsnapped): ``(S, d)``."""
    first = jax.tree.map(lambda t: t[0], posts)
    ac = log_acquisition(posts, Xc, a, cfg)
    ac = jnp.where(jnp.isfinite(ac) & ~_is_known(Xc, first), ac, -jnp.inf)
    _, top = jax.lax.top_k(ac, cfg.n_starts)
    return _ascend(posts, Xc[top], a, cfg)[0] if cfg.n_steps > 0 else Xc[top]


@partial(jax.jit, static_argnames=("cfg",))
def _score(posts: gp.Posterior, Xs: jax.Array, a: _AcqData, cfg: _Static) -> jax.Array:
    """(M, d) -> (M,): the acquisition, -inf at observed or pending points and where not finite."""
    first = jax.tree.map(lambda t: t[0], posts)
    ac = log_acquisition(posts, Xs, a, cfg)
    return jnp.where(jnp.isfinite(ac) & ~_is_known(Xs, first), ac, -jnp.inf)


def _propose_snapped(
    posts: gp.Posterior, Xc: np.ndarray, a: _AcqData, cfg: _Static, snap: Callable[[np.ndarray], np.ndarray], put: Any
) -> np.ndarray:
    """``_propose`` on the grid: candidates snapped before scoring, the ascents (over the relaxed
    cube) snapped after; the best snapped point that is neither observed nor pending wins, so a
    proposal never rounds onto a configuration that already ran (all known: the best anyway)."""
    Xs = np.clip(snap(np.clip(Xc, 0.0, 1.0)), 0.0, 1.0)
    Xo = np.asarray(_finalists(posts, put(Xs), a, cfg), dtype=float)
    Xo = np.clip(snap(np.clip(np.where(np.isfinite(Xo), Xo, 0.5), 0.0, 1.0)), 0.0, 1.0)
    X_all = np.concatenate([Xs, Xo])
    sc = np.asarray(_score(posts, put(X_all), a, cfg), dtype=float)
    if not np.any(np.isfinite(sc)):  # every candidate known (a tiny grid): the model's best guess
        return X_all[len(Xs)]
    return X_all[int(np.argmax(sc))]


@partial(jax.jit, static_argnames=("sg",))
def _believe(posts: gp.Posterior, x: jax.Array, sg: Safeguards) -> tuple[gp.Posterior, jax.Array]:
    """Kriging believer: condition every output on its own posterior mean at ``x: (d,)``."""
    mu, _ = _predict_all(posts, x[None, :], sg)  # (O, 1)
    return jax.vmap(lambda p, y: gp.condition(p, x, y, sg))(posts, mu[:, 0]), mu[:, 0]


def _host_rng(key: Any, call: int) -> np.random.Generator:
    """Host randomness from a jax PRNG key (typed or raw uint32) or an int seed."""
    if isinstance(key, (int, np.integer)):
        words = [int(key) % (2**63)]
    else:
        arr = jnp.asarray(key)
        if jnp.issubdtype(arr.dtype, jax.dtypes.prng_key):
            arr = jax.random.key_data(arr)
        words = [int(w) for w in np.asarray(arr).ravel()]
    return np.random.default_rng([*words, call])


def _standardize(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = A.mean(axis=0)
    std = A.std(axis=0)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)  # a constant column stays 0
    return (A - mean) / std, mean, std


def _check_inputs(
    X: np.ndarray, Y: np.ndarray, C: np.ndarray | None, bounds: np.ndarray | None, X_pending: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X must be (n, d) and Y (n, m) with the same n, got {X.shape} and {Y.shape}")
    if Y.shape[1] < 1:
        raise ValueError("Y needs at least one objective column")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise ValueError("X and Y must be finite; leave crashed trials out")
    if np.any(X < 0) or np.any(X > 1):
        raise ValueError("X must lie in the unit cube")
    d = X.shape[1]
    if C is None:
        C = np.zeros((len(X), 0))
        bounds = np.zeros((0, 2))
    else:
        C = np.asarray(C, dtype=float).reshape(len(X), -1)
        if bounds is None:
            raise ValueError("constraint values C need constraint_bounds, a (k, 2) array of [lower, upper]")
        bounds = np.asarray(bounds, dtype=float).reshape(-1, 2)
        if len(bounds) != C.shape[1]:
            raise ValueError(f"{C.shape[1]} constraint columns but {len(bounds)} bounds")
        if np.any(np.isnan(bounds)) or np.any(bounds[:, 0] >= bounds[:, 1]):
            raise ValueError("constraint_bounds must be [lower, upper] with lower < upper (+-inf for one side)")
        if not np.all(np.isfinite(C)):
            raise ValueError("constraint values C must be finite")
    P = np.zeros((0, d)) if X_pending is None else np.asarray(X_pending, dtype=float).reshape(-1, d)
    return X, Y, C, bounds, P


def suggest_multiobjective(
    X: np.ndarray,
    Y: np.ndarray,
    key: Any,
    *,
    q: int = 1,
    X_pending: np.ndarray | None = None,
    C: np.ndarray | None = None,
    constraint_bounds: np.ndarray | None = None,
    ref_point: np.ndarray | None = None,
    state: MOState | None = None,
    config: MOConfig = MOConfig(),  # noqa: B008 (immutable NamedTuple)
    snap: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, MOState]:
    """``q`` new points in the unit cube that maximise LogEHVI x P(feasible).

    Args:
        X: (n, d) observed points in [0, 1]^d.
        Y: (n, m) their objective values, all minimised (negate maximised ones first).
        key: a jax PRNG key or an int seed; the same key, data and state give the same points.
        q: points to propose (a batch, spread by Kriging-believer fantasies).
        X_pending: (p, d) points under evaluation; proposals avoid them.
        C: (n, k) constraint values, with ``constraint_bounds`` (k, 2) ``[lower, upper]``.
        ref_point: (m,) in Y's units; default ``pareto.reference_point`` of the feasible values.
        state: from the previous call (warm starts); ``init_state()`` or None at first.
        snap: (M, d) -> (M, d), the points the rows decode to (integers, levels, one-hot
            groups: the sweeper's ``FeatureLayout.snap``). Given, the acquisition is scored
            at snapped points only (candidates before scoring, ascents after), and a point
            that snaps onto an observed or pending one is passed over for the best new one;
            the proposals are returned snapped.

    Returns ``(X_new: (q, d), state)``. With no observation, a scrambled Sobol sample.
    """
    check_int("q", q, low=0)
    if config.objective_warping not in _OBJECTIVE_WARPINGS:
        raise ValueError(f"objective_warping must be one of {_OBJECTIVE_WARPINGS}, got {config.objective_warping!r}")
    if config.scalarization not in _SCALARIZATIONS:
        raise ValueError(f"scalarization must be one of {_SCALARIZATIONS}, got {config.scalarization!r}")
    check_int("scalarization_min_objectives", config.scalarization_min_objectives, low=1)
    X, Y, C, bounds, P = _check_inputs(X, Y, C, constraint_bounds, X_pending)
    state = state or init_state()
    rng = _host_rng(key, state.calls)
    d = X.shape[1]
    if q < 1:
        return np.zeros((0, d)), state
    if len(X) == 0:
        from scipy.stats import qmc

        U = qmc.Sobol(d, scramble=True, seed=rng).random(q)
        return (U if snap is None else snap(U)), state._replace(calls=state.calls + 1)
    dtype = np.dtype(config.dtype)
    with jax.enable_x64(dtype == np.float64):
        if config.scalarization == "parego" and Y.shape[1] >= config.scalarization_min_objectives:
            return _suggest_parego(X, Y, C, bounds, P, q, rng, state, config, dtype, snap)
        return _suggest(X, Y, C, bounds, P, q, rng, ref_point, state, config, dtype, snap)


def parego_scalarize(Y: np.ndarray, weights: np.ndarray, feasible: np.ndarray | None = None) -> np.ndarray:
    """(n, m), (m,) -> (n,): the augmented Chebyshev scalarisation of Y normalised to the feasible
    rows' [min, max] per objective (all rows' when none is feasible); a constant column is 0."""
    Y = np.asarray(Y, dtype=float)
    ref_rows = Y if feasible is None or not np.any(feasible) else Y[np.asarray(feasible, dtype=bool)]
    lo, hi = ref_rows.min(axis=0), ref_rows.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    W = np.asarray(weights, dtype=float) * ((Y - lo) / span)
    return np.max(W, axis=1) + _PAREGO_RHO * np.sum(W, axis=1)


def _suggest_parego(
    X: np.ndarray,
    Y: np.ndarray,
    C: np.ndarray,
    bounds: np.ndarray,
    P: np.ndarray,
    q: int,
    rng: np.random.Generator,
    state: MOState,
    config: MOConfig,
    dtype: np.dtype,
    snap: Callable[[np.ndarray], np.ndarray] | None,
) -> tuple[np.ndarray, MOState]:
    """One random scalarisation per point (qParEGO): the batch's later points see the earlier
    ones as pending (Kriging believer on their own scalarisation), so a batch spreads over
    several trade-offs instead of one."""
    k = C.shape[1]
    feasible = np.all((C >= bounds[:, 0]) & (C <= bounds[:, 1]), axis=1) if k else np.ones(len(X), dtype=bool)
    out: list[np.ndarray] = []
    thetas = state.thetas if state.thetas is not None and len(state.thetas) == 1 + k else None
    for _ in range(q):
        w = rng.dirichlet(np.ones(Y.shape[1]))
        s = parego_scalarize(Y, w, feasible)[:, None]
        pend = np.concatenate([P, np.asarray(out).reshape(-1, X.shape[1])])
        x, st = _suggest(X, s, C, bounds, pend, 1, rng, None, MOState(thetas, state.calls), config, dtype, snap)
        thetas = st.thetas
        out.append(x[0])
    return np.stack(out), MOState(thetas=thetas, calls=state.calls + 1)


def _suggest(
    X: np.ndarray,
    Y: np.ndarray,
    C: np.ndarray,
    bounds: np.ndarray,
    P: np.ndarray,
    q: int,
    rng: np.random.Generator,
    ref_point: np.ndarray | None,
    state: MOState,
    config: MOConfig,
    dtype: np.dtype,
    snap: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, MOState]:
    n, d = X.shape
    m, k = Y.shape[1], C.shape[1]
    sg = safeguards_for(dtype)
    feasible = np.all((C >= bounds[:, 0]) & (C <= bounds[:, 1]), axis=1) if k else np.ones(n, dtype=bool)

    # Standardised targets; the constraint bounds move with their columns.
    Z, y_mean, y_std = _standardize(Y)
    warped = config.objective_warping != "standardize" and ref_point is None
    if warped:  # the model, the front and the default reference all live in the warped space
        from hpo_sweeper.engines.jax_gp.warping import warp

        Z = np.stack([warp(Y[:, j], config.objective_warping) for j in range(m)], axis=1)
    Cz, c_mean, c_std = _standardize(C) if k else (C, np.zeros(0), np.ones(0))
    c_lo = np.clip((bounds[:, 0] - c_mean) / c_std, -_BOUND_CLAMP, _BOUND_CLAMP)
    c_hi = np.clip((bounds[:, 1] - c_mean) / c_std, -_BOUND_CLAMP, _BOUND_CLAMP)
    T = np.concatenate([Z, Cz], axis=1)  # (n, O)

    N = _bucket(n + len(P) + q, MIN_BUCKET)
    Xp = np.zeros((N, d))
    Xp[:n] = X
    mask = np.zeros(N)
    mask[:n] = 1.0
    posts, thetas = _fit_all(Xp, T, mask, n, rng, state, config, sg, dtype)

    use_hv = bool(np.any(feasible))
    if use_hv:
        if warped:
            ref_z = pareto.reference_point(Z, feasible, config.ref_scale, config.ref_rule)
        else:
            ref = (pareto.reference_point(Y, feasible, config.ref_scale, config.ref_rule) if ref_point is None
                   else np.asarray(ref_point, dtype=float))
            ref_z = (ref - y_mean) / y_std
    else:
        ref_z = np.zeros(m)
    lower = float(np.min(Z)) - _LOWER_MARGIN if n else -_LOWER_MARGIN
    front_Z = list(Z[feasible])
    cfg = _Static(n_obj=m, n_con=k, sg=sg, n_starts=min(config.n_starts, config.n_candidates), n_steps=config.acq_steps)
    put = partial(np.asarray, dtype=dtype)

    def believe(posts: gp.Posterior, x: np.ndarray) -> gp.Posterior:
        posts, mu = _believe(posts, put(x), sg)
        mu = np.asarray(mu, dtype=float)
        if np.all((mu[m:] >= c_lo) & (mu[m:] <= c_hi)):
            front_Z.append(mu[:m])
        return posts

    for x in P:
        posts = believe(posts, x)

    # Local candidates start from the front (or, before a feasible point, the least violating ones).
    if use_hv:
        seeds = X[pareto.pareto_mask(Y, feasible)]
    else:
        viol = np.sum(np.maximum(bounds[:, 0] - C, 0) / c_std + np.maximum(C - bounds[:, 1], 0) / c_std, axis=1)
        seeds = X[np.argsort(viol)[:5]]

    from scipy.stats import qmc

    sobol = qmc.Sobol(d, scramble=True, seed=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n_candidates need not be a power of two
        U = sobol.random(config.n_candidates)
    out = []
    for j in range(q):
        a = _acq_data(front_Z, ref_z, lower, use_hv, c_lo, c_hi, m, put)
        Ug = np.mod(U + rng.random(d), 1.0)  # a fresh rotation of the same block per point
        Xl = seeds[rng.integers(0, len(seeds), config.n_local)]
        scale = np.exp(rng.uniform(np.log(1e-3), np.log(0.2), (config.n_local, 1)))
        Xl = np.clip(Xl + scale * rng.standard_normal(Xl.shape), 0.0, 1.0)
        Xc = np.concatenate([Ug, Xl])
        if snap is None:
            x, _ = _propose(posts, put(Xc), a, cfg)
            x = np.clip(np.where(np.isfinite(np.asarray(x)), np.asarray(x, dtype=float), 0.5), 0.0, 1.0)
        else:
            x = _propose_snapped(posts, Xc, a, cfg, snap, put)
        out.append(x)
        if j < q - 1:
            posts = believe(posts, x)
    return np.stack(out), MOState(thetas=thetas, calls=state.calls + 1)


def _acq_data(
    front_Z: list[np.ndarray],
    ref_z: np.ndarray,
    lower: float,
    use_hv: bool,
    c_lo: np.ndarray,
    c_hi: np.ndarray,
    m: int,
    put: Any,
) -> _AcqData:
    if use_hv:
        F = np.asarray(front_Z).reshape(-1, m)
        F = F[pareto.pareto_mask(F)]
        lo, hi = pareto.nondominated_boxes(F, ref_z, lower=lower)
    else:  # no front yet: the box is a placeholder, switched off by use_hv
        lo, hi = np.full((1, m), -1.0), np.zeros((1, m))
    B = _bucket(len(lo), MIN_BOX_BUCKET)
    lo_p, hi_p, ok = np.zeros((B, m)), np.ones((B, m)), np.zeros(B)
    lo_p[: len(lo)], hi_p[: len(lo)], ok[: len(lo)] = lo, hi, 1.0
    return _AcqData(put(lo_p), put(hi_p), put(ok), put(c_lo), put(c_hi), put(1.0 if use_hv else 0.0))


def _fit_all(
    Xp: np.ndarray,
    T: np.ndarray,
    mask: np.ndarray,
    n: int,
    rng: np.random.Generator,
    state: MOState,
    config: MOConfig,
    sg: Safeguards,
    dtype: np.dtype,
) -> tuple[gp.Posterior, tuple[np.ndarray, ...]]:
    """MAP fit of one GP per output column of ``T: (n, O)``; their posteriors stacked on axis 0."""
    N, d = Xp.shape
    cfg = gp.make_fit_config(d, sg, config.fit_maxiter)
    default = gp.default_theta(cfg)
    posts, thetas = [], []
    for o in range(T.shape[1]):
        z = np.zeros(N)
        z[:n] = T[:, o]
        data = gp.Data(jnp.asarray(Xp, dtype), jnp.asarray(z, dtype), jnp.asarray(mask, dtype))
        starts = [default] if state.thetas is None else [state.thetas[o], default]
        n_random = max(0, config.n_restarts - len(starts))
        if n_random:
            starts += list(gp.sample_prior_theta(rng, n_random, cfg))
        theta0 = np.stack(starts[: config.n_restarts])
        maxiter = np.full(len(theta0), cfg.maxiter, dtype=np.int32)
        post, theta, value = gp.fit(data, data, np.asarray(theta0, dtype), np.asarray(default, dtype), cfg, maxiter)
        theta = np.asarray(theta, dtype=float)
        if not np.isfinite(float(np.asarray(value))) or not bool(np.all(np.isfinite(np.asarray(post.alpha)))):
            warnings.warn(
                f"multi-objective GP: the fit of output {o} is not finite; using default hyperparameters",
                RuntimeWarning,
                stacklevel=4,
            )
            theta = default
            post = gp.posterior(data, np.asarray(theta, dtype), cfg)
        posts.append(post)
        thetas.append(theta)
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *posts)
    return stacked, tuple(thetas)
