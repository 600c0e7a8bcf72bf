"""The README's figure of how bayes learns from pruned trials (BOHB's one-budget rule, model_data.py),
drawn from one simulated bayes+ASHA sweep on the tabulated MLP curves (seed 0, 4 workers).

    python -m benchmarks.pruning.figure      # ~1 min; writes benchmarks/pruning/bohb_feed.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.pruning.simulate import BayesSweep, Task, simulate

HERE = Path(__file__).resolve().parent


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = Task.load("mlp")
    sweep = BayesSweep(task, "asha", 0)
    simulate(task, sweep, 32 * task.steps, 4)
    curves = sweep.curves()
    # The moment shown on the left: the last fit before the full budget had enough trials.
    early = [f for f in sweep.fits if f[1] is not None and f[1] < task.steps]
    moment, step, fitted = early[-1] if early else sweep.fits[-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
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
    fig.tight_layout()
    out = HERE / "bohb_feed.png"
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
