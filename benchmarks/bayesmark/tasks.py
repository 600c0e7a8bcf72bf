"""Bayesmark's test cases: model x dataset x metric, each a cross-validated loss to minimise.

As in ``bayesmark/sklearn_funcs.py`` (``SklearnModel``): the bundled dataset, unscaled, is split once
into 80 % for tuning and 20 % held out (``train_test_split(test_size=0.2, random_state=0,
shuffle=True)``); the objective is the mean loss over ``cross_val_score(..., cv=5)`` on the 80 %
(stratified 5-fold, unshuffled, for classifiers; plain 5-fold for regressors). Only this visible
cross-validation loss is computed (the held-out "generalization" loss Bayesmark also records is not
what an optimiser sees, and would cost another fit per trial).

Datasets: digits, iris, wine, breast (cancer) for classification, with the metrics ``acc``
(reported as the error rate 1 - accuracy: Bayesmark minimises -accuracy; the normalised score
is the same under any affine change) and ``nll`` (log loss); diabetes for regression with ``mse``
and ``mae``. Bayesmark's boston is gone from scikit-learn (1.2). 4 x 9 x 2 + 1 x 9 x 2 = 90 tasks.

A configuration whose fit raises or whose loss is not finite (an MLP that diverges, say) gets the
loss of scikit-learn's ``Dummy`` model (class priors / the mean) under the same folds: "learnt
nothing", finite, so every optimiser can be told a number; ``Task.failures`` counts them.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.bayesmark.models import MODEL_NAMES, ModelSpec, get_model, logit, unwarp
from benchmarks.problems import Param, Problem

__all__ = ["ALL_TASKS", "CLF_DATASETS", "METRICS", "REG_DATASETS", "Task", "get_task", "task_name"]

CLF_DATASETS = ("digits", "iris", "wine", "breast")
REG_DATASETS = ("diabetes",)
METRICS = {"clf": ("acc", "nll"), "reg": ("mse", "mae")}
CV_SPLITS = 5
#: scikit-learn scorer per metric; each is a score (higher is better), negated into a loss
_SCORER = {"acc": "accuracy", "nll": "neg_log_loss", "mse": "neg_mean_squared_error",
           "mae": "neg_mean_absolute_error"}


def task_name(model: str, dataset: str, metric: str) -> str:
    return f"{model}_{dataset}_{metric}"


ALL_TASKS: tuple[str, ...] = tuple(
    task_name(m, d, k)
    for d in CLF_DATASETS + REG_DATASETS
    for m in MODEL_NAMES
    for k in METRICS["clf" if d in CLF_DATASETS else "reg"]
)


@functools.cache
def _data(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loaders = {"digits": datasets.load_digits, "iris": datasets.load_iris, "wine": datasets.load_wine,
               "breast": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}
    X, y = loaders[dataset](return_X_y=True)
    X_tune, _, y_tune, _ = train_test_split(X.astype(float), y, test_size=0.2, random_state=0, shuffle=True)
    return X_tune, y_tune


@dataclass
class Task:
    model: str
    dataset: str
    metric: str
    failures: int = 0

    @property
    def name(self) -> str:
        return task_name(self.model, self.dataset, self.metric)

    @property
    def classification(self) -> bool:
        return self.dataset in CLF_DATASETS

    @property
    def spec(self) -> ModelSpec:
        return get_model(self.model, self.classification)

    def _cv_loss(self, estimator: Any) -> float:
        from sklearn.model_selection import cross_val_score

        X, y = _data(self.dataset)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: optimisers try odd settings on purpose
            scores = cross_val_score(estimator, X, y, scoring=_SCORER[self.metric], cv=CV_SPLITS,
                                     error_score="raise")
        loss = -float(np.mean(scores))
        return 1.0 + loss if self.metric == "acc" else loss  # acc: -accuracy -> error rate

    @functools.cached_property
    def fallback(self) -> float:
        """The loss of a model that learnt nothing, told for a configuration that fails."""
        from sklearn.dummy import DummyClassifier, DummyRegressor

        return self._cv_loss(DummyClassifier(strategy="prior") if self.classification else DummyRegressor())

    def __call__(self, params: Mapping[str, Any]) -> float:
        kwargs = unwarp(self.spec.space, params)
        try:
            loss = self._cv_loss(self.spec.build(kwargs, self.metric))
        except (ValueError, FloatingPointError, ArithmeticError):
            loss = math.nan
        if not math.isfinite(loss):
            self.failures += 1
            return self.fallback
        return loss

    def problem(self) -> Problem:
        """The task as a ``benchmarks.problems.Problem``, so every method adapter takes it as it is."""
        params = []
        for sp in self.spec.space:
            if sp.kind == "bool":
                params.append(Param(sp.name, "cat", choices=(False, True)))
            elif sp.kind == "int":
                params.append(Param(sp.name, "int", sp.low, sp.high, log=sp.warp == "log"))
            elif sp.warp == "logit":
                params.append(Param(sp.name, "float", logit(sp.low), logit(sp.high)))
            else:
                params.append(Param(sp.name, "float", sp.low, sp.high, log=sp.warp == "log"))
        return Problem(self.name, f"{self.model} on {self.dataset} ({self.metric})", tuple(params), self, None,
                       0, tags=("real", "bayesmark"))


def get_task(name: str) -> Task:
    try:
        model, dataset, metric = name.rsplit("_", 2)
    except ValueError:
        raise KeyError(f"unknown task {name!r}: expected MODEL_DATASET_METRIC, e.g. SVM_digits_acc") from None
    if name not in ALL_TASKS:
        raise KeyError(f"unknown task {name!r}; models {list(MODEL_NAMES)}, datasets "
                       f"{list(CLF_DATASETS + REG_DATASETS)}, metrics {METRICS}")
    return Task(model, dataset, metric)
