"""benchmarks/multiobjective/mlp_table.py: the tabulated example app of the hypervolume benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.multiobjective import mlp_table


def test_the_table_is_committed() -> None:
    # benchmarks/results/mlp_table.json ships with the repository (756 trainings; rebuilt by
    # `python -m benchmarks.multiobjective.mlp_table`): missing, the benchmark cannot run.
    assert mlp_table.TABLE.exists(), f"{mlp_table.TABLE} is missing"


def test_grid_points_read_back_as_trained_and_sizes_are_exact() -> None:
    t = mlp_table.MLPTable()
    a, b, c, e = 1, 4, 3, 2  # a grid point: depth 2, width 64, lr 10^-2.5, weight decay 10^-10/3
    lr, wd = mlp_table.LR[c], mlp_table.WD[e]
    Y = t.values(np.array([lr]), np.array([wd]), np.array([mlp_table.WIDTH[b]]), np.array([mlp_table.DEPTH[a]]))
    assert Y[0, 0] == pytest.approx(min(t.loss[a, b, c, e], mlp_table.LOSS_CAP))
    assert Y[0, 1] == pytest.approx((65 * 64 + 65 * 64 + 65 * 10) / 1000)  # train.py's count, in thousands
    assert mlp_table.n_params(256, 3) / 1000 < mlp_table.REF[1]


def test_the_unit_cube_decodes_to_the_apps_space() -> None:
    lr, wd, width, depth = mlp_table.MLPTable().decode(np.array([[0, 0, 0, 0], [1, 1, 1, 1], [0.5, 0.5, 0.5, 0.5]]))
    np.testing.assert_allclose(lr[:2], [1e-4, 1e-1])
    np.testing.assert_allclose(wd[:2], [1e-6, 1e-2])
    assert list(width) == [16, 256, 64] and list(depth) == [1, 3, 2]
    Y = mlp_table.MLPTable().f(np.random.default_rng(0).random((50, 4)))
    assert Y.shape == (50, 2) and np.all(np.isfinite(Y)) and np.all(Y[:, 0] <= mlp_table.LOSS_CAP)


def test_the_faces_of_the_cube_stay_on_the_grid() -> None:
    X = np.array(np.meshgrid(*[[0.0, 1.0]] * 4)).reshape(4, -1).T
    assert np.all(np.isfinite(mlp_table.MLPTable().f(X)))
