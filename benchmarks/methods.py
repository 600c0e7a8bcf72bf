"""The optimisers under comparison, behind one small ask/tell interface.

``Method(problem, seed, n_trials, q)``, then ``ask(k) -> list[dict]`` and
``tell(params, values)``. A batch of ``q`` is ``ask(q)`` then ``tell`` of all ``q``.

=============  ==========================================================================
name           what
=============  ==========================================================================
random         ``create_optimizer("random", ...)``: i.i.d. uniform samples (our sweeper)
bayes-skopt    ``create_optimizer("bayes", ..., backend="skopt")`` with the front's defaults
bayes-jax      ``create_optimizer("bayes", ..., backend="jax")`` with the front's defaults
optuna-tpe     Optuna ``TPESampler(seed=...)`` (``constant_liar=True`` when q > 1)
optuna-gp      Optuna ``GPSampler(seed=...)``, its defaults (needs torch)
skopt-gp       scikit-optimize's own ``gp_minimize`` settings through ``skopt.Optimizer``
               (GP, gp_hedge, 10 random initial points, L-BFGS on the acquisition); batches
               with ``ask(n_points=q)`` (constant liar, ``cl_min``)
=============  ==========================================================================

Extra methods, not in the default regret grid (``EXTRA_METHOD_LABELS``; the Bayesmark suite
runs them, and ``--methods`` can name them):

=============  ==========================================================================
optuna-tpe-mv  Optuna ``TPESampler(multivariate=True, seed=...)`` (``constant_liar`` when q > 1)
hebo           HEBO 0.3.6, the NeurIPS 2020 challenge winner, its defaults;
               ``suggest(n_suggestions=q)``. Its metadata pins numpy < 1.25, which jax and
               scipy here cannot share, so ``pip install HEBO`` does not resolve; installed
               with ``--no-deps`` beside its pure-Python deps (see benchmarks/BAYESMARK.md)
               it runs on numpy 2
=============  ==========================================================================

Batches with Optuna: ``q`` calls to ``study.ask`` before the ``q`` tells (no ``n_jobs``);
the samplers see the earlier asks of the batch as running trials.

Every method is imported lazily; ``available(name)`` says whether it can run here and,
if not, why (optuna not installed, the JAX engine not there yet, ...).
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Sequence
from typing import Any

from benchmarks.problems import Problem

__all__ = ["ALL_METHOD_LABELS", "EXTRA_METHOD_LABELS", "JAX_VARIANTS", "METHODS", "METHOD_LABELS", "Method", "available",
           "make_method"]

#: display order and labels
METHOD_LABELS: dict[str, str] = {
    "random": "random (ours)",
    "bayes-jax": "bayes, JAX engine (ours)",
    "bayes-skopt": "bayes, skopt engine (ours)",
    "optuna-gp": "Optuna GPSampler",
    "optuna-tpe": "Optuna TPESampler",
    "skopt-gp": "scikit-optimize gp_minimize",
}
METHODS = tuple(METHOD_LABELS)
#: methods outside the default regret grid (kept out so its stored results stay comparable)
EXTRA_METHOD_LABELS: dict[str, str] = {
    "optuna-tpe-mv": "Optuna TPESampler, multivariate",
    "hebo": "HEBO",
    "bayes-jax-cl": "bayes, JAX engine, constant liar cl_min (ours)",
    "bayes-jax-qei": "bayes, JAX engine, qEI fantasies (ours)",
}
#: candidate settings of the JAX engine measured beside its defaults (issue 19): name -> (label, front options)
JAX_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "bayes-jax-pl2": ("bayes, JAX engine, plateau_explore=2 (ours)", {"engine_options": {"plateau_explore": 2}}),
    "bayes-jax-pl4": ("bayes, JAX engine, plateau_explore=4 (ours)", {"engine_options": {"plateau_explore": 4}}),
    "bayes-jax-px1": ("bayes, JAX engine, plateau_xi=1 (ours)", {"engine_options": {"plateau_xi": 1.0}}),
    "bayes-jax-px3": ("bayes, JAX engine, plateau_xi=3 (ours)", {"engine_options": {"plateau_xi": 3.0}}),
    "bayes-jax-pm03": ("bayes, JAX engine, plateau_margin=0.3 (ours)", {"engine_options": {"plateau_margin": 0.3}}),
    "bayes-jax-pm1": ("bayes, JAX engine, plateau_margin=1 (ours)", {"engine_options": {"plateau_margin": 1.0}}),
    "bayes-jax-pow-pm03": ("bayes, JAX engine, power warping + plateau_margin=0.3 (ours)",
                           {"engine_options": {"output_warping": "power", "plateau_margin": 0.3}}),
    "bayes-jax-pk4": ("bayes, JAX engine, plateau_kappa=4 (ours)", {"engine_options": {"plateau_kappa": 4.0}}),
    "bayes-jax-pow": ("bayes, JAX engine, output_warping=power (ours)", {"engine_options": {"output_warping": "power"}}),
}
EXTRA_METHOD_LABELS.update({k: label for k, (label, _) in JAX_VARIANTS.items()})
ALL_METHOD_LABELS: dict[str, str] = {**METHOD_LABELS, **EXTRA_METHOD_LABELS}


class Method:
    name = "?"

    def ask(self, k: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def tell(self, params: Sequence[dict[str, Any]], values: Sequence[float]) -> None:
        raise NotImplementedError


class Ours(Method):
    def __init__(self, problem: Problem, seed: int, n_trials: int, q: int, *, kind: str,
                 backend: str | None = None, options: dict[str, Any] | None = None) -> None:
        from hpo_sweeper import SearchSpace, create_optimizer

        space = SearchSpace.from_config(problem.space_config())
        opts: dict[str, Any] = {"n_trials": n_trials, "direction": "minimize", **(options or {})}
        if backend is not None:
            opts["backend"] = backend
        self.opt = create_optimizer(kind, space, seed=seed, **opts)

    def ask(self, k: int) -> list[dict[str, Any]]:
        return self.opt.ask(k)

    def tell(self, params: Sequence[dict[str, Any]], values: Sequence[float]) -> None:
        self.opt.tell(list(params), list(values))


class OptunaMethod(Method):
    def __init__(self, problem: Problem, seed: int, n_trials: int, q: int, *, sampler: str,
                 multivariate: bool = False) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        if sampler == "gp":
            _torch_one_thread()
            s = optuna.samplers.GPSampler(seed=seed)
        else:
            s = optuna.samplers.TPESampler(seed=seed, constant_liar=q > 1, multivariate=multivariate)
        self.study = optuna.create_study(direction="minimize", sampler=s)
        self.dists = problem.optuna_distributions()
        self._running: dict[int, Any] = {}

    def ask(self, k: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(k):
            trial = self.study.ask(self.dists)
            params = dict(trial.params)
            self._running[id(params)] = trial
            out.append(params)
        return out

    def tell(self, params: Sequence[dict[str, Any]], values: Sequence[float]) -> None:
        for p, v in zip(params, values):
            self.study.tell(self._running.pop(id(p)), float(v))


class SkoptMethod(Method):
    """``skopt.gp_minimize``'s defaults, ask/tell (mirrors ``gp_minimize`` + ``base_minimize``)."""

    def __init__(self, problem: Problem, seed: int, n_trials: int, q: int) -> None:
        import numpy as np
        from sklearn.utils import check_random_state
        from skopt import Optimizer
        from skopt.utils import cook_estimator, normalize_dimensions

        rng = check_random_state(seed)
        space = normalize_dimensions(problem.skopt_dimensions())
        est = cook_estimator("GP", space=space, random_state=rng.randint(0, np.iinfo(np.int32).max), noise="gaussian")
        self.opt = Optimizer(
            space,
            est,
            n_initial_points=10,
            initial_point_generator="random",
            n_jobs=1,
            acq_func="gp_hedge",
            acq_optimizer="lbfgs",
            random_state=rng,
            model_queue_size=None,
            acq_optimizer_kwargs={"n_points": 10000, "n_restarts_optimizer": 5, "n_jobs": 1},
            acq_func_kwargs={"xi": 0.01, "kappa": 1.96},
        )
        self.names = [p.name for p in problem.params]

    def ask(self, k: int) -> list[dict[str, Any]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xs = [self.opt.ask()] if k == 1 else self.opt.ask(n_points=k)
        return [{n: _plain(v) for n, v in zip(self.names, x)} for x in xs]

    def tell(self, params: Sequence[dict[str, Any]], values: Sequence[float]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.opt.tell([[p[n] for n in self.names] for p in params], [float(v) for v in values])


class HeboMethod(Method):
    """HEBO's own defaults; our parameter kinds map onto its design space one to one."""

    def __init__(self, problem: Problem, seed: int, n_trials: int, q: int) -> None:
        import numpy as np
        import torch

        # pymoo 0.6.0's wheels predate numpy 2: it runs uncompiled, and says so on stdout at every import
        with contextlib.suppress(Exception):
            from pymoo.config import Config

            Config.warnings["not_compiled"] = False
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        _torch_one_thread()
        # HEBO draws from numpy's and torch's global generators (it takes no seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        spec = []
        for p in problem.params:
            if p.kind == "cat":
                spec.append({"name": p.name, "type": "cat", "categories": list(p.choices)})
            elif p.kind == "int":
                spec.append({"name": p.name, "type": "pow_int" if p.log else "int", "lb": int(p.low), "ub": int(p.high)})
            else:
                spec.append({"name": p.name, "type": "pow" if p.log else "num", "lb": float(p.low), "ub": float(p.high)})
        self.opt = HEBO(DesignSpace().parse(spec))
        self.names = [p.name for p in problem.params]
        self._asked: dict[int, Any] = {}

    def ask(self, k: int) -> list[dict[str, Any]]:
        df = self.opt.suggest(n_suggestions=k)
        out = []
        for i in range(len(df)):
            params = {n: _plain(df.iloc[i][n]) for n in self.names}
            self._asked[id(params)] = df.iloc[[i]]
            out.append(params)
        return out

    def tell(self, params: Sequence[dict[str, Any]], values: Sequence[float]) -> None:
        import numpy as np
        import pandas as pd

        rows = pd.concat([self._asked.pop(id(p)) for p in params])
        self.opt.observe(rows, np.asarray(values, dtype=float).reshape(-1, 1))


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    return v


def _torch_one_thread() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:
        pass


def make_method(name: str, problem: Problem, seed: int, n_trials: int, q: int) -> Method:
    if name == "random":
        return Ours(problem, seed, n_trials, q, kind="random")
    if name == "bayes-skopt":
        return Ours(problem, seed, n_trials, q, kind="bayes", backend="skopt")
    if name == "bayes-jax":
        return Ours(problem, seed, n_trials, q, kind="bayes", backend="jax")
    if name in ("bayes-jax-cl", "bayes-jax-qei"):  # the batch strategies compared (issue 15)
        strategy = {"bayes-jax-cl": "cl_min", "bayes-jax-qei": "qei"}[name]
        return Ours(problem, seed, n_trials, q, kind="bayes", backend="jax", options={"batch_strategy": strategy})
    if name in JAX_VARIANTS:
        return Ours(problem, seed, n_trials, q, kind="bayes", backend="jax", options=JAX_VARIANTS[name][1])
    if name == "optuna-tpe":
        return OptunaMethod(problem, seed, n_trials, q, sampler="tpe")
    if name == "optuna-gp":
        return OptunaMethod(problem, seed, n_trials, q, sampler="gp")
    if name == "skopt-gp":
        return SkoptMethod(problem, seed, n_trials, q)
    if name == "optuna-tpe-mv":
        return OptunaMethod(problem, seed, n_trials, q, sampler="tpe", multivariate=True)
    if name == "hebo":
        return HeboMethod(problem, seed, n_trials, q)
    raise KeyError(f"unknown method {name!r}; known: {list(ALL_METHOD_LABELS)}")


_REQUIRES: dict[str, tuple[str, ...]] = {
    "random": ("hpo_sweeper",),
    "bayes-skopt": ("skopt",),
    "bayes-jax": ("jax", "hpo_sweeper.engines.jax_gp.engine"),
    "bayes-jax-cl": ("jax", "hpo_sweeper.engines.jax_gp.engine"),
    "bayes-jax-qei": ("jax", "hpo_sweeper.engines.jax_gp.engine"),
    **{k: ("jax", "hpo_sweeper.engines.jax_gp.engine") for k in JAX_VARIANTS},
    "optuna-tpe": ("optuna",),
    "optuna-gp": ("optuna", "torch"),
    "skopt-gp": ("skopt",),
    "optuna-tpe-mv": ("optuna",),
    "hebo": ("hebo", "hebo.optimizers.hebo"),
}


def available(name: str) -> tuple[bool, str]:
    """(True, "") when ``name`` can run in this environment, else (False, why)."""
    if name not in _REQUIRES:
        return False, f"unknown method {name!r}; known: {list(ALL_METHOD_LABELS)}"
    for module in _REQUIRES[name]:
        try:
            importlib.import_module(module)
        except Exception as e:
            return False, f"cannot import {module}: {type(e).__name__}: {e}"
    if name == "bayes-jax":
        # The engine may exist but be unfinished: one tiny suggestion tells.
        try:
            from benchmarks.problems import get_problem

            m = make_method(name, get_problem("branin"), 0, 6, 1)
            for _ in range(4):
                (p,) = m.ask(1)
                m.tell([p], [get_problem("branin")(p)])
        except Exception as e:
            return False, f"the JAX engine failed a 4-trial smoke run: {type(e).__name__}: {e}"
    return True, ""
