"""Candidate generation for the acquisition search: host-side numpy.

Cheap, and it keeps random-number generation and scatters out of the compiled program
(they dominated compile time). Candidates are valid points of the feature cube: one-hot
categoricals, numeric levels snapped by the space's one rule (``space.snap_to_levels``).

Notation: ``D`` features; ``M = n_global + n_local`` candidates, ``X: (M, D)``.

* global: a scrambled Sobol block drawn once per engine, shifted per call
  (Cranley-Patterson rotation); the categoricals' combinations are spread over it when
  there are few (``MAX_ENUMERATED_COMBOS``), sampled per group otherwise;
* local: Gaussian perturbations of the best observed points at scales 1e-3 .. 0.2, each
  categorical resampled with probability 0.2.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from hpo_sweeper.space import FeatureLayout, snap_to_levels

__all__ = ["MAX_ENUMERATED_COMBOS", "CandidateSampler", "enumerates_categoricals", "make_sampler"]

#: categorical combinations enumerated exhaustively up to this many
MAX_ENUMERATED_COMBOS = 64


class CandidateSampler:
    """Draws candidates for one space (see the module docstring)."""

    def __init__(self, layout: FeatureLayout, sobol: np.ndarray, combos: np.ndarray | None) -> None:
        self.layout = layout
        self.sobol, self.combos = sobol, combos
        self.num = list(layout.numeric)
        self.groups = layout.categorical
        self.D = layout.n_features

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Numeric columns with levels -> nearest level, in place; returns X."""
        for i, j in enumerate(self.num):
            if self.layout.n_levels[i] > 0:
                X[:, j] = snap_to_levels(X[:, j], self.layout.levels[i], self.layout.n_levels[i])
        return X

    def _one_hot(self, X: np.ndarray, u: np.ndarray) -> None:
        for g, cols in enumerate(self.groups):
            idx = np.minimum((u[:, g] * len(cols)).astype(int), len(cols) - 1)
            X[:, list(cols)] = np.eye(len(cols))[idx]

    def sample(self, rng: np.random.Generator, n_global: int, n_local: int, top_X: np.ndarray) -> np.ndarray:
        """(n_global + n_local, D): a shifted Sobol block and perturbations of ``top_X``."""
        n_num = len(self.num)
        U = np.mod(self.sobol[:n_global] + rng.random(self.sobol.shape[1]), 1.0)  # Cranley-Patterson
        Xg = np.zeros((n_global, self.D))
        if self.groups and self.combos is not None:
            C = len(self.combos)
            # Stratify the combinations over the candidates so each gets ~n_global / C of them.
            idx = (np.arange(n_global) + np.floor(U[:, n_num] * C).astype(int)) % C
            Xg = self.combos[idx].copy()
        elif self.groups:
            self._one_hot(Xg, U[:, n_num:])
        Xg[:, self.num] = U[:, :n_num]
        # Local candidates: the best points perturbed at scales 1e-3 .. 0.2 (log-uniform), so
        # the search refines the incumbent as well as it explores.
        Xl = top_X[rng.integers(0, len(top_X), n_local)].copy()
        scale = np.exp(rng.uniform(np.log(1e-3), np.log(0.2), (n_local, 1)))
        Xl[:, self.num] = np.clip(Xl[:, self.num] + scale * rng.standard_normal((n_local, n_num)), 0.0, 1.0)
        if self.groups:
            fresh = np.zeros_like(Xl)
            self._one_hot(fresh, rng.random((n_local, len(self.groups))))
            for cols in self.groups:
                swap = rng.random((n_local, 1)) < 0.2
                Xl[:, list(cols)] = np.where(swap, fresh[:, list(cols)], Xl[:, list(cols)])
        return self.snap(np.concatenate([Xg, Xl], axis=0))


def enumerates_categoricals(layout: FeatureLayout) -> bool:
    """Few enough categorical combinations to spread every one over the candidates."""
    groups = layout.categorical
    return bool(groups) and math.prod(len(g) for g in groups) <= MAX_ENUMERATED_COMBOS


def make_sampler(layout: FeatureLayout, n_candidates: int, entropy: int) -> CandidateSampler:
    """The sampler of one engine: its Sobol block is drawn here, once, seeded by ``entropy``."""
    from scipy.stats import qmc

    enumerate_cats = enumerates_categoricals(layout)
    groups = layout.categorical
    n_dims_u = len(layout.numeric) + (1 if enumerate_cats else len(groups))
    sobol = qmc.Sobol(d=max(n_dims_u, 1), scramble=True, seed=np.random.default_rng([entropy, 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n_candidates need not be a power of two
        U = sobol.random(n_candidates)
    combos = None
    if enumerate_cats:  # every combination of the categoricals, as one-hot rows
        rows = []
        for choice in itertools.product(*[range(len(g)) for g in groups]):
            row = np.zeros(layout.n_features)
            for g, j in zip(groups, choice):
                row[g[j]] = 1.0
            rows.append(row)
        combos = np.array(rows)
    return CandidateSampler(layout, U, combos)
