"""The contract between ``BayesOptimizer`` (the front) and a GP engine: arrays in, arrays out.

An engine is a pair of pure-ish functions over an explicit state, in the spirit of optax
and Vizier, plus the function that validates its options:

* ``make_config(acq_func=, xi=, kappa=, batch_strategy=, seed=, **engine_options) -> config``
  a frozen, validated configuration; a bad option raises ``OptimizerError`` naming it;
* ``init(layout, config) -> state``;
* ``suggest(state, X, y, X_pending, q, key) -> (X_new, state)``.

Notation: ``n`` observations, ``p`` pending points, ``q`` proposals, ``D`` feature columns
(``SearchSpace.layout``: numeric columns in [0, 1], categoricals one-hot).

* ``X: (n, D)`` observed features in tell order, ``y: (n,)`` their values, to be MINIMISED,
  all finite; the front encodes each trial once, when it is told.
* ``X_pending: (p, D)``: proposed, not yet evaluated (running jobs, earlier members of the
  same batch); a proposal must spread away from them (async sweeps and batches alike).
* ``X_new: (q, D)``: valid features (numeric levels snapped, one-hot categoricals), distinct
  from each other and, as far as the engine can tell, from ``X`` and ``X_pending`` (the
  front replaces any repeat that remains). The front decodes them once.
* ``key``: ``(entropy, call)`` integers, all the randomness a call may use besides the
  state, so that the same state, data and key give the same proposals.

The returned state replaces the one passed in. The JAX engine never mutates its input
state (``suggest`` is pure); the skopt engine's state wraps a ``skopt.Optimizer`` that is
updated in place (copying it would cost as much as the GP fit), so its old state must
not be reused.

``y`` holds one objective today; several objectives (issue 16) will arrive as ``y: (n, m)``
with the same calls.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_sweeper.space import FeatureLayout

__all__ = ["Engine", "Key", "check_arrays", "load_engine"]

#: (entropy, call index): seeds every random stream of one ``suggest`` call
Key = tuple[int, int]


@dataclass(frozen=True)
class Engine:
    """An engine's three functions (see the module docstring)."""

    name: str
    make_config: Callable[..., Any]
    init: Callable[[FeatureLayout, Any], Any]
    suggest: Callable[[Any, np.ndarray, np.ndarray, np.ndarray, int, Key], tuple[np.ndarray, Any]]


#: backend -> module defining ``make_config``, ``init`` and ``suggest``; imported when chosen
ENGINE_MODULES: dict[str, str] = {
    "skopt": "hpo_sweeper.engines.skopt_engine",
    "jax": "hpo_sweeper.engines.jax_gp.engine",
}


def load_engine(backend: str) -> Engine:
    module = importlib.import_module(ENGINE_MODULES[backend])
    return Engine(backend, module.make_config, module.init, module.suggest)


def check_arrays(
    layout: FeatureLayout, X: Any, y: Any, X_pending: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shared first step of every engine's ``suggest``: float arrays of the right shapes."""
    D = layout.n_features
    X = np.asarray(X, dtype=float).reshape(-1, D)
    y = np.asarray(y, dtype=float).reshape(-1)
    X_pending = np.asarray(X_pending, dtype=float).reshape(-1, D)
    if len(X) != len(y):
        raise ValueError(f"suggest() got {len(X)} points but {len(y)} values")
    return X, y, X_pending
