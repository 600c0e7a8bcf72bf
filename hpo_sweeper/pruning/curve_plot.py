"""``learning_curves.png``: every trial's reported curve, pruned trials greyed, the best in colour."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from hpo_sweeper.trials import Trial, TrialStatus

__all__ = ["LEARNING_CURVES_FILE", "write_learning_curves"]

LEARNING_CURVES_FILE = "learning_curves.png"


def write_learning_curves(
    trials: Sequence[Trial], curves: Mapping[int, Sequence[tuple[int, float, float]]], out_dir: str | Path,
    *, best: int | None, label: str = "reported value",
) -> Path | None:
    """One line per trial that reported; None (nothing written) when none did."""
    drawn = [(t, curves[t.number]) for t in trials if curves.get(t.number)]
    if not drawn:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    from hpo_sweeper.plots import _save

    fig, ax = plt.subplots(figsize=(7, 4))
    # Pruned first, grey and thin, so that the trials that ran on are drawn over them.
    order = sorted(drawn, key=lambda tc: (tc[0].status is not TrialStatus.PRUNED, tc[0].number == best))
    for t, reports in order:
        steps = [s for s, v, _ in reports if not math.isnan(v)]
        values = [v for _, v, _ in reports if not math.isnan(v)]
        if t.number == best:
            ax.plot(steps, values, color="C3", lw=2, label=f"best (trial {t.number})", zorder=3)
        elif t.status is TrialStatus.PRUNED:
            ax.plot(steps, values, color="0.7", lw=0.8, marker=".", ms=3)  # a dot: pruned at its first step
        else:
            ax.plot(steps, values, color="C0", lw=1, alpha=0.8)
    ax.plot([], [], color="0.7", lw=0.8, label="pruned")
    ax.plot([], [], color="C0", lw=1, label="ran on")
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    ax.set_title(f"Learning curves: {len(drawn)} trials, "
                 f"{sum(t.status is TrialStatus.PRUNED for t, _ in drawn)} pruned")
    ax.legend()
    path = Path(out_dir) / LEARNING_CURVES_FILE
    _save(fig, path)
    plt.close(fig)
    return path
