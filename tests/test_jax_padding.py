"""``jax_gp.padding``: power-of-two buckets and the one padding helper."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")

from hpo_sweeper.engines.jax_gp.padding import MIN_BUCKET, bucket, pad


@pytest.mark.parametrize(
    ("size", "expected"), [(0, MIN_BUCKET), (1, MIN_BUCKET), (64, 64), (65, 128), (128, 128), (129, 256), (1000, 1024)]
)
def test_bucket_is_the_next_power_of_two_at_least_64(size: int, expected: int) -> None:
    assert bucket(size) == expected


def test_compilations_grow_with_log_n() -> None:
    assert len({bucket(n) for n in range(1, 2049)}) == 6  # 64 .. 2048


def test_pad_puts_real_rows_first_and_masks_the_rest() -> None:
    rng = np.random.default_rng(0)
    X, z = rng.random((5, 3)), rng.standard_normal(5)
    placed: list[np.ndarray] = []

    def put(a: np.ndarray) -> np.ndarray:
        placed.append(a)
        return a

    data = pad(X, z, 8, put)
    assert data.X.shape == (8, 3) and data.z.shape == (8,) and data.mask.shape == (8,)
    np.testing.assert_array_equal(data.X[:5], X)
    np.testing.assert_array_equal(data.z[:5], z)
    np.testing.assert_array_equal(data.mask, [1, 1, 1, 1, 1, 0, 0, 0])
    assert not np.any(data.X[5:]) and not np.any(data.z[5:])
    assert len(placed) == 3  # every array goes through the engine's placement
