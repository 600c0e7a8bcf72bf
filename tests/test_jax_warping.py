"""``jax_gp.warping``: output warping is monotone, standardised and robust to outliers."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from hpo_sweeper.engines.jax_gp.warping import warp  # noqa: E402


def test_warp_is_monotone_standardised_and_robust() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal(40) ** 3
    z = warp(y)
    assert np.all(np.diff(z[np.argsort(y)]) >= -1e-12)
    np.testing.assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=1e-12)
    # A single 1e12 must not flatten the others: their spread stays O(1).
    y_out = np.append(y, 1e12)
    z_out = warp(y_out)
    assert np.std(z_out[:-1]) > 0.5 and np.argmax(z_out) == 40
    assert np.all(warp(np.full(7, 3.0)) == 0) and warp(np.array([2.0])).tolist() == [0.0]
