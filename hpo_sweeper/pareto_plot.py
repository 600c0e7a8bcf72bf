"""``pareto.png`` of a multi-objective sweep: every completed trial and the Pareto front.

Two objectives: one panel, objective 0 against objective 1. Three or more: one panel per
pair of objectives (the front is the front of all m, so some of its points look dominated
in a pair's projection).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from hpo_sweeper.direction import Direction
from hpo_sweeper.objectives import pareto_trials
from hpo_sweeper.trials import Trial, TrialStatus

__all__ = ["write_pareto_plot"]


def write_pareto_plot(trials: Sequence[Trial], directions: Sequence[Direction | str], names: Sequence[str],
                      out_dir: str | Path) -> Path | None:
    """Write ``out_dir/pareto.png``; None (nothing written) when no trial completed."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed, safe in worker processes
    import matplotlib.pyplot as plt

    from hpo_sweeper.plots import _save

    done = [t for t in trials if t.status is TrialStatus.COMPLETED and t.values is not None]
    if not done:
        return None
    infeasible = [t for t in trials if t.status is TrialStatus.INFEASIBLE and t.values is not None]
    front = sorted(pareto_trials(done, directions), key=lambda t: t.values[0])  # type: ignore[index]
    pairs = list(itertools.combinations(range(len(names)), 2))
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.8 * rows), squeeze=False)
    for ax, (i, j) in zip(axes.flat, pairs):
        ax.scatter([t.values[i] for t in done], [t.values[j] for t in done],  # type: ignore[index]
                   s=14, alpha=0.5, color="0.5", label="trial")
        if infeasible:  # shown, never on the front
            ax.scatter([t.values[i] for t in infeasible], [t.values[j] for t in infeasible],  # type: ignore[index]
                       s=14, alpha=0.5, marker="x", color="C0", label="infeasible")
        ax.scatter([t.values[i] for t in front], [t.values[j] for t in front],  # type: ignore[index]
                   s=22, color="C3", label="Pareto front")
        if len(names) == 2:
            ax.step([t.values[i] for t in front], [t.values[j] for t in front],  # type: ignore[index]
                    where="post", color="C3", lw=1)
        ax.set_xlabel(f"{names[i]} ({Direction.parse(directions[i]).value})")
        ax.set_ylabel(f"{names[j]} ({Direction.parse(directions[j]).value})")
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    fig.suptitle(f"Pareto front: {len(front)} of {len(done)} completed trials")
    fig.tight_layout()
    path = Path(out_dir) / "pareto.png"
    _save(fig, path)
    plt.close(fig)
    return path
