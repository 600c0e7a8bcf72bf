"""The JAX Gaussian-process engine (``backend="jax"``).

Import-light on purpose: JAX is imported by ``engine`` only, which ``BayesOptimizer``
loads when the jax backend is chosen. Modules: ``numerics`` (safeguards), ``kernels``,
``gp`` (fit, posterior, conditioning), ``acquisition``, ``warping``, ``optim`` (L-BFGS),
``engine`` (``JaxEngine``).
"""

from __future__ import annotations

__all__ = ["JaxEngine"]


def __getattr__(name: str) -> object:
    if name == "JaxEngine":  # lazy: importing the package must not import jax
        from hpo_sweeper.engines.jax_gp.engine import JaxEngine

        return JaxEngine
    raise AttributeError(name)
