"""benchmarks/multiobjective/problems.py: the published fronts and their hypervolumes."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.multiobjective.problems import PROBLEMS
from hpo_sweeper import pareto


@pytest.mark.parametrize("name", ["zdt1", "zdt2"])
def test_zdt_front_and_its_hypervolume(name: str) -> None:
    pb = PROBLEMS[name]
    x1 = np.linspace(0, 1, 4001)
    X = np.zeros((len(x1), pb.dim))
    X[:, 0] = x1  # x_2.. = 0: g = 1, the Pareto set
    Y = pb.f(X)
    expected = 1 - np.sqrt(x1) if name == "zdt1" else 1 - x1**2
    np.testing.assert_allclose(Y[:, 1], expected, atol=1e-12)
    assert pareto.pareto_mask(Y).all()
    # A dense sample of the front approaches max_hv from below (staircase error ~ 1/4000).
    hv = pareto.hypervolume(Y, pb.ref)
    assert pb.max_hv - 1e-3 < hv <= pb.max_hv
    # Any point off the Pareto set (g > 1) is dominated by the front point with the same f1.
    Xr = np.random.default_rng(0).random((200, pb.dim))
    assert pareto.hypervolume(np.vstack([Y, pb.f(Xr)]), pb.ref) == pytest.approx(hv)


def test_dtlz2_front_is_the_unit_sphere() -> None:
    pb = PROBLEMS["dtlz2"]
    rng = np.random.default_rng(1)
    X = rng.random((500, pb.dim))
    X[:, 2:] = 0.5  # g = 0
    Y = pb.f(X)
    np.testing.assert_allclose(np.linalg.norm(Y, axis=1), 1.0, atol=1e-12)
    assert np.all(Y >= 0)
    # max_hv = 1.1^3 - pi/6 (the octant of the unit ball): a dense front gets close from below.
    g = np.linspace(0, 1, 31)
    G = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    Xf = np.concatenate([G, np.full((len(G), pb.dim - 2), 0.5)], axis=1)
    hv = pareto.hypervolume(pb.f(Xf), pb.ref)
    assert pb.max_hv - 0.05 < hv <= pb.max_hv
