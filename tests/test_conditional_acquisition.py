"""The JAX engine scores a conditional space's candidates at their point of the tree
(``space.on_tree``, applied in ``acquisition.acq_value``): a relaxed row's inactive coordinates,
free in the candidates and the ascent, never change its acquisition value."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_sweeper.space import SearchSpace, on_tree

SPACE = {  # tests/test_conditional_space.py's TREE, and a discrete numeric parent
    "opt": "choice(adam, sgd)",
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"opt": "sgd"}},
    "nesterov": {"type": "categorical", "choices": [True, False], "when": {"opt": "sgd"}},
    "dampening": {"sweep": "choice(0.0, 0.1)", "when": {"nesterov": False}},  # a grandchild
    "beta2": {"type": "float", "low": 0.9, "high": 0.9999, "when": {"opt": ["adam"]}},
    "layers": "int(interval(1, 3))",
    "width2": {"type": "float", "low": 0.0, "high": 1.0, "when": {"layers": [2, 3]}},
}


def _relaxed(space: SearchSpace, n: int, seed: int) -> np.ndarray:
    """Rows of valid configurations whose inactive coordinates are then scrambled: numeric ones
    anywhere in [0, 1], categorical ones a random one-hot (as a candidate's could be)."""
    rng = np.random.default_rng(seed)
    X = space.to_features(space.from_unit(rng.random((n, len(space)))))
    for rule in space.layout.inactive:
        off = np.isclose(X[:, list(rule.columns)], 0.0 if rule.categorical else 0.5).all(axis=1)
        c = list(rule.columns)
        if rule.categorical:
            X[np.ix_(off, c)] = np.eye(len(c))[rng.integers(len(c), size=off.sum())]
        else:
            X[off, c[0]] = rng.random(off.sum())
    return X


def test_on_tree_is_the_features_of_the_decoded_configuration() -> None:
    space = SearchSpace.from_config(SPACE)
    assert len(space.layout.inactive) == 5  # momentum, nesterov, beta2, width2, then the grandchild
    X = _relaxed(space, 200, seed=0)
    np.testing.assert_allclose(on_tree(X, space.layout.inactive), space.to_features(space.from_features(X)),
                               atol=1e-9)
    jnp = pytest.importorskip("jax.numpy")
    np.testing.assert_allclose(np.asarray(on_tree(jnp.asarray(X), space.layout.inactive, xp=jnp)),
                               on_tree(X, space.layout.inactive), atol=1e-6)


def test_an_unconditional_space_has_no_rules() -> None:
    space = SearchSpace.from_config({"lr": "interval(0, 1)", "opt": "choice(a, b)"})
    assert space.layout.inactive == ()
    X = np.random.default_rng(0).random((4, space.layout.n_features))
    assert on_tree(X, ()) is X


def test_acquisition_ignores_free_inactive_coordinates() -> None:
    pytest.importorskip("jax")
    from hpo_sweeper.optimizers.bayes import BayesOptimizer

    space = SearchSpace.from_config(SPACE)
    opt = BayesOptimizer(space, seed=0, n_trials=12)
    for _ in range(8):
        (p,) = opt.ask(1)
        opt.tell([p], [float(p["lr"]) + (0.5 if p["opt"] == "sgd" else 0.0)])
    (p,) = opt.ask(1)  # the GP's proposal: valid, never forbidden or incomplete
    assert space.validate({k: v for k, v in p.items() if k in space.active(p)})

    import jax.numpy as jnp

    from hpo_sweeper.engines.jax_gp import acquisition as acq
    from hpo_sweeper.engines.jax_gp import engine as eng

    state = opt.engine_state
    X, y = opt._observations()
    from hpo_sweeper.engines.jax_gp.padding import bucket, pad
    from hpo_sweeper.engines.jax_gp.warping import warp

    z = warp(y, state.static.config.output_warping)
    data = pad(X, z, bucket(len(X) + 1), jnp.asarray)
    post, _ = eng._fit(state, np.random.default_rng(0), data, X, z, (0, 0))
    cfg = eng._acq_config(state.static, "ei", bucket(len(X) + 1))
    inp = acq.AcqInputs(levels=jnp.asarray(state.static.layout.levels), n_levels=jnp.asarray(state.static.n_levels),
                        best=jnp.asarray(np.min(z)), xi=jnp.asarray(0.01), kappa=jnp.asarray(1.96))
    Xr = _relaxed(space, 64, seed=1)
    free = np.asarray(acq.acq_value(post, jnp.asarray(Xr), inp, cfg))
    at_tree = np.asarray(acq.acq_value(post, jnp.asarray(space.to_features(space.from_features(Xr))), inp, cfg))
    np.testing.assert_allclose(free, at_tree, rtol=1e-4, atol=1e-5)
