"""The JAX GP engine (``hpo_sweeper.engines.jax_gp``), unit by unit and through
``BayesOptimizer(backend="jax")``.

Compilation dominates this file's run time (a few seconds per search space and bucket),
so the tests share a handful of spaces and keep the observation count under 64 (one
bucket) unless the bucket is what is under test.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from hpo_sweeper import OptimizerError, SearchSpace, create_optimizer  # noqa: E402
from hpo_sweeper.engines.jax_gp import gp  # noqa: E402
from hpo_sweeper.engines.jax_gp.engine import JaxEngine, bucket  # noqa: E402
from hpo_sweeper.engines.jax_gp.kernels import cross_cov, matern52  # noqa: E402
from hpo_sweeper.engines.jax_gp.numerics import log_h, safeguards_for  # noqa: E402
from hpo_sweeper.engines.jax_gp.optim import lbfgs  # noqa: E402
from hpo_sweeper.engines.jax_gp.warping import warp  # noqa: E402

MIXED = {
    "lr": "tag(log, interval(1e-5, 1e-1))",
    "width": "tag(log, int(interval(8, 512)))",
    "depth": "range(1, 6)",
    "dropout": "range(0.0, 0.5, 0.125)",
    "act": "choice(relu, tanh, 1, 2.5, true, false, null)",
    "opt": "choice(a, b, c, d, e, f, g, h, i, j, k, l)",  # 7 x 12 > 64: sampled, not enumerated
    "x": "interval(-1, 1)",
    "batch": 32,  # fixed
}
ALL_CATEGORICAL = {"a": "choice(x, y, z)", "b": "choice(1, 2)", "c": "choice(true, false)"}  # 12: enumerated
BRANIN = {"x1": "interval(-5, 10)", "x2": "interval(0, 15)"}
BRANIN_OPT = 0.397887


def branin(p: dict[str, Any]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def engine(space: SearchSpace, seed: int = 0, **options: Any) -> JaxEngine:
    return JaxEngine(
        space,
        seed=seed,
        acq_func=options.pop("acq_func", "EI"),
        xi=0.01,
        kappa=1.96,
        batch_strategy=options.pop("batch_strategy", "cl_min"),
        **options,
    )


def assert_valid(space: SearchSpace, proposals: list[dict[str, Any]], n: int) -> None:
    assert len(proposals) == n
    for p in proposals:
        space.validate(p)  # raises when outside the space
        for v in p.values():
            assert not (isinstance(v, float) and not math.isfinite(v))


def random_points(space: SearchSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    return space.from_unit(np.random.default_rng(seed).random((n, len(space))))


# --- packaging --------------------------------------------------------------------------------


def test_package_import_does_not_import_jax() -> None:
    code = (
        "import sys, hpo_sweeper, hpo_sweeper.engines.jax_gp, hpo_sweeper.optimizers.bayes\n"
        "assert 'jax' not in sys.modules, 'jax imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- numerics -----------------------------------------------------------------------------------


def test_log_h_matches_the_direct_formula_and_stays_finite() -> None:
    from scipy.stats import norm

    with jax.enable_x64(True):
        u = jnp.array([5.0, 1.0, 0.0, -0.5, -1.0, -3.0, -10.0, -30.0, -99.0, -101.0, -1e3, -1e8])
        got = np.asarray(jax.jit(log_h)(u))
        grad = np.asarray(jax.jit(jax.vmap(jax.grad(log_h)))(u))
    u = np.asarray(u)
    direct = np.log(norm.pdf(u[:7]) + u[:7] * norm.cdf(u[:7]))
    np.testing.assert_allclose(got[:7], direct, rtol=1e-10)
    # Far tail: log h(u) ~ -u^2/2 - log(sqrt(2 pi)) - 2 log|u|, and d/du log h = Phi(u)/h(u) ~ |u|.
    tail = -0.5 * u[7:] ** 2 - 0.5 * np.log(2 * np.pi) - 2 * np.log(-u[7:])
    np.testing.assert_allclose(got[7:], tail, rtol=1e-3)
    assert np.all(np.isfinite(grad)) and np.all(grad > 0)
    np.testing.assert_allclose(grad[-3:], -u[-3:], rtol=1e-2)


def test_cross_cov_equals_the_pair_kernel() -> None:
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        A, B = jnp.asarray(rng.random((5, 3))), jnp.asarray(rng.random((4, 3)))
        inv_ls = jnp.asarray([2.0, 0.5, 7.0])
        K = np.asarray(cross_cov(A, B, inv_ls, 1e-30))
        pair = jax.jit(lambda a, b: matern52(a, b, inv_ls, 1e-30))
        ref = np.array([[float(pair(a, b)) for b in B] for a in A])
        np.testing.assert_allclose(K, ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.diag(np.asarray(cross_cov(A, A, inv_ls, 1e-30))), 1.0)


def test_lbfgs_minimises_and_survives_nan_regions() -> None:
    with jax.enable_x64(True):

        def rosen(x: jax.Array) -> jax.Array:
            return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

        res = jax.jit(lambda x0: lbfgs(rosen, x0, maxiter=300))(jnp.array([-1.2, 1.0, 0.5]))
        np.testing.assert_allclose(np.asarray(res.theta), 1.0, atol=1e-4)

        def walled(x: jax.Array) -> jax.Array:  # NaN beyond 0.5, like a failed Cholesky
            return jnp.where(x[0] > 0.5, jnp.nan, (x[0] - 1.0) ** 2)

        res = jax.jit(lambda x0: lbfgs(walled, x0, maxiter=100))(jnp.array([0.0]))
        assert np.isfinite(float(res.value)) and 0.4 < float(res.theta[0]) <= 0.5


# --- output warping ------------------------------------------------------------------------------


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


# --- the GP -----------------------------------------------------------------------------------


def test_likelihood_gradient_matches_finite_differences() -> None:
    """The hand-written gradient of the log-likelihood core, padding included."""
    cfg = gp.make_fit_config(3, safeguards_for("float64"), 10)
    rng = np.random.default_rng(0)
    X, z, m = rng.random((16, 3)), rng.standard_normal(16), np.r_[np.ones(12), np.zeros(4)]
    data = gp.Data(X, z * m, m)
    theta = gp.default_theta(cfg) + 0.3 * rng.standard_normal(6)
    with jax.enable_x64(True):
        f = jax.jit(lambda t: gp.neg_log_posterior(t, data, cfg))
        grad = np.asarray(jax.jit(jax.grad(lambda t: gp.neg_log_posterior(t, data, cfg)))(theta))
        eps = 1e-6
        fd = [(float(f(theta + eps * e)) - float(f(theta - eps * e))) / (2 * eps) for e in np.eye(6)]
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6)


def test_condition_matches_a_posterior_on_the_augmented_data() -> None:
    """The O(N^2) rank-one update (pending points, fantasies) equals conditioning from scratch."""
    from hpo_sweeper.engines.jax_gp.engine import _condition

    sg = safeguards_for("float64")
    cfg = gp.make_fit_config(2, sg, 10)
    rng = np.random.default_rng(1)
    X, z = rng.random((9, 2)), rng.standard_normal(9)
    theta = np.array([-1.0, -0.5, 0.2, math.log(1e-3), 0.1])

    def data(k: int) -> gp.Data:
        Xp, zp, m = np.zeros((16, 2)), np.zeros(16), np.zeros(16)
        Xp[:k], zp[:k], m[:k] = X[:k], z[:k], 1.0
        return gp.Data(Xp, zp, m)

    with jax.enable_x64(True):
        post = gp.posterior(data(7), theta, cfg)
        for i in (7, 8):
            post = _condition(post, X[i], np.asarray(z[i]), sg)
        full = gp.posterior(data(9), theta, cfg)
        Xq = jnp.asarray(rng.random((20, 2)))
        for a, b in zip(gp.predict(post, Xq, sg), gp.predict(full, Xq, sg)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-9)


def test_incremental_posterior_equals_a_fresh_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between full refits of large models the engine keeps the hyperparameters and extends
    the last Cholesky factor by the new observations; that must equal refactorising."""
    from hpo_sweeper.engines.jax_gp import engine as engine_module

    monkeypatch.setattr(engine_module, "INCREMENTAL_BUCKET", 64)  # trigger it at small n
    space = SearchSpace.from_config(BRANIN)
    pts = random_points(space, 20, seed=2)
    y = np.array([branin(p) for p in pts])
    eng = engine(space, full_fit_below=0, refit_growth=100.0)
    eng.suggest(pts[:15], y[:15], 1, [])
    eng.suggest(pts, y, 1, [])
    assert eng.last_fit["full"] is False and math.isnan(eng.last_fit["value"])  # no fit ran
    extended, _ = eng._model
    X, z, m = np.zeros((64, 2)), np.zeros(64), np.zeros(64)
    X[:20], z[:20], m[:20] = space.to_features(pts), warp(y), 1.0
    with jax.enable_x64(True):
        fresh = gp.posterior(gp.Data(X, z, m), eng._theta, eng._fit_config(100))
        Xq = jnp.asarray(np.random.default_rng(0).random((30, 2)))
        for a, b in zip(gp.predict(extended, Xq, eng.sg), gp.predict(fresh, Xq, eng.sg)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-8)


