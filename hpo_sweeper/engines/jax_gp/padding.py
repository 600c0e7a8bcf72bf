"""Padding to power-of-two buckets: the one place that pads (``gp.py`` explains why
padding is invisible to the model).

Every jitted function sees only bucket-shaped arrays, so a sweep compiles each function
once per bucket: O(log n) compilations, not one per call. Real rows come first
(``mask == 1``); padded rows are zeros with ``mask == 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from hpo_sweeper.engines.jax_gp import gp

__all__ = ["MIN_BUCKET", "bucket", "pad"]

#: smallest padded size: one compilation serves every sweep of up to ~60 trials (most of
#: them), and at this size the padded algebra still costs only milliseconds
MIN_BUCKET = 64


def bucket(size: int) -> int:
    """The padded size ``N = max(64, 2^ceil(log2(size)))``."""
    return max(MIN_BUCKET, 1 << max(0, math.ceil(math.log2(max(size, 1)))))


def pad(X: np.ndarray, z: np.ndarray, N: int, put: Callable[[np.ndarray], Any]) -> gp.Data:
    """``X: (n, D)``, ``z: (n,)`` -> ``gp.Data`` of ``N`` rows, placed by ``put``."""
    n, D = X.shape
    Xp, zp, mask = np.zeros((N, D)), np.zeros(N), np.zeros(N)
    Xp[:n], zp[:n], mask[:n] = X, z, 1.0
    return gp.Data(put(Xp), put(zp), put(mask))
