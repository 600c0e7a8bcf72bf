"""A Bayesmark-style suite of real tuning tasks: scikit-learn models x bundled datasets x metrics.

    python -m benchmarks.run --only bayesmark --quick   # a few minutes
    python -m benchmarks.run --only bayesmark           # the full grid (hours on 2 cores)

Rebuilt from the published design of Bayesmark (uber/bayesmark, the benchmark of the NeurIPS 2020
black-box optimisation challenge), whose package pins numpy 1.16 and scikit-learn 0.20 and so
cannot be installed here. Modules: ``models`` (the 9 models and their search spaces), ``tasks``
(model x dataset x metric as a cross-validated objective), ``score`` (Bayesmark's normalised mean
score), ``run`` (the command and its BAYESMARK.md table).
"""
