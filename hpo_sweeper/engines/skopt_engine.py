"""The scikit-optimize engine (``backend="skopt"``).

A thin translation layer: ``BayesOptimizer`` hands over observations (to be
minimised) and pending points; ``skopt.Optimizer`` with its default GP
(``ConstantKernel * Matern-5/2`` with ARD lengthscales, Gaussian noise,
normalised y) proposes the next points.

Mapping of the space onto skopt dimensions (notation: ``d`` parameters):

* float          -> ``Real`` (log-uniform prior on a log scale)
* int            -> ``Integer`` (log-uniform prior on a log scale)
* stepped number -> ``Integer`` over the level index ``0 .. n_levels - 1``, which keeps the
  order of the levels for the GP, unlike a categorical would
* categorical    -> ``Categorical`` over the index strings ``"0" .. "k-1"``: skopt mishandles
  None, bools and mixed-type categories, so it never sees the values themselves
* a parameter with one level is constant and is kept out of skopt altogether

State: one ``skopt.Optimizer`` holds the real observations. While the observations only
grow (the usual case), the new ones are told to it in one call (skopt refits its GP from
scratch on every ``tell``, so one call means one fit); when the list changed otherwise
(with ``on_failure="worst"`` the value given to failures moves with the worst result) it is
rebuilt from all observations.

Pending points and batches use the constant liar (Ginsbourger et al., 2010): a working
copy is told every pending point, and then each point of the batch as soon as it is
proposed, with the lie ``L`` = min / mean / max of the *real* results (``batch_strategy``
``cl_min`` / ``cl_mean`` / ``cl_max``), so that the next proposal moves away from them.
A suggestion costs one GP fit for the first point plus one per further point; when
pending points exist the real-data fit is skipped (``tell(fit=False)``) because the
working copy refits anyway.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import skopt
from skopt.space import Categorical, Integer, Real
from threadpoolctl import threadpool_limits

from hpo_sweeper.engines.base import observed_values
from hpo_sweeper.optimizers.base import OptimizerError
from hpo_sweeper.space import Kind, Parameter, SearchSpace

__all__ = ["SkoptEngine"]

log = logging.getLogger(__name__)

#: front name -> skopt name; for a minimiser UCB is skopt's lower confidence bound.
_ACQ_FUNCS = {"EI": "EI", "PI": "PI", "LCB": "LCB", "UCB": "LCB", "gp_hedge": "gp_hedge"}
_ACQ_OPTIMIZERS = ("auto", "sampling", "lbfgs")
_LIES = {"cl_min": np.min, "cl_mean": np.mean, "cl_max": np.max}
_DUPLICATE_WARNING = "The objective has been evaluated at point"
#: "once per location" memory for the warnings re-emitted by ``_reemit``
_WARNING_REGISTRY: dict[Any, Any] = {}


class SkoptEngine:
    """GP engine backed by ``skopt.Optimizer`` (see the module docstring).

    Args:
        space: the search space.
        seed: seeds skopt's random state; None for a random one.
        acq_func: ``EI``, ``PI``, ``LCB``, ``UCB`` (= LCB) or ``gp_hedge``.
        xi: exploration margin of EI and PI, in the units of the objective.
        kappa: exploration weight of LCB.
        batch_strategy: the constant liar's lie, ``cl_min``, ``cl_mean`` or ``cl_max``.
        n_restarts_optimizer: L-BFGS runs on the acquisition function (skopt: 5).
        acq_optimizer: ``auto`` (L-BFGS for a GP), ``sampling`` or ``lbfgs``.
        n_points: random candidates scored before the L-BFGS runs (skopt: 10,000).
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int | None,
        acq_func: str,
        xi: float,
        kappa: float,
        batch_strategy: str,
        n_restarts_optimizer: int = 5,
        acq_optimizer: str = "auto",
        n_points: int = 10_000,
    ) -> None:
        if acq_func not in _ACQ_FUNCS:
            raise OptimizerError(f"acq_func must be one of {list(_ACQ_FUNCS)}, got {acq_func!r}")
        if batch_strategy not in _LIES:
            raise OptimizerError(f"batch_strategy must be one of {list(_LIES)}, got {batch_strategy!r}")
        if acq_optimizer not in _ACQ_OPTIMIZERS:
            raise OptimizerError(f"acq_optimizer must be one of {list(_ACQ_OPTIMIZERS)}, got {acq_optimizer!r}")
        for name, value in (("n_restarts_optimizer", n_restarts_optimizer), ("n_points", n_points)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptimizerError(f"{name} must be an integer >= 1, got {value!r}")
        self.space = space
        self.batch_strategy = batch_strategy
        self._options: dict[str, Any] = {
            "base_estimator": "GP",
            # The front already ran the space-filling design: model-guided from the first tell.
            "n_initial_points": 0,
            "acq_func": _ACQ_FUNCS[acq_func],
            "acq_func_kwargs": {"xi": float(xi), "kappa": float(kappa)},
            "acq_optimizer": acq_optimizer,
            "acq_optimizer_kwargs": {"n_points": n_points, "n_restarts_optimizer": n_restarts_optimizer},
        }
        self._searched = [p for p in space.params if p.n_levels != 1]
        self._constant = {p.name: p.levels()[0] for p in space.params if p.n_levels == 1}
        self._dimensions = [_dimension(p) for p in self._searched]
        # skopt takes a legacy RandomState, which accepts seeds below 2**32 only.
        self._rng = np.random.RandomState(None if seed is None else seed % 2**32)
        self._opt: skopt.Optimizer | None = None
        #: space keys and values of the observations told to ``_opt``, in order
        self._told: list[tuple[tuple[Any, ...], float]] = []
        self._fitted = False  # whether ``_opt``'s model covers every told observation
        self._gains: np.ndarray | None = None  # gp_hedge's running gains, kept across rebuilds

    # --- the Engine protocol ----------------------------------------------------------------

    def suggest(
        self,
        points: list[dict[str, Any]],
        y: np.ndarray,
        n: int,
        pending: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Propose ``n`` configurations; see ``hpo_sweeper.engines.base.Engine``."""
        if n <= 0:
            return []
        y = observed_values(points, y)
        if not self._dimensions:  # every parameter is constant: one configuration only
            return [self._from_skopt([]) for _ in range(n)]
        if len(y) == 0:  # nothing to model yet: random points
            return [self._from_skopt(x) for x in self._new_optimizer().space.rvs(n, random_state=self._rng)]

        # The GP's matrices are tiny (n x n for n observations): BLAS threads only add
        # synchronisation, which costs 4x on a busy 2-core machine (measured).
        with threadpool_limits(limits=1, user_api="blas"):
            return self._suggest(points, y, n, pending)

    def _suggest(
        self,
        points: list[dict[str, Any]],
        y: np.ndarray,
        n: int,
        pending: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        self._sync(points, y, fit=not pending)
        lie = float(_LIES[self.batch_strategy](y))
        assert self._opt is not None
        model = self._opt
        liars = [self._to_skopt(p) for p in pending]
        if liars:
            model = self._spawn(liars, lie)
        proposals: list[list[Any]] = []
        duplicates = 0
        for i in range(n):
            if i > 0:
                if model is self._opt:
                    model = self._spawn([proposals[-1]], lie)
                else:
                    self._quiet(model.tell, proposals[-1], lie)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                proposals.append(list(model.ask()))
            duplicates += _reemit(caught)
        if duplicates:
            # skopt already replaced the repeat by a random point; the front replaces any
            # repeat that remains, so this is worth a debug line, not a warning per call.
            log.debug("skopt proposed %d already evaluated point(s); random points were used", duplicates)
        return [self._from_skopt(x) for x in proposals]

    # --- the skopt optimizer -----------------------------------------------------------------

    def _new_optimizer(self) -> skopt.Optimizer:
        opt = skopt.Optimizer(
            self._dimensions,
            random_state=self._rng.randint(0, np.iinfo(np.int32).max),
            **self._options,
        )
        if self._gains is not None and hasattr(opt, "gains_"):
            opt.gains_ = self._gains.copy()
        return opt

    def _sync(self, points: Sequence[dict[str, Any]], y: np.ndarray, *, fit: bool) -> None:
        """Bring ``_opt`` up to date with the observations; fit its model when ``fit``."""
        told = [(self.space.key(p), float(v)) for p, v in zip(points, y)]
        k = len(self._told)
        # A rebuild when the list changed other than by growing, or when nothing is new but
        # the model is missing (the last tell skipped the fit for pending points which are
        # gone now without a result: a failure under on_failure="ignore").
        stale = fit and not self._fitted and len(told) == k
        if self._opt is None or told[:k] != self._told or stale:
            if self._opt is not None and hasattr(self._opt, "gains_"):
                self._gains = self._opt.gains_.copy()
            self._opt, self._told, self._fitted, k = self._new_optimizer(), [], False, 0
        if len(told) > k:
            X = [self._to_skopt(p) for p in points[k:]]
            self._quiet(self._opt.tell, X, [v for _, v in told[k:]], fit=fit)
            self._told = told
            self._fitted = fit

    def _spawn(self, extra: list[list[Any]], lie: float) -> skopt.Optimizer:
        """A working copy: the real observations plus ``extra`` points told the value ``lie``."""
        assert self._opt is not None
        opt = self._new_optimizer()
        if hasattr(self._opt, "gains_"):
            opt.gains_ = self._opt.gains_.copy()
        self._quiet(opt.tell, list(self._opt.Xi) + extra, list(self._opt.yi) + [lie] * len(extra))
        return opt

    @staticmethod
    def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
        # skopt fits the GP inside tell() with warnings silenced already; numpy may still
        # complain about degenerate candidates (a flat acquisition function).
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    # --- conversions -----------------------------------------------------------------------

    def _to_skopt(self, point: dict[str, Any]) -> list[Any]:
        return [_encode(p, point[p.name]) for p in self._searched]

    def _from_skopt(self, x: Sequence[Any]) -> dict[str, Any]:
        point = {p.name: _decode(p, v) for p, v in zip(self._searched, x)}
        point.update(self._constant)
        return self.space.validate({n: point[n] for n in self.space.names})


def _reemit(caught: list[warnings.WarningMessage]) -> int:
    """Re-emit recorded warnings except skopt's repeated-point notice; return how many of those."""
    duplicates = 0
    for w in caught:
        if _DUPLICATE_WARNING in str(w.message):
            duplicates += 1
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=_WARNING_REGISTRY)
    return duplicates


def _dimension(p: Parameter) -> Any:
    prior = "log-uniform" if p.log else "uniform"
    if p.kind is Kind.CATEGORICAL:
        return Categorical([str(i) for i in range(len(p.choices))], name=p.name)
    if p.step is not None:
        n = p.n_levels
        assert n is not None
        return Integer(0, n - 1, name=p.name)
    assert p.low is not None and p.high is not None
    if p.kind is Kind.INT:
        return Integer(int(p.low), int(p.high), prior=prior, name=p.name)
    return Real(float(p.low), float(p.high), prior=prior, name=p.name)


def _encode(p: Parameter, value: Any) -> Any:
    """A parameter value -> skopt's coordinate."""
    if p.kind is Kind.CATEGORICAL:
        return str(p.index_of(value))
    assert p.low is not None and p.high is not None
    if p.step is not None:
        return int(round((float(value) - p.low) / p.step))
    if p.kind is Kind.INT:
        return int(value)
    return float(min(max(float(value), p.low), p.high))


def _decode(p: Parameter, x: Any) -> Any:
    """skopt's coordinate -> a parameter value (``SearchSpace.validate`` casts it)."""
    if p.kind is Kind.CATEGORICAL:
        return p.choices[int(x)]
    assert p.low is not None and p.high is not None
    if p.step is not None:
        return p.low + int(x) * p.step  # validate() casts and drops float noise
    if p.kind is Kind.INT:
        return int(x)
    v = float(x)
    return min(max(v, p.low), p.high) if math.isfinite(v) else p.low
