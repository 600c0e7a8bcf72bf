"""The scikit-optimize engine (``backend="skopt"``).

A thin translation layer over the array contract of ``engines/base.py``: the front hands
over feature rows of the observations (to be minimised) and of the pending points; each
row is read back into skopt's coordinates, and ``skopt.Optimizer`` with its default GP
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

Conditional spaces (``when``): skopt knows no conditions, so it searches every dimension and
the front drops the inactive ones from each proposal (``SearchSpace.from_features`` prunes it)
and replaces a forbidden or repeated one. An observation's inactive parameter is told to skopt
as one constant per parameter, the imputation the JAX engine uses: a numeric one at the value of
``INACTIVE_UNIT`` (the middle of its range), a categorical one as its first choice; within a
branch the GP sees the dimension as constant, and the parent's own dimension tells branches apart.

State (``SkoptState``): one ``skopt.Optimizer`` holds the real observations. While the observations only
grow (the usual case), the new ones are told to it in one call (skopt refits its GP from
scratch on every ``tell``, so one call means one fit); when the list changed otherwise
(with ``on_failure="worst"`` the value given to failures moves with the worst result) it is
rebuilt from all observations.

Pending points and batches use the constant liar (Ginsbourger et al., 2010): a working
copy is told every pending point, and then each point of the batch as soon as it is
proposed, with the lie ``L`` = min / mean / max of the *real* results (``batch_strategy``
``cl_min`` / ``cl_mean`` / ``cl_max``), so that the next proposal moves away from them.
skopt has no fantasies: ``qei`` (the jax engine's joint-posterior draws) is read as ``cl_min``.
A suggestion costs one GP fit for the first point plus one per further point; when
pending points exist the real-data fit is skipped (``tell(fit=False)``) because the
working copy refits anyway.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import skopt
from skopt.space import Categorical, Integer, Real
from threadpoolctl import threadpool_limits

from hpo_sweeper.engines.base import Key, check_arrays
from hpo_sweeper.optimizers.base import OptimizerError
from hpo_sweeper.space import FeatureLayout, Kind, Parameter
from hpo_sweeper.validation import check_choice, check_int

__all__ = ["SkoptConfig", "SkoptState", "init", "make_config", "suggest"]

log = logging.getLogger(__name__)

#: front name -> skopt name; for a minimiser UCB is skopt's lower confidence bound.
_ACQ_FUNCS = {"EI": "EI", "PI": "PI", "LCB": "LCB", "UCB": "LCB", "gp_hedge": "gp_hedge"}
_ACQ_OPTIMIZERS = ("auto", "sampling", "lbfgs")
_LIES: dict[str, Callable[[np.ndarray], Any]] = {"cl_min": np.min, "cl_mean": np.mean, "cl_max": np.max,
                                                 "qei": np.min}  # no fantasies here: the constant liar
_DUPLICATE_WARNING = "The objective has been evaluated at point"
#: "once per location" memory for the warnings re-emitted by ``_reemit``
_WARNING_REGISTRY: dict[Any, Any] = {}


@dataclass(frozen=True)
class SkoptConfig:
    """The skopt engine's options (see ``make_config``)."""

    seed: int
    batch_strategy: str
    options: dict[str, Any]  # keyword arguments of ``skopt.Optimizer``


