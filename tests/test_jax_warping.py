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


def test_power_warping_is_monotone_standardised_and_tames_a_skewed_tail() -> None:
    rng = np.random.default_rng(0)
    for y in (np.exp(2 * rng.standard_normal(40)),  # positive: Box-Cox
              rng.standard_normal(40) ** 3):  # signed: Yeo-Johnson
        z = warp(y, "power")
        assert np.all(np.diff(z[np.argsort(y)]) >= -1e-12)
        np.testing.assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=1e-9)
    # A log-normal sample is Box-Cox's lambda = 0 case: the warped values are near-Gaussian,
    # so their skewness drops from ~6 (raw) to near 0 (|skew| < 0.5 has margin at n = 40).
    y = np.exp(2 * rng.standard_normal(40))
    from scipy.stats import skew

    assert skew(y) > 2 and abs(skew(warp(y, "power"))) < 0.5
    assert np.all(warp(np.full(5, 3.0), "power") == 0) and warp(np.array([1.0, 2.0]), "power").std() > 0.99
