"""The benchmark suite: our sweepers side by side with Optuna and scikit-optimize.

    python -m benchmarks.run --quick   # a few minutes
    python -m benchmarks.run           # the full suite (under an hour on 2 cores)

Modules: ``problems`` (test functions and the real task), ``methods`` (the optimisers behind
one ask/tell interface), ``regret`` (sample efficiency), ``overhead`` (time per suggestion),
``end_to_end`` (real Hydra multiruns), ``report`` (RESULTS.md and plots), ``run`` (the command).
"""
