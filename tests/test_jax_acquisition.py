"""``jax_gp.acquisition``: the acquisition values and their maximisation (``propose``)."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from hpo_sweeper import SearchSpace  # noqa: E402
from hpo_sweeper.engines.jax_gp import acquisition as acq  # noqa: E402
from hpo_sweeper.engines.jax_gp import gp  # noqa: E402
from hpo_sweeper.engines.jax_gp.numerics import safeguards_for  # noqa: E402
from hpo_sweeper.engines.jax_gp.padding import pad  # noqa: E402
from hpo_sweeper.space import snap_to_levels  # noqa: E402

SG = safeguards_for("float64")
#: x continuous, k five levels: both the gradient ascent and the snapping run
SPACE = SearchSpace.from_config({"x": "interval(0, 1)", "k": "range(0, 4)"})


def config(kind: str, n_starts: int = 4, n_steps: int = 30) -> acq.AcqConfig:
    layout = SPACE.layout
    return acq.AcqConfig(kind=kind, safeguards=SG, n_features=2, numeric_cols=layout.numeric, cat_groups=(),
                         enumerate_cats=False, has_levels=True, n_starts=n_starts, n_steps=n_steps)


@pytest.fixture(scope="module")
def model() -> tuple[gp.Posterior, acq.AcqInputs, np.ndarray]:
    """A GP on 8 points of f(x, k) = (x - 0.3)^2 + (k/4 - 0.5)^2, default hyperparameters."""
    rng = np.random.default_rng(0)
    X = SPACE.layout.snap(rng.random((8, 2)))
    z = (X[:, 0] - 0.3) ** 2 + (X[:, 1] - 0.5) ** 2
    z = (z - z.mean()) / z.std()
    cfg = gp.make_fit_config(2, SG, 10)
    with jax.enable_x64(True):
        post = gp.posterior(pad(X, z, 64, np.asarray), np.asarray(gp.default_theta(cfg)), cfg)
    layout = SPACE.layout
    inp = acq.AcqInputs(levels=layout.levels, n_levels=layout.n_levels, best=np.asarray(z.min()),
                        xi=np.asarray(0.0), kappa=np.asarray(2.0))
    return post, inp, X


def test_lcb_is_kappa_sigma_minus_mu(model: tuple) -> None:
    post, inp, _ = model
    Xq = jnp.asarray(np.random.default_rng(1).random((16, 2)))
    with jax.enable_x64(True):
        mu, var = gp.predict(post, Xq, SG)
        got = acq.acq_value(post, Xq, inp, config("lcb"))
    np.testing.assert_allclose(np.asarray(got), 2.0 * np.sqrt(np.asarray(var)) - np.asarray(mu), rtol=1e-12)


def test_log_ei_and_log_pi_are_finite_and_order_like_ei(model: tuple) -> None:
    """Far from the data log-EI stays finite (no -inf plateau); and where the variance is
    the same, a lower mean scores higher."""
    post, inp, _ = model
    Xq = jnp.asarray(np.random.default_rng(2).random((64, 2)))
    with jax.enable_x64(True):
        for kind in ("ei", "pi"):
            assert np.all(np.isfinite(np.asarray(acq.acq_value(post, Xq, inp, config(kind)))))
        # one point, two incumbents: a better incumbent can only lower EI
        x = Xq[:1]
        lo = acq.acq_value(post, x, inp._replace(best=inp.best - 1.0), config("ei"))
        hi = acq.acq_value(post, x, inp, config("ei"))
    assert float(lo[0]) < float(hi[0])


@pytest.mark.parametrize("kind", acq.KINDS)
def test_propose_beats_every_candidate_is_on_the_lattice_and_new(model: tuple, kind: str) -> None:
    post, inp, X_obs = model
    cand = np.concatenate([X_obs, SPACE.layout.snap(np.random.default_rng(3).random((60, 2)))])
    cfg = config(kind)
    with jax.enable_x64(True):
        x, value = acq.propose(post, jnp.asarray(cand), inp, cfg)
        scores = acq.acq_value(post, jnp.asarray(cand), inp, cfg)
    x = np.asarray(x)
    np.testing.assert_array_equal(SPACE.layout.snap(x[None, :])[0], x)  # k on a level
    assert not any(np.array_equal(x, r) for r in X_obs)  # never an observed point
    new = ~np.any(np.all(cand[:, None, :] == X_obs[None, :, :], axis=2), axis=1)
    assert float(value) >= float(np.max(np.asarray(scores)[new])) - 1e-9


def test_jax_snapping_is_the_space_rule(model: tuple) -> None:
    """The jitted search snaps with ``space.snap_to_levels`` exactly as numpy code does."""
    _, inp, _ = model
    X = np.random.default_rng(4).random((50, 2))
    with jax.enable_x64(True):
        got = np.asarray(jax.jit(lambda X: acq._snap(X, inp, config("ei")))(jnp.asarray(X)))
    layout = SPACE.layout
    want = X.copy()
    want[:, 1] = snap_to_levels(want[:, 1], layout.levels[1], layout.n_levels[1])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, layout.snap(X))
