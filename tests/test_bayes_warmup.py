"""The background warm-up of the jax engine compiles ahead of time and changes no proposal."""

from __future__ import annotations

import threading

from hpo_sweeper import SearchSpace, create_optimizer


def run(warmup: bool) -> tuple[list[dict], bool]:
    space = SearchSpace.from_config({"x": "interval(0, 1)", "c": "choice(a, b)"})
    opt = create_optimizer("bayes", space, seed=3, backend="jax", n_initial_points=3)
    if not warmup:
        opt._warmup = None
    seen = []
    for i in range(5):
        if warmup and i == 3:
            # Finished in time it changes nothing; still compiling, the sweep takes a design
            # point instead (compile_wait="design", tested in test_compile_wait_design below).
            opt._warmup.join()
        ps = opt.ask(1)
        seen += ps
        opt.tell(ps, [(p["x"] - 0.3) ** 2 + (p["c"] == "b") for p in ps])
    started = warmup and opt._warmup.thread is not None
    return seen, started


def test_warmup_runs_during_the_design_and_changes_nothing() -> None:
    with_warmup, started = run(True)
    assert started  # the thread was started while the initial design was handed out
    without, _ = run(False)
    assert with_warmup == without


def test_a_python_script_that_stops_during_the_warmup_exits_cleanly(tmp_path) -> None:
    """The warm-up thread may still be inside XLA's compiler when a short sweep ends. As a daemon
    thread it made the interpreter abort at exit (SIGABRT, status 134, in 3 of 4 short sweeps):
    the interpreter must wait for it instead. A script that asks for the design only and exits
    at once is the shortest such sweep."""
    import subprocess
    import sys

    script = (
        "from hpo_sweeper import SearchSpace, create_optimizer\n"
        "space = SearchSpace.from_config({'x': 'interval(0, 1)', 'y': 'interval(0, 1)'})\n"
        "opt = create_optimizer('bayes', space, seed=0, backend='jax', n_initial_points=4)\n"
        "ps = opt.ask(2)\n"
        "assert opt._warmup.thread is not None and not opt._warmup.thread.daemon\n"
        "print('asked', len(ps))\n"
    )
    for _ in range(2):  # before the fix each run aborted with probability ~3/4
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                              env={**__import__("os").environ, "JAX_PLATFORMS": "cpu"})
        assert done.returncode == 0, done.stderr[-2000:]
        assert "asked 2" in done.stdout


def test_short_bayes_sweeps_exit_0(tmp_path) -> None:
    """Issue #11, defect 1: a 3-trial bayes sweep (the design only) and a sweep stopped by
    max_failure_rate exit with their own status (0 and 1), never SIGABRT (134)."""
    from conftest import run_app_subprocess

    ok = run_app_subprocess(["hydra/sweeper=bayes", "+search_space=quad", "hydra.sweeper.n_trials=3",
                             f"hydra.sweep.dir={tmp_path / 'ok'}", "hydra.sweeper.plots=false"])
    assert ok.returncode == 0, ok.stderr[-2000:]
    failing = run_app_subprocess(["hydra/sweeper=bayes", "+search_space=quad", "hydra.sweeper.n_trials=8",
                                  "fail_all=true", f"hydra.sweep.dir={tmp_path / 'fail'}", "hydra.sweeper.plots=false"])
    assert failing.returncode == 1, (failing.returncode, failing.stderr[-2000:])
    assert "max_failure_rate" in failing.stderr or "every trial failed" in failing.stderr


def _gated(compile_wait: str, seed: int | None = 5) -> tuple[object, threading.Event]:
    """An optimiser whose real warm-up cannot finish until the returned event is set."""
    space = SearchSpace.from_config({"x": "interval(0, 1)", "y": "interval(0, 1)"})
    opt = create_optimizer("bayes", space, seed=seed, backend="jax", n_initial_points=3, compile_wait=compile_wait)
    gate = threading.Event()
    real = opt._warmup._run
    opt._warmup._run = lambda b: (gate.wait(), real(b))
    return opt, gate


def _tell(opt, ps) -> None:
    opt.tell(ps, [(p["x"] - 0.3) ** 2 + p["y"] for p in ps])


def test_compile_wait_design_proposes_design_points_while_the_warmup_compiles() -> None:
    """Issue #20 item 2: no wait for the compiler. While the warm-up is held, each ask past the
    design gets the design sequence's next point (as many as it takes); once it is done,
    the GP proposes. Deterministic: the warm-up is blocked by an event, not raced against."""
    opt, gate = _gated("design")
    asked = []
    for _ in range(3 + 5):  # the design, then 5 extra design points (more than n_initial_points)
        ps = opt.ask(1)
        asked += ps
        _tell(opt, ps)
    assert opt._warmup.busy()
    longer = create_optimizer("bayes", opt.space, seed=5, backend="jax", n_initial_points=8)
    longer._warmup = None
    assert asked == longer.ask(8)  # the same Sobol design, continued
    gate.set()
    opt._warmup.join()
    gp = opt.ask(1)[0]
    assert gp not in asked and opt._n_extra_design == 5 and opt._n_design_used == 8


def test_compile_wait_wait_waits_for_the_warmup() -> None:
    opt, gate = _gated("wait")
    for _ in range(3):
        _tell(opt, opt.ask(1))
    assert opt._warmup.busy()
    threading.Thread(target=gate.set).start()  # ask() must join the warm-up, whenever it ends
    opt.ask(1)
    assert not opt._warmup.busy() and opt._n_extra_design == 0 and opt._n_design_used == 3


def test_compile_wait_auto_waits_when_seeded_and_designs_when_not() -> None:
    """The default: a seed promises the same trials at any load, so a seeded sweep waits for the
    compiler; an unseeded one proposes design points instead."""
    for seed, extra in ((5, 0), (None, 1)):
        opt, gate = _gated("auto", seed=seed)
        for _ in range(3):
            _tell(opt, opt.ask(1))
        if seed is not None:
            threading.Thread(target=gate.set).start()  # the seeded ask joins the warm-up
        opt.ask(1)
        assert opt._n_extra_design == extra, seed
        gate.set()
        opt._warmup.join()


def test_compile_wait_bad_value_is_named() -> None:
    import pytest

    from hpo_sweeper.optimizers.base import OptimizerError

    space = SearchSpace.from_config({"x": "interval(0, 1)"})
    with pytest.raises(OptimizerError, match="compile_wait"):
        create_optimizer("bayes", space, seed=0, backend="jax", compile_wait="never")
