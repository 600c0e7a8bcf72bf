"""Output warping: objective values (minimised) -> standardised GP targets.

Notation: ``y: (n,)`` raw values to minimise, ``z: (n,)`` GP targets.

Hyperparameter objectives have heavy upper tails (a diverged run, a 1e12 loss); fed
raw to a GP, one such value becomes the whole variance and flattens every other
difference to ~0. What matters to a minimiser is the lower (good) half, so
(as in OSS Vizier's half-rank warping, mirrored for minimisation):

* the good half (``y <= median``) keeps its scale, so the model stays precise near the
  optimum; only deviations beyond ``_GOOD_TAIL`` median absolute deviations are log-compressed,
  so a single huge *improvement* cannot flatten the model either;
* the bad half (``y > median``) is replaced by Gaussian quantiles of its ranks, scaled
  like the good half: order is kept, magnitudes are forgotten, outliers are harmless;
* the result is standardised (mean 0, std 1; a constant objective gives all zeros).

The map is monotone, so the incumbent is unchanged. Pure numpy: n is small and this
runs once per ``suggest``.

``kind="power"`` (HEBO's, Cowen-Rivers et al. 2022): a Box-Cox transform when every value
is positive, else Yeo-Johnson, its lambda fitted by maximum likelihood (scipy), then
standardised; both are monotone increasing for every lambda. If the fit fails or is not
finite, plain standardisation.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

__all__ = ["WARPINGS", "warp"]

WARPINGS = ("half_rank", "standardize", "power")

#: good-half deviations beyond this many median absolute deviations are compressed logarithmically
_GOOD_TAIL = 8.0


def warp(y: np.ndarray, kind: str = "half_rank") -> np.ndarray:
    """(n,) values to minimise -> (n,) standardised targets; monotone non-decreasing.

    ``kind="standardize"`` skips the warping (for objectives known to be well behaved).
    """
    y = np.asarray(y, dtype=float)
    n = y.shape[0]
    if n == 0:
        return y.copy()
    if kind == "standardize":
        return _standardize(y)
    if kind == "power":
        return _power(y)
    med = float(np.median(y))
    dev = med - y  # >= 0 on the good half
    good = dev >= 0
    # Robust scale for the compressed tail: the median absolute deviation of all values
    # (one extreme value, on either side, cannot move it).
    absdev = np.abs(dev)
    typical = float(np.median(absdev))
    if typical <= 0:  # more than half tie at the median
        typical = float(np.mean(absdev[absdev > 0])) if np.any(absdev > 0) else 0.0
    w = y.copy()
    if typical > 0:
        tau = _GOOD_TAIL * typical
        far = good & (dev > tau)
        w[far] = med - tau * (1.0 + np.log1p((dev[far] - tau) / tau))
    good_scale = float(np.sqrt(np.mean((med - w[good]) ** 2))) if np.any(good) else 0.0
    bad = ~good
    if np.any(bad):
        if good_scale <= 0:  # e.g. more than half the values tie at the minimum
            spread = y[bad] - med
            good_scale = float(np.median(spread)) if np.all(np.isfinite(spread)) else 1.0
            good_scale = good_scale if good_scale > 0 else 1.0
        q = (rankdata(y, method="average") - 0.5) / n  # in (0, 1), > 0.5 on the bad half
        # Normal quantiles with the good half's scale: the RMS deviation of a half-normal
        # is its sigma, so the bad half continues the good half's spread.
        w[bad] = med + good_scale * np.maximum(ndtri(q[bad]), 0.0)
    return _standardize(w)


def _power(y: np.ndarray) -> np.ndarray:
    from scipy import stats

    sd = float(np.std(y))
    if len(y) < 3 or not np.isfinite(sd) or sd <= 0:
        return _standardize(y)
    u = y / sd  # as HEBO: the transforms' lambda search is better conditioned at unit scale
    try:
        with np.errstate(all="ignore"):
            t = stats.boxcox(u)[0] if np.min(u) > 0 else stats.yeojohnson(u)[0]
    except (ValueError, FloatingPointError):
        return _standardize(y)
    t = np.asarray(t, dtype=float)
    return _standardize(t) if np.all(np.isfinite(t)) else _standardize(y)


def _standardize(w: np.ndarray) -> np.ndarray:
    w = w - np.mean(w)
    sd = float(np.std(w))
    if not np.isfinite(sd) or sd < 1e-12 * max(1.0, float(np.max(np.abs(w)))) or sd == 0.0:
        return np.zeros(len(w))
    return w / sd
