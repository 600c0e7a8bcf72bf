"""``JaxEngine``: the ``backend="jax"`` engine of ``BayesOptimizer``.

Host-side glue around the pure, jitted pieces (``gp.fit``, ``gp.posterior``,
``gp.condition``, ``acquisition.propose``): encode configurations as features, warp
the targets, pad to a power-of-two bucket, choose hyperparameter restarts, decode.

Notation: ``n`` observations, ``p`` pending points, ``q`` requested points, ``D``
features, ``N = max(64, 2^ceil(log2(n + p + q)))`` the padded size; ``X: (N, D)``.

Compilation: every jitted function sees only bucket-shaped arrays and hashable static
configs, so a sweep compiles each function once per bucket: O(log n) compilations.
No jax operation runs eagerly on data-dependent shapes (each would compile anew).
A bucket's first call compiles for a few seconds; JAX's persistent cache
(``JAX_COMPILATION_CACHE_DIR=...`` in the environment) keeps the programs across
processes (measured: first GP call of a fresh process 7.5 s -> 1.7 s).

Precision: float64 on CPU (the default there), float32 on accelerators (their default;
jitter and noise floor grow, see ``numerics.safeguards_for``). float64 is enabled with
the ``jax.enable_x64`` context manager around this engine's own calls only, so other
JAX users in the process keep their setting.
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from functools import partial
from typing import Any

import jax
import numpy as np
from jax.scipy.linalg import cho_solve

from hpo_sweeper.engines.base import observed_values
from hpo_sweeper.engines.jax_gp import acquisition as acq
from hpo_sweeper.engines.jax_gp import blas_threads, gp
from hpo_sweeper.engines.jax_gp.numerics import Safeguards, safeguards_for
from hpo_sweeper.engines.jax_gp.warping import WARPINGS, warp
from hpo_sweeper.optimizers.base import OptimizerError
from hpo_sweeper.space import SearchSpace

# Hydra logs at INFO, so every sweep would show JAX's "Unable to initialize backend 'tpu'" from
# probing platforms this machine lacks. Set before any backend starts; a level the user set is kept.
_XLA_BRIDGE_LOG = logging.getLogger("jax._src.xla_bridge")
if _XLA_BRIDGE_LOG.level == logging.NOTSET:
    _XLA_BRIDGE_LOG.setLevel(logging.WARNING)

__all__ = ["JaxEngine"]

#: categorical combinations enumerated exhaustively up to this many
MAX_ENUMERATED_COMBOS = 64
#: smallest padded size: one compilation serves every sweep of up to ~60 trials (most of
#: them), and at this size the padded algebra still costs only milliseconds
MIN_BUCKET = 64
#: best observed points whose perturbations seed the acquisition search
N_TOP = 5
#: from this bucket on, calls between full refits keep the hyperparameters and extend the
#: previous Cholesky factor by the new observations (O(N^2)) instead of a 10-step
#: refinement of the hyperparameters and a refactorisation (O(N^3): ~50 ms at N = 1024 on
#: one core). Measured at n = 200, d = 6 on one core: 19 ms -> 10 ms per suggestion, half
#: of it the refinement. Below it (sweeps of up to 128 trials) every call still refines.
INCREMENTAL_BUCKET = 256
#: L-BFGS evaluations of the warm-started refinement between full fits
REFINE_STEPS = 10
_ACQ_KIND = {"EI": "ei", "PI": "pi", "LCB": "lcb", "UCB": "lcb"}
_HEDGE_ARMS = ("ei", "pi", "lcb")


@partial(jax.jit, static_argnames=("sg",))
def _condition(post: gp.Posterior, x: jax.Array, y: jax.Array, sg: Safeguards) -> gp.Posterior:
    _trace_counter["condition"] += 1
    return gp.condition(post, x, y, sg)


@partial(jax.jit, static_argnames=("sg",))
def _mean_at(post: gp.Posterior, X: jax.Array, sg: Safeguards) -> jax.Array:
    _trace_counter["mean_at"] += 1
    return gp.predict(post, X, sg)[0]


@jax.jit
def _refresh(post: gp.Posterior, z: jax.Array) -> gp.Posterior:
    """New targets ``z: (N,)`` for the same inputs and hyperparameters: O(N^2), L is kept."""
    _trace_counter["refresh"] += 1
    resid = (z - post.hypers.mean) * post.mask
    return post._replace(resid=resid, alpha=cho_solve((post.L, True), resid))


_trace_counter: dict[str, int] = {"condition": 0, "mean_at": 0, "refresh": 0}


def trace_counts() -> dict[str, int]:
    """Times each jitted function of this package was traced (== compiled)."""
    return {**gp._trace_counter, **acq._trace_counter, **_trace_counter}


def bucket(size: int) -> int:
    return max(MIN_BUCKET, 1 << max(0, math.ceil(math.log2(max(size, 1)))))


class JaxEngine:
    """GP engine in JAX: Matern-5/2 ARD, MAP hyperparameters, log-EI, batches by fantasies.

    engine_options:
        device: None (JAX's default device), "cpu", "gpu", "tpu" or any platform name.
        dtype: "float64" (default on CPU) or "float32" (default on accelerators).
        n_restarts: hyperparameter-fit starts (previous fit, default, random) (default 4).
        n_candidates: quasi-random candidates scored per proposal (default 1024).
        n_starts: candidates refined by gradient ascent (default 16).
        acq_steps: L-BFGS evaluations per start when maximising the acquisition (default 100).
        refit_growth: between full multi-start fits at more than ``full_fit_below``
            observations, the data must grow by this factor; in between only a short
            warm-started refinement runs (default 1.1).
        full_fit_below: up to this many observations every call refits from all
            restarts (default 16). Above it, a call between full fits refines the last
            optimum: measured on 4 test functions, 10 seeds, 50 trials, this halves the
            engine's time (fits at n < 64 ran to 100 L-BFGS steps from every restart) at
            unchanged median regret (within seed noise; ``benchmarks/``).
        max_fit_points: the hyperparameter fit uses at most this many observations, a
            random subset (default 128); the posterior always uses all of them.
        blas_threads: OpenBLAS threads while the engine runs on CPU (default 1: the
            matrices are small, and extra threads are very slow on a busy machine; see
            ``blas_threads.py``); None leaves OpenBLAS alone.
        output_warping: "half_rank" (default; robust to outliers, see ``warping.py``) or
            "standardize" (plain mean/std scaling).
        noise_prior: "lognormal" (default, LogNormal(-6, 1) on the noise variance of the
            standardised targets) or "gamma" (Gamma(1.1, 30) as Optuna: nearly flat, so a
            deterministic objective can reach the noise floor). See ``gp.FitConfig``.

    ``acq_func="gp_hedge"``: GP-Hedge (Hoffman et al. 2011), a softmax portfolio over
    log-EI, log-PI and LCB; each arm nominates a point, one is picked with probabilities
    ``softmax(gains)``, and each arm's gain grows by minus the next model's mean at its
    nominee. It costs three acquisition searches per proposal.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int | None,
        acq_func: str = "EI",
        xi: float = 0.01,
        kappa: float = 1.96,
        batch_strategy: str = "cl_min",
        device: str | None = None,
        dtype: str | None = None,
        n_restarts: int = 4,
        n_candidates: int = 1024,
        n_starts: int = 16,
        acq_steps: int = 100,
        refit_growth: float = 1.1,
        full_fit_below: int = 16,
        max_fit_points: int = 128,
        blas_threads: int | None = 1,
        output_warping: str = "half_rank",
        noise_prior: str = "lognormal",
    ) -> None:
        if acq_func not in (*_ACQ_KIND, "gp_hedge"):
            raise OptimizerError(f"the jax engine has no acquisition function {acq_func!r}")
        if batch_strategy not in ("cl_min", "cl_mean", "cl_max"):
            raise OptimizerError(f"the jax engine has no batch strategy {batch_strategy!r}")
        for name, value, low in (
            ("n_restarts", n_restarts, 1),
            ("n_candidates", n_candidates, 1),
            ("n_starts", n_starts, 1),
            ("acq_steps", acq_steps, 0),
            ("full_fit_below", full_fit_below, 0),
            ("max_fit_points", max_fit_points, 2),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise OptimizerError(f"engine option {name} must be an integer >= {low}, got {value!r}")
        if output_warping not in WARPINGS:
            raise OptimizerError(
                f"engine option output_warping must be one of {list(WARPINGS)}, got {output_warping!r}"
            )
        if noise_prior not in ("gamma", "lognormal"):
            raise OptimizerError(f"engine option noise_prior must be 'gamma' or 'lognormal', got {noise_prior!r}")
        if blas_threads is not None and (not isinstance(blas_threads, int) or blas_threads < 1):
            raise OptimizerError(f"engine option blas_threads must be None or an integer >= 1, got {blas_threads!r}")
        if isinstance(refit_growth, bool) or not isinstance(refit_growth, (int, float)) or not refit_growth >= 1.0:
            raise OptimizerError(f"engine option refit_growth must be a number >= 1, got {refit_growth!r}")
        if device is not None and not isinstance(device, str):
            raise OptimizerError(f"engine option device must be null or a platform name such as 'cpu' or 'gpu', "
                                 f"got {device!r}")
        try:
            self.device = jax.devices(device)[0] if device else jax.devices()[0]
        except RuntimeError as e:
            raise OptimizerError(f"engine option device={device!r}: JAX has no such device ({e})") from None
        if dtype is None:
            dtype = "float64" if self.device.platform == "cpu" else "float32"
        if dtype not in ("float64", "float32"):
            raise OptimizerError(f"engine option dtype must be 'float64' or 'float32', got {dtype!r}")
        self.space = space
        self.seed = seed
        self.acq_func, self.xi, self.kappa, self.batch_strategy = acq_func, float(xi), float(kappa), batch_strategy
        self.dtype = np.dtype(dtype)
        self._default_device = self.device == jax.devices()[0]
        self._x64 = self.dtype == np.float64
        self.sg = safeguards_for(self.dtype)
        self.n_restarts, self.refit_growth, self.full_fit_below = n_restarts, float(refit_growth), full_fit_below
        self.max_fit_points = max_fit_points
        self.n_candidates, self.n_starts, self.acq_steps = n_candidates, n_starts, acq_steps
        self.output_warping = output_warping
        self.noise_prior = noise_prior
        self.blas_threads = blas_threads if self.device.platform == "cpu" else None

        layout = space.layout
        self.D = layout.n_features
        self._numeric = tuple(layout.numeric)
        self._groups = tuple(tuple(g) for g in layout.categorical)
        n_combos = math.prod(len(g) for g in self._groups)
        self._enumerate = bool(self._groups) and n_combos <= MAX_ENUMERATED_COMBOS
        self._fit_cfg: dict[int, gp.FitConfig] = {}  # full-fit maxiter -> FitConfig
        self._acq_cfg: dict[tuple[str, int], acq.AcqConfig] = {}  # (kind, bucket) -> AcqConfig
        # Host-side randomness only: a jax.random call outside jit would compile per shape.
        entropy = seed if seed is not None else np.random.SeedSequence().entropy
        self._entropy = int(entropy) % (2**63)
        self._rng = np.random.default_rng([self._entropy, 1])
        self._calls = 0

        from scipy.stats import qmc

        n_dims_u = len(self._numeric) + (1 if self._enumerate else len(self._groups))
        sobol = qmc.Sobol(d=max(n_dims_u, 1), scramble=True, seed=np.random.default_rng([self._entropy, 2]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n_candidates need not be a power of two
            U = sobol.random(n_candidates)
        combos = np.zeros((1, self.D))
        if self._enumerate:  # every combination of the categoricals, as one-hot rows
            rows = []
            for choice in itertools.product(*[range(len(g)) for g in self._groups]):
                row = np.zeros(self.D)
                for g, j in zip(self._groups, choice):
                    row[g[j]] = 1.0
                rows.append(row)
            combos = np.array(rows)
        levels = [layout.numeric_levels[i] for i in range(len(self._numeric))]
        lmax = max([1] + [len(lv) for lv in levels if lv is not None])
        lv_arr = np.full((len(self._numeric), lmax), np.inf)
        n_lv = np.zeros(len(self._numeric), dtype=np.int32)
        for i, lv in enumerate(levels):
            if lv is not None:
                lv_arr[i, : len(lv)] = np.sort(lv)
                n_lv[i] = len(lv)
        self._has_levels = bool(np.any(n_lv > 0))
        self._sampler = acq.CandidateSampler(
            U,
            self._numeric,
            self._groups,
            combos if self._enumerate else None,
            [None if lv is None else np.sort(lv) for lv in levels],
            self.D,
        )
        self._const = {
            "levels": self._put(lv_arr),
            "n_levels": n_lv if self._default_device else jax.device_put(n_lv, self.device),
        }

        # State carried between calls (host numpy, tiny).
        self._theta: np.ndarray | None = None  # warm start
        self._model: tuple[gp.Posterior, np.ndarray] | None = None  # last posterior, its X
        self._full_fit_n = 0
        self._hedge_gains = np.zeros(len(_HEDGE_ARMS))
        self._hedge_nominees: np.ndarray | None = None
        self.last_fit: dict[str, Any] = {}
        self._feat_cache: tuple[list[dict[str, Any]], np.ndarray] = ([], np.zeros((0, self.D)))

    # --- helpers --------------------------------------------------------------------------------

    def _put(self, a: np.ndarray | float) -> np.ndarray | jax.Array:
        """Host array in the engine's dtype; placed on ``device`` unless that is JAX's
        default, where handing numpy to the jitted call is cheaper than a device_put."""
        a = np.asarray(a, dtype=self.dtype)
        if self._default_device:
            return a
        with jax.enable_x64(self._x64):
            return jax.device_put(a, self.device)

    def _fit_config(self, maxiter: int) -> gp.FitConfig:
        if maxiter not in self._fit_cfg:
            self._fit_cfg[maxiter] = gp.make_fit_config(self.D, self.sg, maxiter, self.noise_prior)
        return self._fit_cfg[maxiter]

    def _acq_budget(self, N: int) -> tuple[int, int, int, int]:
        """(global candidates, local candidates, starts, L-BFGS evaluations) for bucket N.

        The acquisition search costs ~ (candidates + starts x evaluations) x N^2; up to
        N = 128 it runs in full, beyond it shrinks ~1/N (with floors) so that a suggestion
        stays well under 0.05 s at n = 200 and 0.25 s at n = 1000 on two CPU cores.
        """
        f = min(1.0, 128.0 / N)
        m0 = max(min(256, self.n_candidates), int(self.n_candidates * f))
        starts = max(min(4, self.n_starts), round(self.n_starts * f))
        steps = max(min(20, self.acq_steps), int(self.acq_steps * f))
        return m0, max(64, m0 // 4), starts, steps

    def _acq_config(self, kind: str, N: int) -> acq.AcqConfig:
        if (kind, N) not in self._acq_cfg:
            _, _, starts, steps = self._acq_budget(N)
            self._acq_cfg[kind, N] = acq.AcqConfig(
                kind=kind,
                safeguards=self.sg,
                n_features=self.D,
                numeric_cols=self._numeric,
                cat_groups=self._groups,
                enumerate_cats=self._enumerate,
                has_levels=self._has_levels,
                n_starts=starts,
                n_steps=steps if self._numeric else 0,
            )
        return self._acq_cfg[kind, N]

    def _features(self, points: list[dict[str, Any]]) -> np.ndarray:
        """space.to_features with a cache: the front passes the same dicts again and again
        (its history), and encoding 1000 points in Python costs more than the GP algebra."""
        cached, X = self._feat_cache
        k = 0
        for a, b in zip(cached, points):
            if a is not b:
                break
            k += 1
        if k < len(points):
            X = np.concatenate([X[:k], self.space.to_features(points[k:])], axis=0)
        else:
            X = X[:k]
        self._feat_cache = (list(points), X)
        return X

    # --- the Engine protocol ------------------------------------------------------------------------

    def suggest(
        self, points: list[dict[str, Any]], y: np.ndarray, n: int, pending: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        if n <= 0:
            return []
        y = observed_values(points, y)
        call = self._calls
        self._calls += 1
        with jax.enable_x64(self._x64), blas_threads.limit(self.blas_threads):
            if len(points) == 0:  # nothing to model: quasi-random points
                U = np.random.default_rng([self._entropy, 4, call]).random((n, len(self.space)))
                return self.space.from_unit(U)
            return self._suggest(points, y, n, pending, call)

    def _suggest(
        self, points: list[dict[str, Any]], y: np.ndarray, n: int, pending: list[dict[str, Any]], call: int
    ) -> list[dict[str, Any]]:
        n_obs = len(points)
        X_obs = self._features(points)
        X_pend = self.space.to_features(pending) if pending else np.zeros((0, self.D))
        z = warp(y, self.output_warping)
        N = bucket(n_obs + len(pending) + n)
        X = np.zeros((N, self.D))
        X[:n_obs] = X_obs
        zp = np.zeros(N)
        zp[:n_obs] = z
        mask = np.zeros(N)
        mask[:n_obs] = 1.0
        data = gp.Data(self._put(X), self._put(zp), self._put(mask))

        post = self._fit(data, X_obs, z)

        lie = {"cl_min": np.min(z), "cl_mean": np.mean(z), "cl_max": np.max(z)}[self.batch_strategy]
        lie_arr = self._put(np.asarray(lie))
        for x in X_pend:
            post = _condition(post, self._put(x), lie_arr, self.sg)

        order = np.argsort(z, kind="stable")[:N_TOP]
        top = X_obs[np.resize(order, N_TOP)]
        M0, n_local, _, _ = self._acq_budget(N)
        inp = acq.AcqInputs(
            levels=self._const["levels"],
            n_levels=self._const["n_levels"],
            best=self._put(np.asarray(np.min(z))),
            xi=self._put(np.asarray(self.xi)),
            kappa=self._put(np.asarray(self.kappa)),
        )
        if self.acq_func == "gp_hedge":
            self._hedge_update(post)

        out: list[dict[str, Any]] = []
        nominees = []
        for j in range(n):
            rng = np.random.default_rng([self._entropy, 3, call, j])
            Xc = self._put(self._sampler.sample(rng, M0, n_local, top))
            if self.acq_func == "gp_hedge":
                xs = [np.asarray(acq.propose(post, Xc, inp, self._acq_config(k, N))[0]) for k in _HEDGE_ARMS]
                nominees.append(np.stack(xs))
                p = np.exp(self._hedge_gains - np.max(self._hedge_gains))
                x = xs[int(self._rng.choice(len(xs), p=p / p.sum()))]
            else:
                x = np.asarray(acq.propose(post, Xc, inp, self._acq_config(_ACQ_KIND[self.acq_func], N))[0])
            x = np.where(np.isfinite(x), x, 0.5)  # belt and braces: decoding must never see NaN
            (pt,) = self.space.from_features(x[None, :])
            out.append(pt)
            if j < n - 1:
                post = _condition(post, self._put(self.space.to_features([pt])[0]), lie_arr, self.sg)
        if nominees:
            self._hedge_nominees = nominees[0]
        return out

    # --- model fitting --------------------------------------------------------------------------------

    def _fit(self, data: gp.Data, X_obs: np.ndarray, z: np.ndarray) -> gp.Posterior:
        """MAP hyperparameters, then the posterior on all of ``data``.

        Cost control (a fit costs ~ restarts x iterations x n^3):
        * the fit sees at most ``max_fit_points`` observations, a seeded random subset
          (9 or so hyperparameters are well determined by 128 points);
        * a full multi-start fit (previous optimum, default, random) runs while
          n <= ``full_fit_below`` and whenever n has grown by ``refit_growth`` since the
          last one; in between, 10 L-BFGS iterations refine the previous optimum, or, from
          bucket ``INCREMENTAL_BUCKET`` on, the hyperparameters are kept and the previous
          posterior is extended by the new observations (``_extend``).
        """
        n_obs = len(z)
        N = int(data.X.shape[0])
        cfg_full = self._fit_config(100)
        default = gp.default_theta(cfg_full)
        full = self._theta is None or n_obs <= self.full_fit_below or n_obs >= self.refit_growth * self._full_fit_n
        if not full and N >= INCREMENTAL_BUCKET:
            post = self._extend(X_obs, data.z, N)
            if post is not None:
                self.last_fit = {"theta": self._theta, "value": math.nan, "full": False, "n": n_obs, "bucket": N}
                return post
        if full:
            starts = [default] if self._theta is None else [self._theta, default]
            n_random = max(0, self.n_restarts - len(starts))
            if n_random:
                starts += list(gp.sample_prior_theta(self._rng, n_random, cfg_full))
            theta0 = np.stack(starts[: self.n_restarts])
            maxiter = np.full(self.n_restarts, cfg_full.maxiter)
            self._full_fit_n = n_obs
        else:
            # Refine the previous optimum only, through the same compiled program (same
            # shapes; the other restarts get no evaluations): a separate program would
            # cost a compilation per bucket.
            theta0 = np.tile(self._theta, (self.n_restarts, 1))
            maxiter = np.zeros(self.n_restarts)
            maxiter[0] = REFINE_STEPS
        if n_obs <= self.max_fit_points:
            fit_data = data
        else:
            pick = np.random.default_rng([self._entropy, 5, n_obs]).choice(n_obs, self.max_fit_points, replace=False)
            idx = np.sort(pick)
            Nf = bucket(len(idx))
            Xf, zf, mf = np.zeros((Nf, self.D)), np.zeros(Nf), np.zeros(Nf)
            Xf[: len(idx)], zf[: len(idx)], mf[: len(idx)] = X_obs[idx], z[idx], 1.0
            fit_data = gp.Data(self._put(Xf), self._put(zf), self._put(mf))
        post, theta, value = gp.fit(
            fit_data, data, self._put(theta0), self._put(default), cfg_full, np.asarray(maxiter, dtype=np.int32)
        )
        theta = np.asarray(theta, dtype=float)
        ok = bool(np.isfinite(np.asarray(value)))
        if not ok:
            warnings.warn(
                "jax GP engine: the hyperparameter fit gave non-finite values; using default hyperparameters",
                RuntimeWarning,
                stacklevel=4,
            )
        elif not bool(np.all(np.isfinite(np.asarray(post.alpha)))):
            warnings.warn(
                "jax GP engine: the fitted model is not finite; using default hyperparameters",
                RuntimeWarning,
                stacklevel=4,
            )
            ok, theta = False, default
            post = gp.posterior(data, self._put(theta), cfg_full)
        if ok:
            self._theta = theta
        self._model = (post, X_obs.copy()) if ok else None
        self.last_fit = {"theta": theta, "value": float(np.asarray(value)), "full": full, "n": n_obs, "bucket": N}
        return post

    def _extend(self, X_obs: np.ndarray, z: np.ndarray | jax.Array, N: int) -> gp.Posterior | None:
        """The last posterior plus the observations told since, same hyperparameters, or None
        when it cannot be reused (another bucket, or earlier observations changed)."""
        if self._model is None:
            return None
        post, X_prev = self._model
        n_prev = len(X_prev)
        if int(post.X.shape[0]) != N or n_prev > len(X_obs) or not np.array_equal(X_prev, X_obs[:n_prev]):
            return None
        for x in X_obs[n_prev:]:
            post = _condition(post, self._put(x), self._put(0.0), self.sg)  # targets set below
        post = _refresh(post, z)
        self._model = (post, X_obs.copy())
        return post

    def _hedge_update(self, post: gp.Posterior) -> None:
        """GP-Hedge: each arm gains minus the new model's mean at its last nominee."""
        if self._hedge_nominees is None:
            return
        mu = np.asarray(_mean_at(post, self._put(self._hedge_nominees), self.sg), dtype=float)
        self._hedge_gains -= mu
        self._hedge_gains -= np.max(self._hedge_gains)  # only differences matter; keep them bounded
