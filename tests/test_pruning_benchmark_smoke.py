"""The pruning benchmark's simulation (benchmarks/pruning/simulate.py) on a small made-up pool:
budgets are honoured, pruning spends its epochs on more trials, and the best curve survives."""

from __future__ import annotations

import numpy as np

from benchmarks.pruning.simulate import OurSweep, Task, best_within, simulate

SPACE = {"x": ("float", 0.0, 1.0, False)}


def pool() -> Task:
    xs = np.linspace(0, 1, 41)
    steps = np.arange(1, 28)
    curves = xs[:, None] + 1.0 / steps[None, :]  # parallel curves: x ranks trials at every step
    return Task("toy", SPACE, [{"x": float(x)} for x in xs], curves, 27)


def test_budget_and_what_pruning_buys() -> None:
    task = pool()
    budget = 16 * 27
    plain = simulate(task, OurSweep(task, "none", 0), budget, 4)
    asha = simulate(task, OurSweep(task, "asha", 0), budget, 4)
    # no trial starts once the budget is spent; the <= 3 other running trials may finish theirs
    assert budget <= plain.epochs <= budget + 3 * 27 and plain.n_pruned == 0
    assert plain.n_trials == plain.n_completed == plain.epochs // 27
    assert asha.n_trials > 3 * plain.n_trials and asha.n_pruned > 0
    # with parallel curves ASHA never stops the best trial it started (it is the best at every rung),
    # so that trial ran the full budget and is the sweep's best
    best_x = min(task.configs[task.lookup(c)]["x"] for c in asha.configs)
    assert asha.best == best_within(asha, asha.epochs) == best_x + 1.0 / 27


def test_bayes_with_asha_is_fed_one_budget_and_keeps_the_budget() -> None:
    from benchmarks.pruning.simulate import BayesSweep
    from hpo_sweeper.pruning import model_observations

    task = pool()
    budget = 10 * 27
    sweep = BayesSweep(task, "asha", 0)
    out = simulate(task, sweep, budget, 4)
    assert budget <= out.epochs <= budget + 3 * 27
    assert out.n_pruned > 0 and out.n_completed >= 1 and np.isfinite(out.best)
    # Every trial was told (pruned ones as failures, as the sweep loop tells them), and what the GP
    # fits is BOHB's one-budget data: n_dims + 2 = 3 values at one budget, the full one by now.
    assert len(sweep.optimizer.history) == out.n_trials
    data = model_observations(sweep.curves(), sweep.settings, min_observations=3)
    assert data.step == 27 and len(data.values) == out.n_completed
