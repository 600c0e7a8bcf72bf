"""What a sweep found: a text report and two plots.

``convergence.png``: every trial's value and the best so far against the trial
number. ``params.png``: the objective against each parameter (log axes where the
space is log-scaled; categoricals as labelled positions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from hpo_sweeper.results import RESULTS_FILE, best_trial
from hpo_sweeper.trials import Trial, TrialStatus

__all__ = ["SweepData", "format_report", "load_sweep", "write_plots"]


class SweepData:
    def __init__(self, trials: list[Trial], direction: str, space: Mapping[str, Any], name: str) -> None:
        self.trials, self.direction, self.space, self.name = trials, direction, dict(space), name


def load_sweep(sweep_dir: str | Path) -> SweepData:
    """Read a sweep from its trial store (or, failing that, its trials.csv)."""
    sweep_dir = Path(sweep_dir)
    summary: dict[str, Any] = {}
    if (sweep_dir / RESULTS_FILE).exists():
        summary = yaml.safe_load((sweep_dir / RESULTS_FILE).read_text()) or {}
    direction = summary.get("direction", "minimize")
    db = sweep_dir / "trials.db"
    if db.exists():
        from hpo_sweeper.store import load_trials

        trials, meta = load_trials(db)
        settings = meta.get("settings") or {}
        space = (meta.get("space") or {}).get("params", {})
        return SweepData(trials, settings.get("direction", direction), space, str(meta.get("name", "")))
    csv_path = sweep_dir / "trials.csv"
    if not csv_path.exists():
        raise FileNotFoundError(f"{sweep_dir} holds neither trials.db nor trials.csv: is it a sweep directory?")
    from hpo_sweeper.trials_csv import read_rows

    trials = [Trial(row.number if row.number is not None else i, row.params, TrialStatus(row.status), row.value,
                    row.error) for i, row in enumerate(read_rows(csv_path))]
    return SweepData(trials, direction, {}, str(summary.get("name", "")))


def format_report(data: SweepData, top: int = 10) -> str:
    trials = data.trials
    best = best_trial(trials, data.direction)
    n_done = sum(t.status is TrialStatus.COMPLETED for t in trials)
    n_failed = sum(t.status is TrialStatus.FAILED for t in trials)
    n_infeasible = sum(t.status is TrialStatus.INFEASIBLE for t in trials)
    also = f", {n_infeasible} infeasible" if n_infeasible else ""
    lines = [f"{data.name or 'sweep'}: {len(trials)} trials ({n_done} completed, {n_failed} failed{also}), "
             f"{data.direction}"]
    if best is None:
        lines.append("No completed trial yet.")
        return "\n".join(lines)
    lines.append(f"Best trial {best.number}: value={best.value:.6g}")
    for k, v in best.params.items():
        lines.append(f"  {k} = {v!r}")
    sign = -1.0 if data.direction == "maximize" else 1.0
    # An infeasible trial has a value but no rank: it is never among the best.
    ranked = sorted((t for t in trials if t.value is not None and t.status is not TrialStatus.INFEASIBLE),
                    key=lambda t: (sign * t.value, t.number))[:top]  # type: ignore[operator]
    names = list(dict.fromkeys(k for t in ranked for k in t.params))
    header = ["rank", "trial", "value", *names]
    rows = [
        [str(i + 1), str(t.number), f"{t.value:.6g}", *(_short(t.params.get(n)) for n in names)]
        for i, t in enumerate(ranked)
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines.append("")
    lines.append(f"Top {len(ranked)} trials:")
    for r in [header, *rows]:
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(r, widths)))
    return "\n".join(lines)


def write_plots(data: SweepData, out_dir: str | Path) -> list[Path]:
    """Write convergence.png and params.png; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed, safe in worker processes
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, NullFormatter

    out_dir = Path(out_dir)
    done = sorted((t for t in data.trials if t.value is not None), key=lambda t: t.number)
    sign = -1.0 if data.direction == "maximize" else 1.0
    paths = []

    fig, ax = plt.subplots(figsize=(7, 4))
    if done:
        xs = [t.number for t in done]
        ys = [float(t.value) for t in done if t.value is not None]
        best, running = [], math.inf
        for t, y in zip(done, ys):
            if t.status is not TrialStatus.INFEASIBLE:  # an infeasible value is never the best so far
                running = min(running, sign * y)
            best.append(sign * running)
        ok = [t.status is not TrialStatus.INFEASIBLE for t in done]
        ax.scatter([x for x, k in zip(xs, ok) if k], [y for y, k in zip(ys, ok) if k], s=14, alpha=0.6,
                   label="trial value")
        if not all(ok):
            ax.scatter([x for x, k in zip(xs, ok) if not k], [y for y, k in zip(ys, ok) if not k], s=14,
                       marker="x", color="0.5", label="infeasible")
        ax.step(xs, best, where="post", color="C3", label="best so far")
        ax.legend()
    failed = [t.number for t in data.trials if t.status is TrialStatus.FAILED]
    for x in failed:
        ax.axvline(x, color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel("trial")
    ax.set_ylabel("objective")
    ax.set_title(f"Convergence ({data.direction}; grey lines: failed trials)")
    fig.tight_layout()
    paths.append(out_dir / "convergence.png")
    _save(fig, paths[-1])
    plt.close(fig)

    names = list(dict.fromkeys(k for t in done for k in t.params if _varies(done, k)))
    n = max(1, len(names))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        shown = [t for t in done if name in t.params]  # a conditional parameter: the trials it applies to
        values = [t.params[name] for t in shown]
        objective = [float(t.value) for t in shown if t.value is not None]
        spec = data.space.get(name, {})
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
            ax.scatter(values, objective, s=14, alpha=0.7)
            if spec.get("log") or (not spec and _looks_log(values)):
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks collide
            elif all(isinstance(x, int) for x in values):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            labels = list(dict.fromkeys(repr(x) if not isinstance(x, str) else x for x in values))
            pos = [labels.index(repr(x) if not isinstance(x, str) else x) for x in values]
            ax.scatter(pos, objective, s=14, alpha=0.7)
            ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        ax.set_xlabel(name)
        ax.set_ylabel("objective")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Objective against each parameter")
    fig.tight_layout()
    paths.append(out_dir / "params.png")
    _save(fig, paths[-1])
    plt.close(fig)
    return paths


def _save(fig: Any, path: Path) -> None:
    """Render to memory, then write atomically: never through a link planted at ``path``."""
    import io

    from hpo_sweeper.files import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write(path, buf.getvalue())


def _varies(trials: Sequence[Trial], key: str) -> bool:
    return len({repr(t.params.get(key)) for t in trials}) > 1


def _looks_log(xs: Sequence[Any]) -> bool:
    pos = [x for x in xs if x > 0]
    return len(pos) == len(xs) and len(pos) > 1 and max(pos) / min(pos) > 100


def _short(v: Any, limit: int = 14) -> str:
    text = f"{v:.4g}" if isinstance(v, float) else str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"