# --- proposals: validity and robustness -------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed() -> SearchSpace:
    return SearchSpace.from_config(MIXED)


@pytest.mark.parametrize(
    "case",
    ["plain", "duplicates", "constant", "outlier", "one_observation"],
)
def test_mixed_space_always_gives_valid_distinct_batches(mixed: SearchSpace, case: str) -> None:
    pts = random_points(mixed, 10)
    y = np.random.default_rng(0).random(10)
    if case == "duplicates":
        pts, y = pts[:3] * 4, np.tile(y[:3], 4)
    elif case == "constant":
        y = np.full(10, 5.0)
    elif case == "outlier":
        y[3] = 1e12
    elif case == "one_observation":  # the front never asks with fewer than two; the engine copes
        pts, y = pts[:1], y[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warnings on these ordinary inputs
        out = engine(mixed).suggest(pts, y, 4, [])
    assert_valid(mixed, out, 4)
    keys = {mixed.key(p) for p in out}
    assert len(keys) == 4 and not keys & {mixed.key(p) for p in pts}


def test_batch_spreads_away_from_pending(mixed: SearchSpace) -> None:
    pts = random_points(mixed, 12)
    y = np.random.default_rng(1).random(12)
    first = engine(mixed).suggest(pts, y, 1, [])
    out = engine(mixed).suggest(pts, y, 3, first)
    assert_valid(mixed, out, 3)
    assert len({mixed.key(p) for p in out + first}) == 4


def test_outlier_does_not_flatten_the_model() -> None:
    """With a 1e12 far from the minimum, the proposal still goes to the minimum."""
    space = SearchSpace.from_config(BRANIN)  # shares its compilations with the Branin tests
    grid = np.linspace(0.05, 0.95, 5)
    U = np.array([(a, b) for a in grid for b in grid])
    pts = space.from_unit(U)
    y = np.array([(p["x1"] - 2.0) ** 2 + (p["x2"] - 6.0) ** 2 for p in pts])
    y[0] = 1e12
    (p,) = engine(space).suggest(pts, y, 1, [])
    assert math.hypot(p["x1"] - 2.0, p["x2"] - 6.0) < 1.5, p


def test_all_categorical_space(recwarn: pytest.WarningsRecorder) -> None:
    space = SearchSpace.from_config(ALL_CATEGORICAL)
    pts = random_points(space, 5)
    out = engine(space).suggest(pts, np.arange(5.0), 4, pts[:0])
    assert_valid(space, out, 4)
    seen = {space.key(p) for p in pts}
    assert len({space.key(p) for p in out} - seen) == 4


@pytest.mark.parametrize("acq_func", ["PI", "LCB", "UCB", "gp_hedge"])
def test_other_acquisition_functions(acq_func: str) -> None:
    # The all-categorical space compiles fastest (no gradient ascent in the program).
    space = SearchSpace.from_config(ALL_CATEGORICAL)
    eng = engine(space, acq_func=acq_func)
    pts = random_points(space, 4, seed=3)
    y = [float(i) for i in range(4)]
    for _ in range(3):  # gp_hedge updates its gains from the second call on
        (p,) = eng.suggest(pts, np.asarray(y), 1, [])
        assert_valid(space, [p], 1)
        pts, y = pts + [p], y + [float(len(y))]


def test_twenty_dimensions() -> None:
    space = SearchSpace.from_config({f"x{i}": "interval(0, 1)" for i in range(20)})
    pts = random_points(space, 25)
    y = np.array([sum((p[f"x{i}"] - 0.5) ** 2 for i in range(20)) for p in pts])
    out = engine(space).suggest(pts, y, 4, [])
    assert_valid(space, out, 4)
    assert len({space.key(p) for p in out}) == 4


def test_float32_and_explicit_device() -> None:
    space = SearchSpace.from_config(ALL_CATEGORICAL)
    eng = engine(space, dtype="float32", device="cpu")
    pts = random_points(space, 4)
    assert_valid(space, eng.suggest(pts, np.arange(4.0), 2, []), 2)


def test_failed_fit_falls_back_to_default_hyperparameters(monkeypatch: pytest.MonkeyPatch) -> None:
    space = SearchSpace.from_config(ALL_CATEGORICAL)
    real_fit = gp.fit

    def failing_fit(*args: Any, **kwargs: Any) -> Any:
        post, theta, _ = real_fit(*args, **kwargs)
        return post, theta, np.asarray(np.inf)

    monkeypatch.setattr(gp, "fit", failing_fit)
    pts = random_points(space, 4)
    with pytest.warns(RuntimeWarning, match="default hyperparameters"):
        out = engine(space).suggest(pts, np.arange(4.0), 1, [])
    assert_valid(space, out, 1)


# --- options ---------------------------------------------------------------------------------------


def test_unknown_engine_option_is_a_clear_error() -> None:
    space = SearchSpace.from_config(BRANIN)
    with pytest.raises(TypeError):
        engine(space, n_restart=3)
    with pytest.raises(OptimizerError, match="bad engine_options.*n_restart"):
        create_optimizer("bayes", space, backend="jax", engine_options={"n_restart": 3})


@pytest.mark.parametrize(
    "options",
    [{"dtype": "float16"}, {"n_restarts": 0}, {"output_warping": "log"}, {"device": "no-such-platform"}],
)
def test_bad_engine_option_values(options: dict[str, Any]) -> None:
    with pytest.raises(OptimizerError):
        create_optimizer("bayes", SearchSpace.from_config(BRANIN), backend="jax", engine_options=options)


# --- reproducibility, compilation, quality ------------------------------------------------------------


def run_branin(seed: int, trials: int, **options: Any) -> tuple[float, list[dict[str, Any]]]:
    space = SearchSpace.from_config(BRANIN)
    opt = create_optimizer("bayes", space, seed=seed, backend="jax", n_trials=trials, **options)
    best, asked = math.inf, []
    for _ in range(trials):
        [p] = opt.ask(1)
        asked.append(p)
        v = branin(p)
        best = min(best, v)
        opt.tell([p], [v])
    return best - BRANIN_OPT, asked


def test_same_seed_same_observations_same_proposals() -> None:
    _, a = run_branin(3, 9)
    _, b = run_branin(3, 9)
    assert a == b
    space = SearchSpace.from_config(BRANIN)
    pts = random_points(space, 6)
    y = np.array([branin(p) for p in pts])
    assert engine(space, seed=5).suggest(pts, y, 2, []) == engine(space, seed=5).suggest(pts, y, 2, [])


def test_compilations_grow_with_log_n_not_with_calls() -> None:
    """Observations are padded to power-of-two buckets, so 40 sequential calls that cross
    from the 64 bucket into the 128 one compile O(log2 n) programs: a few on entering a
    bucket (the fit, the acquisition search), then nothing. Full multi-start fits and the
    short warm-started refinements between them share one fit program per bucket."""
    compiles: list[int] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            compiles[-1] += 1

    # Other tests may have compiled the 64 bucket for this space already: the bounds hold
    # either way, and the 128 bucket is compiled here.
    space = SearchSpace.from_config(BRANIN)
    opt = create_optimizer("bayes", space, seed=0, backend="jax", n_initial_points=1)
    start = random_points(space, 48, seed=4)
    opt.tell(start, [branin(p) for p in start])
    fit_traces = gp._trace_counter["fit"]
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        for _ in range(40):
            compiles.append(0)
            [p] = opt.ask(1)
            opt.tell([p], [branin(p)])
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    n_obs = [48 + k for k in range(40)]  # before call k (its first call is the initial design's)
    buckets = [bucket(n + 1) for n in n_obs]
    first_calls = {k for k in range(1, 40) if buckets[k] != buckets[k - 1]} | {0, 1}
    assert sum(compiles) <= 4 * len(set(buckets)) <= 4 * math.ceil(math.log2(n_obs[-1]))
    assert all(c == 0 for k, c in enumerate(compiles) if k not in first_calls | {k + 1 for k in first_calls}), compiles
    assert sum(compiles[-20:]) == 0
    # full fits (n <= 16, then every 10% growth) and refinements alternate in these calls
    assert gp._trace_counter["fit"] - fit_traces <= len(set(buckets))


def test_bayes_beats_random_on_branin() -> None:
    """30 trials, 5 seeds, paired. Threshold: over 10 seeds the engine's worst regret at 30
    trials measured 6.3e-4 (median 2.7e-5) and random search's best 0.32 (median 1.7), so
    'every seed beats random and stays under 0.05' has a margin of ~80x on both sides; the
    runs are seeded, so the test is deterministic on a given platform and the margin only
    has to absorb floating-point differences between platforms."""
    from hpo_sweeper.optimizers.random_search import RandomSearch

    space = SearchSpace.from_config(BRANIN)
    for seed in range(5):
        regret, _ = run_branin(seed, 30)
        rs = RandomSearch(space, seed=seed)
        random_regret = min(branin(p) for p in rs.ask(30)) - BRANIN_OPT
        assert regret < 0.05, (seed, regret)
        assert regret < random_regret, (seed, regret, random_regret)
