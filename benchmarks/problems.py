"""Benchmark problems: synthetic functions with known optima and one real tuning task.

Every problem is a minimisation over a box described once, neutrally (``Param``), and
translated for each optimiser: our ``SearchSpace`` config, Optuna distributions and
scikit-optimize dimensions. Problems are looked up by name (``PROBLEMS``) so worker
processes can rebuild them from a job description.

Synthetic functions (definitions and optima from Surjanovic & Bingham's Virtual Library
of Simulation Experiments):

* ``branin``      2-D on [-5, 10] x [0, 15], optimum 0.397887 at (pi, 2.275) and two more;
* ``hartmann6``   6-D on [0, 1]^6, optimum -3.32237;
* ``rosenbrock4`` 4-D on [-5, 10]^4, optimum 0 at (1, 1, 1, 1); values span 7 decades;
* ``levy10``      10-D on [-10, 10]^10, optimum 0 at (1, ..., 1); many local minima;
* ``ackley10``    10-D on [-32.768, 32.768]^10, optimum 0 at 0 (not in the default suite).

Real task ``svm_digits``: an RBF/poly/sigmoid support-vector classifier on scikit-learn's
bundled digits data (a fixed stratified half of the 1,797 8x8 images: 900 of them),
3-fold stratified cross-validation with fixed folds, objective = 1 - mean accuracy.
Parameters: C and gamma (log floats), the kernel (categorical) and the polynomial degree
(int). Deterministic; about 0.2 s per evaluation on one busy core (the full data set
took 0.65 s, too slow for the budget). Its optimum is unknown: regret is measured
against the best value any method found in the same benchmark run (``optimum=None``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DEFAULT_PROBLEMS", "PROBLEMS", "Param", "Problem", "ackley", "branin", "get_problem", "hartmann6", "levy",
           "rosenbrock", "svm_digits"]


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is float, int or cat."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Problem:
    name: str
    label: str
    params: tuple[Param, ...]
    fn: Callable[[Mapping[str, Any]], float]
    #: the known minimum, or None (regret against the best value found in the run)
    optimum: float | None
    #: trial budget of the full suite
    n_trials: int
    #: a minimiser, for the tests (None when unknown)
    x_opt: dict[str, Any] | None = None
    notes: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def dim(self) -> int:
        return len(self.params)

    def __call__(self, params: Mapping[str, Any]) -> float:
        return float(self.fn(params))

    # --- translations ----------------------------------------------------------------------

    def space_config(self) -> dict[str, Any]:
        """For ``hpo_sweeper.SearchSpace.from_config`` (the dict form)."""
        out: dict[str, Any] = {}
        for p in self.params:
            if p.kind == "cat":
                out[p.name] = {"type": "categorical", "choices": list(p.choices)}
            else:
                out[p.name] = {"type": p.kind, "low": p.low, "high": p.high, "log": p.log}
        return out

    def optuna_distributions(self) -> dict[str, Any]:
        import optuna

        out: dict[str, Any] = {}
        for p in self.params:
            if p.kind == "cat":
                out[p.name] = optuna.distributions.CategoricalDistribution(list(p.choices))
            elif p.kind == "int":
                out[p.name] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log)
            else:
                out[p.name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
        return out

    def skopt_dimensions(self) -> list[Any]:
        from skopt.space import Categorical, Integer, Real

        out: list[Any] = []
        for p in self.params:
            prior = "log-uniform" if p.log else "uniform"
            if p.kind == "cat":
                out.append(Categorical(list(p.choices), name=p.name))
            elif p.kind == "int":
                out.append(Integer(int(p.low), int(p.high), prior=prior, name=p.name))
            else:
                out.append(Real(float(p.low), float(p.high), prior=prior, name=p.name))
        return out


def _vec(params: Mapping[str, Any], n: int) -> np.ndarray:
    return np.array([float(params[f"x{i}"]) for i in range(n)])


def _box(n: int, low: float, high: float) -> tuple[Param, ...]:
    return tuple(Param(f"x{i}", "float", low, high) for i in range(n))


# --- synthetic functions (vector form) ------------------------------------------------------

BRANIN_OPT = 0.39788735772973816
HARTMANN6_OPT = -3.322368011415515  # at H6_XOPT, polished with Nelder-Mead

_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
H6_XOPT = (0.2016895111, 0.1500106878, 0.4768739726, 0.2753324311, 0.3116516161, 0.6573005328)


def branin(x: Sequence[float]) -> float:
    x1, x2 = float(x[0]), float(x[1])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1 - t) * math.cos(x1) + 10.0


def hartmann6(x: Sequence[float]) -> float:
    x = np.asarray(x, dtype=float)
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def rosenbrock(x: Sequence[float]) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (x[:-1] - 1.0) ** 2))


def levy(x: Sequence[float]) -> float:
    w = 1.0 + (np.asarray(x, dtype=float) - 1.0) / 4.0
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(math.pi * w[:-1] + 1.0) ** 2))
    tail = (w[-1] - 1.0) ** 2 * (1.0 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def ackley(x: Sequence[float]) -> float:
    x = np.asarray(x, dtype=float)
    d = len(x)
    return float(
        -20.0 * math.exp(-0.2 * math.sqrt(np.sum(x**2) / d))
        - math.exp(np.sum(np.cos(2 * math.pi * x)) / d)
        + 20.0
        + math.e
    )


def _branin_p(p: Mapping[str, Any]) -> float:
    return branin(_vec(p, 2))


def _hartmann6_p(p: Mapping[str, Any]) -> float:
    return hartmann6(_vec(p, 6))


def _rosenbrock4_p(p: Mapping[str, Any]) -> float:
    return rosenbrock(_vec(p, 4))


def _levy10_p(p: Mapping[str, Any]) -> float:
    return levy(_vec(p, 10))


def _ackley10_p(p: Mapping[str, Any]) -> float:
    return ackley(_vec(p, 10))


# --- the real task --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    half, _ = next(StratifiedShuffleSplit(n_splits=1, train_size=900, random_state=0).split(X, y))
    X, y = X[half], y[half]
    folds = list(StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(X, y))
    return X, y, folds


def svm_digits(p: Mapping[str, Any]) -> float:
    """1 - mean 3-fold CV accuracy of an SVC on 900 of the digits (fixed subset and folds)."""
    from sklearn.svm import SVC

    X, y, folds = _digits()
    accs = []
    for tr, te in folds:
        clf = SVC(C=float(p["C"]), gamma=float(p["gamma"]), kernel=str(p["kernel"]), degree=int(p["degree"]))
        clf.fit(X[tr], y[tr])
        accs.append(float(np.mean(clf.predict(X[te]) == y[te])))
    return 1.0 - float(np.mean(accs))


PROBLEMS: dict[str, Problem] = {
    "branin": Problem(
        "branin",
        "Branin (2-D)",
        (Param("x0", "float", -5.0, 10.0), Param("x1", "float", 0.0, 15.0)),
        _branin_p,
        BRANIN_OPT,
        50,
        x_opt={"x0": math.pi, "x1": 2.275},
        tags=("synthetic",),
    ),
    "hartmann6": Problem(
        "hartmann6",
        "Hartmann-6",
        _box(6, 0.0, 1.0),
        _hartmann6_p,
        HARTMANN6_OPT,
        50,
        x_opt={f"x{i}": v for i, v in enumerate(H6_XOPT)},
        tags=("synthetic",),
    ),
    "rosenbrock4": Problem(
        "rosenbrock4",
        "Rosenbrock-4",
        _box(4, -5.0, 10.0),
        _rosenbrock4_p,
        0.0,
        50,
        x_opt={f"x{i}": 1.0 for i in range(4)},
        notes="values from 0 to ~1e6: a test of output warping",
        tags=("synthetic", "hard"),
    ),
    "levy10": Problem(
        "levy10",
        "Levy-10",
        _box(10, -10.0, 10.0),
        _levy10_p,
        0.0,
        50,
        x_opt={f"x{i}": 1.0 for i in range(10)},
        notes="10-D, many local minima",
        tags=("synthetic", "hard"),
    ),
    "ackley10": Problem(
        "ackley10",
        "Ackley-10",
        _box(10, -32.768, 32.768),
        _ackley10_p,
        0.0,
        50,
        x_opt={f"x{i}": 0.0 for i in range(10)},
        notes="10-D, nearly flat away from a narrow basin",
        tags=("synthetic", "hard", "extra"),
    ),
    "svm_digits": Problem(
        "svm_digits",
        "SVM on digits (real task)",
        (
            Param("C", "float", 1e-2, 1e4, log=True),
            Param("gamma", "float", 1e-5, 1e1, log=True),
            Param("kernel", "cat", choices=("rbf", "poly", "sigmoid")),
            Param("degree", "int", 2, 5),
        ),
        svm_digits,
        None,
        30,
        notes="1 - 3-fold CV accuracy; log, int and categorical parameters",
        tags=("real",),
    ),
}

#: the suite run by default (ackley10 only on request: --problems)
DEFAULT_PROBLEMS = ("branin", "hartmann6", "rosenbrock4", "levy10", "svm_digits")


def get_problem(name: str) -> Problem:
    try:
        return PROBLEMS[name]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; known: {sorted(PROBLEMS)}") from None