def make_config(
    *,
    seed: int,
    acq_func: str,
    xi: float,
    kappa: float,
    batch_strategy: str,
    n_restarts_optimizer: int = 5,
    acq_optimizer: str = "auto",
    n_points: int = 10_000,
) -> SkoptConfig:
    """A checked configuration.

    Args:
        seed: seeds skopt's random state.
        acq_func: ``EI``, ``PI``, ``LCB``, ``UCB`` (= LCB) or ``gp_hedge``.
        xi: exploration margin of EI and PI, in the units of the objective.
        kappa: exploration weight of LCB.
        batch_strategy: the constant liar's lie, ``cl_min``, ``cl_mean`` or ``cl_max``
            (``qei``, the jax engine's fantasies, is read as ``cl_min``).
        n_restarts_optimizer: L-BFGS runs on the acquisition function (skopt: 5).
        acq_optimizer: ``auto`` (L-BFGS for a GP), ``sampling`` or ``lbfgs``.
        n_points: random candidates scored before the L-BFGS runs (skopt: 10,000).
    """
    err = OptimizerError
    check_choice("acq_func", acq_func, list(_ACQ_FUNCS), error=err)
    check_choice("batch_strategy", batch_strategy, list(_LIES), error=err)
    check_choice("acq_optimizer", acq_optimizer, _ACQ_OPTIMIZERS, error=err)
    check_int("n_restarts_optimizer", n_restarts_optimizer, low=1, error=err)
    check_int("n_points", n_points, low=1, error=err)
    return SkoptConfig(
        seed=int(seed),
        batch_strategy=batch_strategy,
        options={
            "base_estimator": "GP",
            # The front already ran the space-filling design: model-guided from the first tell.
            "n_initial_points": 0,
            "acq_func": _ACQ_FUNCS[acq_func],
            "acq_func_kwargs": {"xi": float(xi), "kappa": float(kappa)},
            "acq_optimizer": acq_optimizer,
            "acq_optimizer_kwargs": {"n_points": n_points, "n_restarts_optimizer": n_restarts_optimizer},
        },
    )


class SkoptState:
    """The skopt engine's state: one ``skopt.Optimizer`` over the real observations.

    Updated in place by ``suggest`` (copying a fitted ``skopt.Optimizer`` would cost as
    much as fitting it), so a state passed to ``suggest`` must not be reused.
    """

    def __init__(self, layout: FeatureLayout, config: SkoptConfig) -> None:
        self.layout, self.config = layout, config
        #: (parameter, its index in the space) of the parameters skopt searches
        self.searched = [(j, p) for j, p in enumerate(layout.params) if p.n_levels != 1]
        self.dimensions = [_dimension(p) for _, p in self.searched]
        # skopt takes a legacy RandomState, which accepts seeds below 2**32 only.
        self.rng = np.random.RandomState(config.seed % 2**32)
        self.opt: skopt.Optimizer | None = None
        #: features and values of the observations told to ``opt``, in order
        self.told_X = np.zeros((0, layout.n_features))
        self.told_y = np.zeros(0)
        self.fitted = False  # whether ``opt``'s model covers every told observation
        self.gains: np.ndarray | None = None  # gp_hedge's running gains, kept across rebuilds

    def new_optimizer(self) -> skopt.Optimizer:
        opt = skopt.Optimizer(
            self.dimensions,
            random_state=self.rng.randint(0, np.iinfo(np.int32).max),
            **self.config.options,
        )
        if self.gains is not None and hasattr(opt, "gains_"):
            opt.gains_ = self.gains.copy()
        return opt

    # --- conversions between feature rows and skopt coordinates --------------------------------

    def to_skopt(self, x: np.ndarray) -> list[Any]:
        """A feature row -> skopt's coordinates of the searched parameters."""
        out = []
        for j, p in self.searched:
            col = self.layout.column[j]
            if p.kind is Kind.CATEGORICAL:
                # argmax of an inactive parameter's all-zero group is 0: its first choice, by design
                out.append(str(int(np.argmax(x[col : col + len(p.choices)]))))
            else:  # an inactive one's INACTIVE_UNIT decodes to the middle of its range
                out.append(_encode(p, p.from_unit(x[col])))
        return out

    def from_skopt(self, coords: Sequence[Any]) -> np.ndarray:
        """skopt's coordinates -> a feature row (constant parameters at their one level)."""
        x = np.zeros(self.layout.n_features)
        values = {j: _decode(p, v) for (j, p), v in zip(self.searched, coords)}
        for j, p in enumerate(self.layout.params):
            col = self.layout.column[j]
            value = p.validate(values[j]) if j in values else p.levels()[0]
            if p.kind is Kind.CATEGORICAL:
                x[col + p.index_of(value)] = 1.0
            else:
                x[col] = p.to_unit(value)
        return x


