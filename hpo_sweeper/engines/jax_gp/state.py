"""The JAX engine's explicit state: what ``init`` builds and ``suggest`` threads through.

Immutable: ``suggest`` returns a new ``EngineState`` (``_replace``) and never writes to
the one it was given, so the same state and key always give the same proposals.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hpo_sweeper.engines.jax_gp import gp
from hpo_sweeper.engines.jax_gp.candidates import CandidateSampler
from hpo_sweeper.engines.jax_gp.config import JaxConfig
from hpo_sweeper.engines.jax_gp.numerics import Safeguards
from hpo_sweeper.space import FeatureLayout

__all__ = ["EngineState", "Statics"]


class Statics(NamedTuple):
    """Fixed for the life of the engine: derived from the layout and the config."""

    config: JaxConfig
    layout: FeatureLayout
    sg: Safeguards
    sampler: CandidateSampler
    enumerate_cats: bool
    levels: Any  # (n_numeric, Lmax) unit levels, +inf padded, on the engine's device
    n_levels: Any  # (n_numeric,) int32
    default_device: bool  # the engine runs on JAX's default device (numpy inputs are cheaper there)


class EngineState(NamedTuple):
    """Everything that changes from call to call (host numpy, tiny)."""

    static: Statics
    #: host random stream of the hyperparameter restarts and GP-Hedge's choice; copied
    #: before use, never advanced in place
    rng: np.random.Generator
    #: GP-Hedge's running gains, one per arm (``config.HEDGE_ARMS``)
    hedge_gains: np.ndarray
    #: diagnostics of the last fit: theta, value, full, kind, n, bucket
    last_fit: dict[str, Any]
    #: the last fitted hyperparameters (warm start), None before the first fit
    theta: np.ndarray | None = None
    #: the last posterior and the observed features it holds (for ``extend``)
    model: tuple[gp.Posterior, np.ndarray] | None = None
    #: observations at the last full fit
    full_fit_n: int = 0
    #: GP-Hedge's nominees of the last call, (arms, D)
    hedge_nominees: np.ndarray | None = None
