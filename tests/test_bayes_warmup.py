"""The background warm-up of the jax engine compiles ahead of time and changes no proposal."""

from __future__ import annotations

from hpo_sweeper import SearchSpace, create_optimizer


def run(warmup: bool) -> tuple[list[dict], bool]:
    space = SearchSpace.from_config({"x": "interval(0, 1)", "c": "choice(a, b)"})
    opt = create_optimizer("bayes", space, seed=3, backend="jax", n_initial_points=3)
    if not warmup:
        opt._warmup = None
    seen = []
    for _ in range(5):
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
