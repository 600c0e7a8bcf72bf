"""The JAX Gaussian-process engine (``backend="jax"``).

Import-light on purpose: importing this package does not import JAX; ``engine`` does,
and ``BayesOptimizer`` loads it only when the jax backend is chosen. Modules, in the
order a call meets them:

* ``config``: ``JaxConfig``, the validated options;
* ``state``: ``EngineState``, the explicit state threaded through ``suggest``;
* ``engine``: ``init(layout, config)`` and ``suggest(state, X, y, X_pending, q, key)``;
* ``padding``: power-of-two buckets; ``schedule``: when to refit the hyperparameters;
* ``warping`` (targets), ``gp`` (fit, posterior, conditioning), ``kernels``,
  ``numerics`` (safeguards), ``optim`` (L-BFGS);
* ``candidates`` (host-side candidate generation), ``acquisition`` (log-EI, log-PI,
  LCB and their maximisation);
* ``blas_threads``: one BLAS thread while the engine runs on CPU.
"""

from __future__ import annotations
