"""``JaxConfig``: the JAX engine's options, checked once, frozen.

Every option is validated by ``hpo_sweeper.validation`` and a bad one raises
``OptimizerError`` naming it, before any job runs. Importing this module does not import
JAX; ``make_config`` does (to resolve the device).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpo_sweeper.engines.jax_gp.warping import WARPINGS
from hpo_sweeper.optimizers.base import OptimizerError
from hpo_sweeper.validation import check_choice, check_int

__all__ = ["ACQ_KIND", "HEDGE_ARMS", "JaxConfig", "make_config"]

#: front name -> acquisition kind (UCB is LCB for a minimiser)
ACQ_KIND = {"EI": "ei", "PI": "pi", "LCB": "lcb", "UCB": "lcb"}
#: GP-Hedge's portfolio
HEDGE_ARMS = ("ei", "pi", "lcb")
BATCH_STRATEGIES = ("qei", "cl_min", "cl_mean", "cl_max")
NOISE_PRIORS = ("gamma", "lognormal")


@dataclass(frozen=True)
class JaxConfig:
    """Options of ``backend="jax"`` (``engine_options``), plus the front's shared settings.

    Front settings: ``acq_func`` (EI, PI, LCB, UCB, gp_hedge), ``xi``, ``kappa``,
    ``batch_strategy`` (how pending points and a batch's earlier members are conditioned
    on: "qei" averages the acquisition over joint posterior draws of their values,
    ``fantasies.py``; "cl_min" / "cl_mean" / "cl_max" tell a constant lie, the min / mean /
    max of the warped results), ``seed`` (entropy of the engine's host-side random streams).

    engine_options:
        device: None (JAX's default device), "cpu", "gpu", "tpu" or any platform name.
        dtype: "float64" (default on CPU) or "float32" (default on accelerators).
        n_restarts: hyperparameter-fit starts (previous fit, default, random) (default 4).
        n_candidates: quasi-random candidates scored per proposal (default 1024).
        n_starts: candidates refined by gradient ascent (default 16).
        acq_steps: L-BFGS evaluations per start when maximising the acquisition (default 100).
        refit_growth: between full multi-start fits at more than ``full_fit_below``
            observations, the data must grow by this factor; in between only a short
            warm-started refinement runs (default 1.1; see ``schedule.py``).
        full_fit_below: up to this many observations every call refits from all
            restarts (default 16).
        max_fit_points: the hyperparameter fit uses at most this many observations, a
            random subset (default 128).
        max_posterior_points: up to this many observations the posterior is exact over all
            of them; beyond, it conditions on this many, the nearest the incumbent, the best
            and a random spread (``subset.py``), so a suggestion costs the same at n = 10,000
            as at n = 1,000 (default 1024; measured in benchmarks/notes/issue20_scale.md).
        blas_threads: BLAS threads while the engine runs on CPU (default 1: the matrices
            are small, and extra threads are very slow on a busy machine; see
            ``blas_threads.py``); None leaves BLAS alone.
        output_warping: "half_rank" (default; robust to outliers, see ``warping.py``) or
            "standardize" (plain mean/std scaling).
        noise_prior: "lognormal" (default, LogNormal(-6, 1) on the noise variance of the
            standardised targets) or "gamma" (Gamma(1.1, 30) as Optuna). See ``gp.FitConfig``.
        plateau_explore: when the last this many observations all tie the best value, the
            next proposal is a uniformly random point (0: never; see ``plateau.py``).
        plateau_xi: while the last ``s`` observations tie an earlier incumbent
            (``plateau.tie_streak``), EI's and PI's margin is ``xi + plateau_xi * s`` (0: off).
            xi is in posterior sds, so this sharpens EI towards PI (exploits) rather than explores.
        plateau_margin: on such a streak, EI and PI ask for an improvement of
            ``plateau_margin * s`` standardised units of y on the incumbent (0: off): a margin
            in y units, unlike xi, favours points where the model is unsure.
        plateau_kappa: while the last observation ties an earlier incumbent, the proposal is
            an LCB with this kappa instead of ``acq_func`` (0: off; not with gp_hedge).

    ``acq_func="gp_hedge"``: GP-Hedge (Hoffman et al. 2011), a softmax portfolio over
    log-EI, log-PI and LCB; each arm nominates a point, one is picked with probabilities
    ``softmax(gains)``, and each arm's gain grows by minus the next model's mean at its
    nominee. It costs three acquisition searches per proposal.
    """

    seed: int
    acq_func: str = "EI"
    xi: float = 0.01
    kappa: float = 1.96
    batch_strategy: str = "qei"
    device: Any = None  # a jax.Device, resolved by make_config
    dtype: str = "float64"
    n_restarts: int = 4
    n_candidates: int = 1024
    n_starts: int = 16
    acq_steps: int = 100
    refit_growth: float = 1.1
    full_fit_below: int = 16
    max_fit_points: int = 128
    max_posterior_points: int = 1024
    blas_threads: int | None = 1
    output_warping: str = "half_rank"
    noise_prior: str = "lognormal"
    plateau_explore: int = 0
    plateau_xi: float = 0.0
    plateau_margin: float = 0.0
    plateau_kappa: float = 0.0

    @property
    def x64(self) -> bool:
        return self.dtype == "float64"


def make_config(
    *,
    seed: int,
    acq_func: str = "EI",
    xi: float = 0.01,
    kappa: float = 1.96,
    batch_strategy: str = "qei",
    device: str | None = None,
    dtype: str | None = None,
    n_restarts: int = 4,
    n_candidates: int = 1024,
    n_starts: int = 16,
    acq_steps: int = 100,
    refit_growth: float = 1.1,
    full_fit_below: int = 16,
    max_fit_points: int = 128,
    max_posterior_points: int = 1024,
    blas_threads: int | None = 1,
    output_warping: str = "half_rank",
    noise_prior: str = "lognormal",
    plateau_explore: int = 0,
    plateau_xi: float = 0.0,
    plateau_margin: float = 0.0,
    plateau_kappa: float = 0.0,
) -> JaxConfig:
    """A checked ``JaxConfig``; an unknown option is a ``TypeError`` (the front names it)."""
    err = OptimizerError
    if acq_func not in (*ACQ_KIND, "gp_hedge"):
        raise OptimizerError(f"the jax engine has no acquisition function {acq_func!r}")
    if batch_strategy not in BATCH_STRATEGIES:
        raise OptimizerError(f"the jax engine has no batch strategy {batch_strategy!r}")
    for name, value, low in (
        ("n_restarts", n_restarts, 1),
        ("n_candidates", n_candidates, 1),
        ("n_starts", n_starts, 1),
        ("acq_steps", acq_steps, 0),
        ("full_fit_below", full_fit_below, 0),
        ("max_fit_points", max_fit_points, 2),
        ("plateau_explore", plateau_explore, 0),
        ("max_posterior_points", max_posterior_points, 2),
    ):
        check_int(f"engine option {name}", value, low=low, error=err)
    for name, number in (("plateau_xi", plateau_xi), ("plateau_margin", plateau_margin),
                         ("plateau_kappa", plateau_kappa)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0.0 <= number < math.inf:
            raise OptimizerError(f"engine option {name} must be a finite number >= 0, got {number!r}")
    check_choice("engine option output_warping", output_warping, WARPINGS, error=err)
    check_choice("engine option noise_prior", noise_prior, NOISE_PRIORS, error=err)
    check_int("engine option blas_threads", blas_threads, low=1, allow_none=True, error=err)
    # Not check_number: inf is meaningful here (never refit fully once past full_fit_below).
    if isinstance(refit_growth, bool) or not isinstance(refit_growth, (int, float)) or not refit_growth >= 1.0:
        raise OptimizerError(f"engine option refit_growth must be a number >= 1, got {refit_growth!r}")
    if device is not None and not isinstance(device, str):
        raise OptimizerError(
            f"engine option device must be null or a platform name such as 'cpu' or 'gpu', got {device!r}"
        )
    import jax

    try:
        dev = jax.devices(device)[0] if device else jax.devices()[0]
    except RuntimeError as e:
        raise OptimizerError(f"engine option device={device!r}: JAX has no such device ({e})") from None
    if dtype is None:
        dtype = "float64" if dev.platform == "cpu" else "float32"
    check_choice("engine option dtype", dtype, ("float64", "float32"), error=err)
    return JaxConfig(
        seed=int(seed) % (2**63),
        acq_func=acq_func,
        xi=float(xi),
        kappa=float(kappa),
        batch_strategy=batch_strategy,
        device=dev,
        dtype=dtype,
        n_restarts=n_restarts,
        n_candidates=n_candidates,
        n_starts=n_starts,
        acq_steps=acq_steps,
        refit_growth=float(refit_growth),
        full_fit_below=full_fit_below,
        max_fit_points=max_fit_points,
        max_posterior_points=max_posterior_points,
        # OpenBLAS threads matter on CPU only.
        blas_threads=blas_threads if dev.platform == "cpu" else None,
        output_warping=output_warping,
        noise_prior=noise_prior,
        plateau_explore=plateau_explore,
        plateau_xi=float(plateau_xi),
        plateau_margin=float(plateau_margin),
        plateau_kappa=float(plateau_kappa),
    )
