"""One-thread settings for benchmark processes; import before numpy, scipy, torch or jax.

Every worker is pinned to one thread so that two workers on two cores do not fight over
them and so that timings are comparable between methods. ``pin_threads()`` sets the
environment (inherited by spawned workers and subprocesses) and, once the libraries are
loaded, limits their thread pools too.
"""

from __future__ import annotations

import os

THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore",
}


def pin_threads() -> None:
    for k, v in THREAD_ENV.items():
        if k == "XLA_FLAGS" and os.environ.get(k):
            if "xla_cpu_multi_thread_eigen" not in os.environ[k]:
                os.environ[k] = os.environ[k] + " " + v
            continue
        os.environ[k] = v
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:
        pass
