"""The README's figure of what bayes learns from in a pruning sweep (model_data.py, model_feed.py).

Left and middle: one simulated bayes+ASHA sweep on the tabulated MLP curves (seed 0, 4 workers,
the default feed: BOHB's one-budget rule, a third of the proposals at random): what the GP fits at
the last moment before the full budget had n_dims + 2 trials, and the budget it fits at over the
sweep. Right: the feeds compared on the held-out seeds (``heldout-mlp.json``, written by
``python -m benchmarks.pruning.run --held-out --seeds 20 --tasks mlp --no-tuned --methods ...
--out benchmarks/pruning/heldout-mlp.json``): the median over seeds of the best full-budget value
found against the epochs spent.

    python -m benchmarks.pruning.figure      # ~1 min; writes benchmarks/pruning/bohb_feed.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.pruning.simulate import BayesSweep, Task, simulate

HERE = Path(__file__).resolve().parent


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = Task.load("mlp")
    sweep = BayesSweep(task, "asha", 0, feed="bohb")
    simulate(task, sweep, 32 * task.steps, 4)
    curves = sweep.curves()
    # The moment shown on the left: the last fit before the full budget had enough trials.
    early = [f for f in sweep.fits if f[1] is not None and f[1] < task.steps]
    moment, step, fitted = early[-1] if early else sweep.fits[-1]
    fig, (left, right, third) = plt.subplots(1, 3, figsize=(16, 4.4))
    for number, curve in curves.items():
        if number >= moment:
            continue
        steps = [r.step for r in curve.reports]
        values = [r.value for r in curve.reports]
        done = steps[-1] == task.steps
        left.plot(steps, values, color="tab:blue" if done else "0.7", lw=1.2 if done else 0.7, zorder=2 if done else 1,
                  marker=None if len(steps) > 1 else ".", ms=4)
    xs, ys = [], []
    for number in fitted:
        entry = curves[number].first_at_or_after(step or task.steps)
        if entry is not None:
            xs.append(entry.step)
            ys.append(entry.value)
    left.scatter(xs, ys, color="tab:red", s=14, zorder=3, label=f"what the GP fits: {len(xs)} values at epoch {step}")
    for rung in (1, 3, 9):
        left.axvline(rung, color="0.85", lw=0.8, zorder=0)
    left.set(xscale="log", yscale="log", xlabel="epoch (rungs at 1, 3, 9)", ylabel="validation loss", ylim=(0.05, 3),
             title=f"trials 0-{moment - 1}: grey pruned, blue ran 27 epochs", xticks=[1, 3, 9, 27],
             xticklabels=["1", "3", "9", "27"])
    left.legend(loc="upper right", fontsize=8)
    n = np.array([f[0] for f in sweep.fits])
    budget = np.array([np.nan if f[1] is None else f[1] for f in sweep.fits], dtype=float)
    count = np.array([len(f[2]) for f in sweep.fits])
    right.step(n, budget, where="post", color="tab:red", label="budget the GP is fitted at (epoch)")
    right.set(yscale="log", yticks=[1, 3, 9, 27], yticklabels=["1", "3", "9", "27 (full)"],
              xlabel="trials proposed", ylabel="epoch",
              title="the largest budget with >= n_dims + 2 = 8 values")
    twin = right.twinx()
    twin.plot(n, count, color="tab:green", lw=1, label="values fitted")
    twin.set_ylabel("values the GP fits")
    lines = right.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    right.legend(lines, [str(h.get_label()) for h in lines], loc="center right", fontsize=8)
    compare(third, task)
    fig.tight_layout()
    out = HERE / "bohb_feed.png"
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


LABELS = {"random+asha": "random+ASHA", "bayes[bohb,0]+asha": "bayes+ASHA, BOHB's rule",
          "bayes[bohb,1/3]+asha": "... + 1/3 random (default)", "bayes[rank,1/2]+asha": "rank feed + 1/2 random",
          "bayes[fidelity,0]+asha": "multi-fidelity GP", "bayes[fidelity,1/3]+asha": "multi-fidelity GP + 1/3 random",
          "random": "random, no pruning"}


def compare(ax: Any, task: Task) -> None:
    res = json.loads((HERE / "heldout-mlp.json").read_text())[0]
    budget, target = res["budget"], res["target"]
    grid = np.arange(budget + 1)
    for method, s in res["summary"].items():
        curves = []
        for trace in s["traces"]:
            best = np.full(len(grid), np.inf)
            for spent, value in trace:
                best[min(spent, budget):] = np.minimum(best[min(spent, budget):], value)
            curves.append(best)
        med = np.median(np.array(curves), axis=0)
        med[~np.isfinite(med)] = np.nan
        ax.plot(grid, med, lw=2 if method == "bayes[bohb,1/3]+asha" else 1.2, label=LABELS.get(method, method))
    ax.axhline(target, color="0.5", ls="--", lw=0.8)
    ax.axvline(budget / 3, color="0.5", ls=":", lw=0.8)
    ax.text(budget / 3, 0.067, " 1/3 of the budget", fontsize=7, color="0.4")
    ax.text(budget, target, f"target {target:.4f} ", fontsize=7, color="0.4", ha="right", va="bottom")
    ax.set(yscale="log", ylim=(0.065, 0.16), xlim=(0, budget), xlabel="epochs spent",
           ylabel="best full-budget val. loss (median of seeds)",
           title=f"the feeds on {res['seeds']} held-out seeds (ASHA 1, 3)")
    ax.legend(fontsize=7, loc="upper right")


if __name__ == "__main__":
    main()