def init(layout: FeatureLayout, config: SkoptConfig) -> SkoptState:
    return SkoptState(layout, config)


def suggest(
    state: SkoptState, X: np.ndarray, y: np.ndarray, X_pending: np.ndarray, q: int, key: Key
) -> tuple[np.ndarray, SkoptState]:
    """Propose ``q`` feature rows; see ``hpo_sweeper.engines.base``. ``key`` is unused:
    skopt draws from its own seeded random state, kept in ``state``."""
    X, y, X_pending = check_arrays(state.layout, X, y, X_pending)
    if q <= 0:
        return np.zeros((0, state.layout.n_features)), state
    if not state.dimensions:  # every parameter is constant: one configuration only
        return np.stack([state.from_skopt([]) for _ in range(q)]), state
    if len(y) == 0:  # nothing to model yet: random points
        coords = state.new_optimizer().space.rvs(q, random_state=state.rng)
        return np.stack([state.from_skopt(c) for c in coords]), state
    # The GP's matrices are tiny (n x n for n observations): BLAS threads only add
    # synchronisation, which costs 4x on a busy 2-core machine (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        return _suggest(state, X, y, X_pending, q), state


def _suggest(state: SkoptState, X: np.ndarray, y: np.ndarray, X_pending: np.ndarray, q: int) -> np.ndarray:
    _sync(state, X, y, fit=len(X_pending) == 0)
    lie = float(_LIES[state.config.batch_strategy](y))
    assert state.opt is not None
    model = state.opt
    liars = [state.to_skopt(x) for x in X_pending]
    if liars:
        model = _spawn(state, liars, lie)
    proposals: list[list[Any]] = []
    duplicates = 0
    for i in range(q):
        if i > 0:
            if model is state.opt:
                model = _spawn(state, [proposals[-1]], lie)
            else:
                _quiet(model.tell, proposals[-1], lie)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            proposals.append(list(model.ask()))
        duplicates += _reemit(caught)
    if duplicates:
        # skopt already replaced the repeat by a random point; the front replaces any
        # repeat that remains, so this is worth a debug line, not a warning per call.
        log.debug("skopt proposed %d already evaluated point(s); random points were used", duplicates)
    return np.stack([state.from_skopt(c) for c in proposals])


def _sync(state: SkoptState, X: np.ndarray, y: np.ndarray, *, fit: bool) -> None:
    """Bring ``state.opt`` up to date with the observations; fit its model when ``fit``."""
    k = len(state.told_y)
    # A rebuild when the list changed other than by growing, or when nothing is new but
    # the model is missing (the last tell skipped the fit for pending points which are
    # gone now without a result: a failure under on_failure="ignore").
    stale = fit and not state.fitted and len(y) == k
    grew = len(y) >= k and np.array_equal(X[:k], state.told_X) and np.array_equal(y[:k], state.told_y)
    if state.opt is None or not grew or stale:
        if state.opt is not None and hasattr(state.opt, "gains_"):
            state.gains = state.opt.gains_.copy()
        state.opt, state.fitted, k = state.new_optimizer(), False, 0
        state.told_X, state.told_y = X[:0], y[:0]
    if len(y) > k:
        _quiet(state.opt.tell, [state.to_skopt(x) for x in X[k:]], [float(v) for v in y[k:]], fit=fit)
        state.told_X, state.told_y = X.copy(), y.copy()
        state.fitted = fit


def _spawn(state: SkoptState, extra: list[list[Any]], lie: float) -> skopt.Optimizer:
    """A working copy: the real observations plus ``extra`` points told the value ``lie``."""
    assert state.opt is not None
    opt = state.new_optimizer()
    if hasattr(state.opt, "gains_"):
        opt.gains_ = state.opt.gains_.copy()
    _quiet(opt.tell, list(state.opt.Xi) + extra, list(state.opt.yi) + [lie] * len(extra))
    return opt


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # skopt fits the GP inside tell() with warnings silenced already; numpy may still
    # complain about degenerate candidates (a flat acquisition function).
    with np.errstate(all="ignore"):
        return fn(*args, **kwargs)


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
