"""``jax_gp.schedule``: the refit policy as a pure function, table-tested."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_sweeper.engines.jax_gp.schedule import (
    INCREMENTAL_BUCKET,
    REFINE_STEPS,
    fit_kind,
    fit_starts,
    n_random_starts,
)

# (n_obs, N, has_previous, full_fit_n) -> kind, with full_fit_below=16, refit_growth=1.1
CASES = [
    (10, 64, False, 0, "full"),  # nothing to warm-start from
    (16, 64, True, 15, "full"),  # small data: always a full fit
    (17, 64, True, 16, "refine"),  # grew by < 10 %
    (18, 64, True, 16, "full"),  # grew by >= 10 % (17.6)
    (300, 512, True, 290, "extend"),  # large bucket between full fits: keep the hyperparameters
    (300, 512, True, 272, "full"),  # 300 >= 1.1 * 272
    (200, 256, True, 190, "extend"),
    (200, 128, True, 190, "refine"),  # below INCREMENTAL_BUCKET
]


@pytest.mark.parametrize(("n_obs", "N", "has_previous", "full_fit_n", "kind"), CASES)
def test_fit_kind(n_obs: int, N: int, has_previous: bool, full_fit_n: int, kind: str) -> None:
    assert fit_kind(n_obs, N, has_previous, full_fit_n, full_fit_below=16, refit_growth=1.1) == kind


def test_incremental_bucket_is_a_bucket() -> None:
    assert INCREMENTAL_BUCKET & (INCREMENTAL_BUCKET - 1) == 0


def test_full_fit_starts_from_previous_default_and_random() -> None:
    prev, default = np.full(5, 1.0), np.full(5, 2.0)
    random = np.full((2, 5), 3.0)
    theta0, maxiter = fit_starts("full", prev, default, random, 4, 100)
    np.testing.assert_array_equal(theta0[:, 0], [1.0, 2.0, 3.0, 3.0])
    np.testing.assert_array_equal(maxiter, [100] * 4)
    theta0, _ = fit_starts("full", None, default, np.full((3, 5), 3.0), 4, 100)
    np.testing.assert_array_equal(theta0[:, 0], [2.0, 3.0, 3.0, 3.0])
    assert n_random_starts(None, 4) == 3 and n_random_starts(prev, 4) == 2 and n_random_starts(prev, 1) == 0


def test_refinement_gives_its_steps_to_the_previous_optimum_only() -> None:
    prev = np.arange(5.0)
    theta0, maxiter = fit_starts("refine", prev, np.zeros(5), np.zeros((0, 5)), 4, 100)
    assert theta0.shape == (4, 5) and np.all(theta0 == prev)
    np.testing.assert_array_equal(maxiter, [REFINE_STEPS, 0, 0, 0])
