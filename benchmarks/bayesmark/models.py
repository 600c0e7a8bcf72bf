"""The 9 Bayesmark models, their fixed settings and their published search spaces.

Search spaces follow ``bayesmark/sklearn_funcs.py``: each parameter is ``int``, ``real`` or
``bool`` with a ``linear``, ``log`` or ``logit`` warping. Our space grammar has linear and log
floats and ints, and categoricals, so:

* ``log`` -> ``log=True`` (the same warping);
* ``bool`` -> a categorical ``(False, True)``;
* ``logit`` (a fraction in (0, 1) searched as ``log(x / (1 - x))``) has no counterpart. Rather than
  flatten it to a linear float, every method searches the *warped* value: a linear float on
  ``[logit(low), logit(high)]`` that the task maps back with the logistic function (and clips to
  ``[low, high]``), as Bayesmark's own ``JointSpace`` hands a warped space to an optimiser. So
  random search, like Bayesmark's, is uniform in logit space for these parameters.

Deviations forced by scikit-learn since 0.20, or chosen for reproducibility:

* ``normalize`` of Lasso/Ridge (regression) was removed in scikit-learn 1.2: left out of those spaces;
* ``multi_class="ovr"`` of LogisticRegression was deprecated in 1.5: the same one-vs-rest fit is
  made by ``OneVsRestClassifier`` around the liblinear model;
* every estimator with a ``random_state`` gets ``random_state=0``: Bayesmark left it unset, which
  makes its objectives noisy between calls at the same point; fixed, a run is reproducible and
  every method sees the same function;
* SVC's ``probability=True`` is set only for the NLL metric: ``predict`` never uses Platt
  scaling, so the accuracy is the same without it, at a fifth of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MODEL_NAMES", "ModelSpec", "SpaceParam", "get_model", "unwarp"]

MODEL_NAMES = ("DT", "MLP-adam", "MLP-sgd", "RF", "SVM", "ada", "kNN", "lasso", "linear")


@dataclass(frozen=True)
class SpaceParam:
    """One Bayesmark parameter: ``kind`` int | real | bool, ``warp`` linear | log | logit."""

    name: str
    kind: str
    warp: str = "linear"
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    #: builds the estimator from the searched parameters (already unwarped) and the metric
    build: Callable[[dict[str, Any], str], Any]
    space: tuple[SpaceParam, ...]


def _i(name: str, low: int, high: int, warp: str = "linear") -> SpaceParam:
    return SpaceParam(name, "int", warp, low, high)


def _r(name: str, low: float, high: float, warp: str = "linear") -> SpaceParam:
    return SpaceParam(name, "real", warp, low, high)


def _b(name: str) -> SpaceParam:
    return SpaceParam(name, "bool")


# --- the published spaces (bayesmark/sklearn_funcs.py) --------------------------------------

KNN = (_i("n_neighbors", 1, 25), _i("p", 1, 4))
SVM = (_r("C", 1.0, 1e3, "log"), _r("gamma", 1e-4, 1e-3, "log"), _r("tol", 1e-5, 1e-1, "log"))
_TREE = (
    _i("max_depth", 1, 15),
    _r("min_samples_split", 0.01, 0.99, "logit"),
    _r("min_samples_leaf", 0.01, 0.49, "logit"),
    _r("min_weight_fraction_leaf", 0.01, 0.49, "logit"),
    _r("max_features", 0.01, 0.99, "logit"),
    _r("min_impurity_decrease", 0.0, 0.5),
)
_MLP_COMMON = (
    _i("hidden_layer_sizes", 50, 200),
    _r("alpha", 1e-5, 1e1, "log"),
    _i("batch_size", 10, 250),
    _r("learning_rate_init", 1e-5, 1e-1, "log"),
)
MLP_ADAM = _MLP_COMMON + (
    _r("tol", 1e-5, 1e-1, "log"),
    _r("validation_fraction", 0.1, 0.9, "logit"),
    _r("beta_1", 0.5, 0.99, "logit"),
    _r("beta_2", 0.9, 1.0 - 1e-6, "logit"),
    _r("epsilon", 1e-9, 1e-6, "log"),
)
MLP_SGD = _MLP_COMMON + (
    _r("power_t", 0.1, 0.9, "logit"),
    _r("tol", 1e-5, 1e-1, "log"),
    _r("momentum", 0.001, 0.999, "logit"),
    _r("validation_fraction", 0.1, 0.9, "logit"),
)
ADA = (_i("n_estimators", 10, 100), _r("learning_rate", 1e-4, 1e1, "log"))
LOGREG = (_r("C", 1e-2, 1e2, "log"), _r("intercept_scaling", 1e-2, 1e2, "log"))
# regression lasso / linear: Bayesmark's ``normalize`` (bool) is gone from scikit-learn (>= 1.2)
LASSO_REG = (_r("alpha", 1e-2, 1e2, "log"), _b("fit_intercept"), _i("max_iter", 10, 5000, "log"),
             _r("tol", 1e-5, 1e-1, "log"), _b("positive"))
RIDGE_REG = (_r("alpha", 1e-2, 1e2, "log"), _b("fit_intercept"), _i("max_iter", 10, 5000, "log"),
             _r("tol", 1e-4, 1e-1, "log"))


# --- estimators -----------------------------------------------------------------------------


def _mlp(clf: bool, solver: str) -> Callable[[dict[str, Any], str], Any]:
    def build(p: dict[str, Any], metric: str) -> Any:
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        p = {**p, "hidden_layer_sizes": (int(p["hidden_layer_sizes"]),)}
        fixed: dict[str, Any] = {"solver": solver, "early_stopping": True, "random_state": 0}
        if solver == "sgd":
            fixed.update(learning_rate="invscaling", nesterovs_momentum=True)
            if not clf:
                fixed["activation"] = "tanh"  # Bayesmark: "regression crashes often with relu"
        return (MLPClassifier if clf else MLPRegressor)(**fixed, **p)

    return build


def _knn(clf: bool) -> Callable[[dict[str, Any], str], Any]:
    def build(p: dict[str, Any], metric: str) -> Any:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        return (KNeighborsClassifier if clf else KNeighborsRegressor)(**p)

    return build


def _svm(clf: bool) -> Callable[[dict[str, Any], str], Any]:
    def build(p: dict[str, Any], metric: str) -> Any:
        from sklearn.svm import SVC, SVR

        if clf:
            return SVC(kernel="rbf", probability=metric == "nll", random_state=0, **p)
        return SVR(kernel="rbf", **p)

    return build


def _tree(clf: bool, forest: bool) -> Callable[[dict[str, Any], str], Any]:
    def build(p: dict[str, Any], metric: str) -> Any:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        if forest:
            cls = RandomForestClassifier if clf else RandomForestRegressor
            return cls(n_estimators=10, max_leaf_nodes=None, random_state=0, **p)
        cls = DecisionTreeClassifier if clf else DecisionTreeRegressor
        return cls(max_leaf_nodes=None, random_state=0, **p)

    return build


def _ada(clf: bool) -> Callable[[dict[str, Any], str], Any]:
    def build(p: dict[str, Any], metric: str) -> Any:
        from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor

        return (AdaBoostClassifier if clf else AdaBoostRegressor)(random_state=0, **p)

    return build


def _logreg(penalty: str) -> Callable[[dict[str, Any], str], Any]:
    def build(p: dict[str, Any], metric: str) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(LogisticRegression(penalty=penalty, fit_intercept=True, solver="liblinear",
                                                      random_state=0, **p))

    return build


def _lasso(p: dict[str, Any], metric: str) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(random_state=0, **p)


def _ridge(p: dict[str, Any], metric: str) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(solver="auto", **p)


_CLF: dict[str, ModelSpec] = {
    "kNN": ModelSpec("kNN", _knn(True), KNN),
    "SVM": ModelSpec("SVM", _svm(True), SVM),
    "DT": ModelSpec("DT", _tree(True, False), _TREE),
    "RF": ModelSpec("RF", _tree(True, True), _TREE),
    "MLP-adam": ModelSpec("MLP-adam", _mlp(True, "adam"), MLP_ADAM),
    "MLP-sgd": ModelSpec("MLP-sgd", _mlp(True, "sgd"), MLP_SGD),
    "ada": ModelSpec("ada", _ada(True), ADA),
    "lasso": ModelSpec("lasso", _logreg("l1"), LOGREG),
    "linear": ModelSpec("linear", _logreg("l2"), LOGREG),
}
_REG: dict[str, ModelSpec] = {
    "kNN": ModelSpec("kNN", _knn(False), KNN),
    "SVM": ModelSpec("SVM", _svm(False), SVM),
    "DT": ModelSpec("DT", _tree(False, False), _TREE),
    "RF": ModelSpec("RF", _tree(False, True), _TREE),
    "MLP-adam": ModelSpec("MLP-adam", _mlp(False, "adam"), MLP_ADAM),
    "MLP-sgd": ModelSpec("MLP-sgd", _mlp(False, "sgd"), MLP_SGD),
    "ada": ModelSpec("ada", _ada(False), ADA),
    "lasso": ModelSpec("lasso", _lasso, LASSO_REG),
    "linear": ModelSpec("linear", _ridge, RIDGE_REG),
}
assert sorted(_CLF) == sorted(_REG) == sorted(MODEL_NAMES)


def get_model(name: str, classification: bool) -> ModelSpec:
    table = _CLF if classification else _REG
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {list(MODEL_NAMES)}") from None


# --- warping --------------------------------------------------------------------------------


def logit(x: float) -> float:
    return math.log(x / (1.0 - x))


def logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def unwarp(space: tuple[SpaceParam, ...], params: Mapping[str, Any]) -> dict[str, Any]:
    """The searched values (logit parameters in logit units) -> the estimator's keyword arguments."""
    out: dict[str, Any] = {}
    for sp in space:
        v = params[sp.name]
        if sp.kind == "int":
            v = int(v)
        elif sp.kind == "bool":
            v = bool(v)
        else:
            v = float(v)
            if sp.warp == "logit":
                v = min(max(logistic(v), sp.low), sp.high)  # as Bayesmark clips after unwarping
        out[sp.name] = v
    return out
