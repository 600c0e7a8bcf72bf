"""RESULTS.md and its PNG plots, from the stored results of a benchmark run.

``write_report(data, out_dir)``: ``data`` holds ``meta`` (machine, versions, command,
timings), ``regret`` (the run records of ``regret.run_jobs``), ``overhead`` (the rows of
``overhead.run_overhead``) and ``e2e`` (``end_to_end.run_end_to_end``); any part may be
missing, and its section then says so.
"""

from __future__ import annotations

import math
import os
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.methods import METHOD_LABELS, METHODS
from benchmarks.problems import get_problem
from benchmarks.regret import aggregate, reference_values, regret_curves

BENCH_DIR = Path(__file__).resolve().parent

__all__ = ["write_report"]

OURS = ("random", "bayes-jax", "bayes-skopt")
OURS_BAYES = ("bayes-jax", "bayes-skopt")
_COLORS = {
    "random": "#999999",
    "bayes-jax": "#d62728",
    "bayes-skopt": "#ff7f0e",
    "optuna-gp": "#1f77b4",
    "optuna-tpe": "#17becf",
    "skopt-gp": "#2ca02c",
}


def _sci(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v == 0:
        return "0"
    return f"{v:.1e}"


def _sec(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v >= 10:
        return f"{v:.0f}"
    if v >= 1:
        return f"{v:.2f}"
    if v >= 0.01:
        return f"{v:.3f}"
    return f"{v:.4f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _reused_sections(meta: dict[str, Any]) -> list[str]:
    text = meta.get("reused") or ""
    return [s for s in ("regret", "overhead", "e2e") if f"{s}" in text.split("reused from")[0]]


def _label(m: str) -> str:
    return METHOD_LABELS.get(m, m)


# --- regret ------------------------------------------------------------------------------------


class RegretView:
    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = [r for r in results if r.get("values")]
        self.failed = [r for r in results if r.get("error")]
        self.ref = reference_values(self.results)
        self.curves = regret_curves(self.results, self.ref)
        self.agg = aggregate(self.curves)
        self.problems = list(dict.fromkeys(r["problem"] for r in self.results))
        self.qs = sorted({r["q"] for r in self.results})
        present = {r["method"] for r in self.results}
        self.methods = [m for m in METHODS if m in present]

    def final(self, problem: str, q: int, method: str, at: int | None = None,
              seeds: tuple[int, ...] | None = None) -> tuple[float, float, float, int] | None:
        """(median, q25, q75, n_seeds) of the regret after ``at`` trials (default: the budget)."""
        if seeds is not None:
            rows = [r for r in self.results if (r["problem"], r["q"], r["method"]) == (problem, q, method)
                    and r["seed"] in seeds]
            if not rows:
                return None
            vals = []
            for r in rows:
                v = r["values"][: min(at or r["n_trials"], r["n_trials"])]
                vals.append(max(min(v) - self.ref[problem], 0.0))
            return float(np.median(vals)), float(np.percentile(vals, 25)), float(np.percentile(vals, 75)), len(vals)
        m = self.curves.get((problem, q, method))
        if m is None:
            return None
        col = m[:, min(at or m.shape[1], m.shape[1]) - 1]
        col = col[~np.isnan(col)]
        if len(col) == 0:
            return None
        return float(np.median(col)), float(np.percentile(col, 25)), float(np.percentile(col, 75)), len(col)

    def budget(self, problem: str) -> int:
        return max(r["n_trials"] for r in self.results if r["problem"] == problem)


def _regret_tables(rv: RegretView) -> list[str]:
    out: list[str] = []
    for q in rv.qs:
        mode = "sequential (q=1)" if q == 1 else f"batch (q={q}: ask {q}, evaluate {q}, tell {q})"
        out += ["", f"#### Simple regret after the full budget, {mode}", "",
                "Median [25th, 75th percentile] over seeds; the best median per row in **bold**.", ""]
        header = ["problem (trials, seeds)"] + [_label(m) for m in rv.methods]
        rows = []
        for p in rv.problems:
            cells = {m: rv.final(p, q, m) for m in rv.methods}
            meds = [c[0] for c in cells.values() if c]
            best = min(meds) if meds else None
            n_seeds = max((c[3] for c in cells.values() if c), default=0)
            row = [f"{get_problem(p).label} ({rv.budget(p)}, {n_seeds})"]
            for m in rv.methods:
                c = cells[m]
                if not c:
                    row.append("-")
                    continue
                s = f"{_sci(c[0])} [{_sci(c[1])}, {_sci(c[2])}]"
                row.append(f"**{s}**" if c[0] == best else s)
            rows.append(row)
        out += _table(header, rows)
    return out


def _q_compare(rv: RegretView) -> list[str]:
    if 1 not in rv.qs or len(rv.qs) < 2:
        return ["", "(Only one batch size was run.)"]
    qb = max(rv.qs)
    out = ["", f"Median simple regret at the same number of trials, sequential (q=1) against batches of q={qb}. "
           f"A ratio above 1 means batching cost sample efficiency.", ""]
    seeds = tuple(sorted({r["seed"] for r in rv.results if r["q"] == qb}))
    out[-2] += f" Both over the seeds run in batch mode ({len(seeds)}: {', '.join(map(str, seeds))})."
    header = ["problem", "method", "q=1", f"q={qb}", f"ratio q={qb} / q=1"]
    rows = []
    for p in rv.problems:
        for m in [m for m in (*OURS_BAYES, "optuna-gp", "skopt-gp") if m in rv.methods]:
            a, b = rv.final(p, 1, m, seeds=seeds), rv.final(p, qb, m, seeds=seeds)
            if not a or not b:
                continue
            ratio = "-" if a[0] == 0 else f"{b[0] / a[0]:.2f}"
            rows.append([get_problem(p).label, _label(m), _sci(a[0]), _sci(b[0]), ratio])
    return out + _table(header, rows)


def _run_time_table(rv: RegretView) -> list[str]:
    out = ["", "Optimiser time per run (wall seconds minus the time spent evaluating the objective), median over "
           "seeds, sequential mode. Two runs share the 2 cores at any time; a JAX worker compiles once per "
           "padded size and reuses the programs for the next seeds it runs, so its first run pays more.", ""]
    header = ["problem"] + [_label(m) for m in rv.methods]
    rows = []
    for p in rv.problems:
        row = [get_problem(p).label]
        for m in rv.methods:
            ts = [r["wall_s"] - r["eval_s"] for r in rv.results if (r["problem"], r["q"], r["method"]) == (p, 1, m)]
            row.append(_sec(statistics.median(ts)) if ts else "-")
        rows.append(row)
    return out + _table(header, rows)


def _plot_regret(rv: RegretView, plots: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for p in rv.problems:
        prob = get_problem(p)
        fig, axes = plt.subplots(1, len(rv.qs), figsize=(6.2 * len(rv.qs), 4.3), squeeze=False, sharey=True)
        for ax, q in zip(axes[0], rv.qs):
            for m in rv.methods:
                a = rv.agg.get((p, q, m))
                if a is None:
                    continue
                t = np.arange(1, len(a["median"]) + 1)
                if prob.optimum is None:  # real task: the objective itself, linear
                    off = rv.ref[p]
                    med, lo, hi = a["median"] + off, a["q25"] + off, a["q75"] + off
                else:
                    floor = 1e-9
                    med, lo, hi = (np.maximum(a[k], floor) for k in ("median", "q25", "q75"))
                ax.plot(t, med, color=_COLORS.get(m), label=f"{_label(m)}", lw=1.8 if m in OURS else 1.3,
                        ls="-" if m in OURS else "--")
                ax.fill_between(t, lo, hi, color=_COLORS.get(m), alpha=0.12, lw=0)
            if prob.optimum is None:
                ax.set_ylabel("best 1 - CV accuracy so far")
                ax.set_ylim(rv.ref[p] - 0.002, rv.ref[p] + 0.06)
            else:
                ax.set_yscale("log")
                ax.set_ylabel("simple regret (floored at 1e-9)")
            ax.set_xlabel("trial")
            ax.set_title(f"{prob.label}, {'sequential' if q == 1 else f'batches of {q}'}")
            ax.grid(alpha=0.3, which="both")
        axes[0][0].legend(fontsize=8)
        fig.suptitle("median and interquartile range over seeds", fontsize=9)
        fig.tight_layout()
        name = f"regret_{p}.png"
        fig.savefig(plots / name, dpi=90)
        plt.close(fig)
        names.append(name)
    return names


# --- overhead ----------------------------------------------------------------------------------


def _ov_index(rows: list[dict[str, Any]]) -> dict[tuple[str, int, int], dict[str, Any]]:
    return {(r["method"], r["d"], r["n"]): r for r in rows if "d" in r}


def _overhead_tables(rows: list[dict[str, Any]]) -> list[str]:
    idx = _ov_index(rows)
    methods = [m for m in ("bayes-jax", "bayes-skopt", "optuna-gp") if any(k[0] == m for k in idx)]
    dims = sorted({k[1] for k in idx})
    ns = sorted({k[2] for k in idx})
    out = ["", "Seconds per suggestion (one `ask(1)` after telling n observations: fit + acquisition), median of "
           "the warm repeats; CPU seconds in brackets. `skip` = not run (reason below the table).", ""]
    header = ["d", "n"] + [_label(m) for m in methods]
    if "bayes-jax" in methods and "optuna-gp" in methods:
        header.append("Optuna GP / JAX")
    if "bayes-jax" in methods and "bayes-skopt" in methods:
        header.append("skopt / JAX")
    trows, skips = [], []
    for d in dims:
        for n in ns:
            row = [str(d), str(n)]
            for m in methods:
                r = idx.get((m, d, n))
                if r is None:
                    row.append("-")
                elif "skipped" in r:
                    row.append("skip")
                    skips.append(f"{_label(m)} d={d} n={n}: {r['skipped']}")
                else:
                    row.append(f"{_sec(r['warm_s'])} ({_sec(r['warm_cpu_s'])})")
            for other in ("optuna-gp", "bayes-skopt"):
                if "bayes-jax" in methods and other in methods:
                    a, b = idx.get(("bayes-jax", d, n)), idx.get((other, d, n))
                    if a and b and "warm_s" in a and "warm_s" in b:
                        row.append(f"{b['warm_s'] / a['warm_s']:.2g}x")
                    else:
                        row.append("-")
            trows.append(row)
    out += _table(header, trows)
    if skips:
        out += ["", "Skipped: " + "; ".join(skips) + "."]
    errs = [r for r in rows if "error" in r]
    for r in errs:
        out += ["", f"{_label(r['method'])} failed: `{r['error'].splitlines()[-1] if r['error'] else ''}`"]
    jx = [idx[k] for k in sorted(idx) if k[0] == "bayes-jax" and "warm_s" in idx[k]]
    if jx:
        out += ["", "#### JAX engine: compilation at a new padded size", "",
                "After telling n observations, the first `ask` compiles the programs for n's power-of-two bucket "
                "(and for a new d); a later call may compile one more (counted as warm-up until a call compiles "
                "nothing). Warm calls in the same bucket reuse the programs. Compile time is summed from JAX's own "
                "monitoring events (tracing + lowering + XLA compile).", ""]
        out += _table(["d", "n", "first call (s)", "warm-up calls", "warm-up total (s)", "of which compiling (s)",
                       "XLA compiles in warm-up", "warm call (s)", "XLA compiles in warm calls"],
                      [[str(r["d"]), str(r["n"]), _sec(r["first_s"]), str(r.get("warmup_calls", 1)),
                        _sec(r.get("warmup_s", r["first_s"])),
                        _sec(r.get("warmup_compile_s", r.get("first_compile_s"))),
                        str(r.get("warmup_compiles", r.get("first_compiles", "-"))), _sec(r["warm_s"]),
                        str(r.get("warm_compiles", "-"))]
                       for r in jx])
    return out


def _plot_overhead(rows: list[dict[str, Any]], plots: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = _ov_index(rows)
    dims = sorted({k[1] for k in idx})
    if not dims:
        return None
    fig, axes = plt.subplots(1, len(dims), figsize=(4.6 * len(dims), 4.0), squeeze=False, sharey=True)
    for ax, d in zip(axes[0], dims):
        for m in ("bayes-jax", "bayes-skopt", "optuna-gp"):
            pts = sorted((k[2], r) for k, r in idx.items() if k[0] == m and k[1] == d and "warm_s" in r)
            if not pts:
                continue
            ns = [n for n, _ in pts]
            ax.plot(ns, [r["warm_s"] for _, r in pts], "o-", color=_COLORS[m], label=f"{_label(m)}, warm")
            if m == "bayes-jax":
                ax.plot(ns, [r["first_s"] for _, r in pts], "o:", color=_COLORS[m], alpha=0.6,
                        label=f"{_label(m)}, first call (compiles)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("observations n")
        ax.set_title(f"d = {d}")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("seconds per suggestion")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "overhead.png", dpi=90)
    plt.close(fig)
    return "overhead.png"


# --- end to end --------------------------------------------------------------------------------


def _marginal_range(e2e: dict[str, Any], row: dict[str, Any]) -> tuple[float, float] | None:
    from benchmarks.end_to_end import round_marginals

    basic = next((r for r in e2e["rows"] if r["sweeper"] == "basic" and "walls_long" in r), None)
    if basic is None or "walls_long" not in row:
        return None
    m = round_marginals(row, basic)
    return (min(m), max(m)) if m else None


def _e2e_tables(e2e: dict[str, Any]) -> list[str]:
    from benchmarks.end_to_end import SWEEPER_LABELS

    n, nl = e2e["n_trials"], e2e.get("n_long")
    out = ["", f"`python benchmarks/e2e_app/app.py -m ...` with a task that returns at once, "
           f"{n} trials" + (f" and {nl} trials" if nl else "") + f", median of {e2e['repeats']} rounds; run in "
           f"the separate env `benchmarks/.env-optuna-sweeper` "
           f"({', '.join(f'{k} {v}' for k, v in e2e['versions'].items())}). Overhead per trial at {n} = (wall - "
           f"basic sweeper's wall) / {n}: start-up amortised over a short sweep plus the per-trial work. "
           + (f"Marginal cost per trial = the slope of the wall time from {n} to {nl} trials minus the basic "
              f"sweeper's: what each further trial of a long sweep costs. Start-up = the rest, paid once per "
              f"sweep (imports, for the JAX engine tracing its programs; the end-of-sweep plots). A negative "
              f"start-up means the cost per trial grows with the number of trials (the skopt engine refits its GP "
              f"from scratch at every suggestion), so the straight-line split does not apply." if nl else ""),
           "",
           "Where a trial's time goes: Hydra composes each job's config twice in every row (the sweeper validates "
           "a batch before launching it, as Hydra's own sweepers do, and the launcher composes it again). Our "
           "sweepers add, per trial, a SQLite transaction at launch and one at the end, a job record file, and "
           "a rewrite of `optimization_results.yaml` and `trials.csv` (the price of a sweep that survives a "
           "crash with every finished trial on disk), and launch each batch separately (batch_size 1 here; "
           "hydra-optuna-sweeper launches batches of n_jobs = 2 by default).", ""]
    rows = []
    for r in e2e["rows"]:
        label = SWEEPER_LABELS.get(r["sweeper"], r["sweeper"])
        if "error" in r:
            rows.append([label, "failed", "-", "-", "-", "-", "-"][: 7 if nl else 4])
            continue
        floor = r["sweeper"] == "basic"
        row = [label, _sec(r["wall_s"])]
        if nl:
            row.append(_sec(r["wall_long_s"]))
        row += ["0 (floor)" if floor else _sec(r["over_basic_s"]),
                "0 (floor)" if floor else f"{r['per_trial_s'] * 1000:.0f}"]
        if nl:
            rng = _marginal_range(e2e, r)
            spread = f" [{rng[0] * 1000:.0f}, {rng[1] * 1000:.0f}]" if rng else ""
            row += ["0 (floor)" if floor else f"{r['marginal_s'] * 1000:.0f}{spread}",
                    "0 (floor)" if floor else _sec(r["startup_s"])]
        rows.append(row)
    head = ["sweeper", f"wall, {n} trials (s)"] + ([f"wall, {nl} trials (s)"] if nl else [])
    head += [f"minus the basic sweeper, {n} trials (s)", f"overhead per trial at {n} (ms)"]
    if nl:
        head += ["marginal cost per trial (ms) [range over rounds]", "start-up (s)"]
    out += _table(head, rows)
    for r in e2e["rows"]:
        if "error" in r:
            out += ["", f"{r['sweeper']} failed: ```{r['error'][-800:]}```"]
    sp = e2e.get("speedup")
    if sp:
        out += ["", "#### Joblib launcher: wall-clock speed-up of a real sweep (issue 6)", "",
                f"`hydra/sweeper=bayes` (backend {sp['backend']}), {sp['n_trials']} trials of a "
                f"{sp['sleep_s']} s sleep task, `hydra/launcher=joblib` with `batch_size = n_jobs = q`; one run "
                f"each, process start-up included.", ""]
        rows = []
        for r in sp["rows"]:
            if "error" in r:
                rows.append([str(r["q"]), "failed", "-", "-", "-"])
                continue
            rows.append([str(r["q"]), _sec(r["wall_s"]), _sec(r["ideal_sleep_s"]),
                         f"{r.get('speedup', float('nan')):.2f}x", f"{100 * r.get('fraction_of_serial', float('nan')):.0f}%"])
        out += _table(["q", "wall (s)", "sleeping alone (s)", "speed-up over q=1", "of the serial time"], rows)
    return out


# --- targets and losses ------------------------------------------------------------------------


def _targets(rv: RegretView | None, ov: list[dict[str, Any]] | None, e2e: dict[str, Any] | None) -> list[str]:
    rows: list[list[str]] = []

    def add(issue: str, what: str, target: str, value: str, ok: bool | None) -> None:
        rows.append([issue, what, target, value, "-" if ok is None else ("met" if ok else "**missed**")])

    idx = _ov_index(ov or [])
    for n, lim in ((200, 0.05), (1000, 0.25)):
        r = idx.get(("bayes-jax", 6, n))
        if r and "warm_s" in r:
            add("4", f"JAX time per suggestion, d=6, n={n} (wall median of {r['repeats']} warm calls; CPU)",
                f"<= {lim} s", f"{_sec(r['warm_s'])} s (CPU {_sec(r['warm_cpu_s'])} s)", r["warm_s"] <= lim)
        else:
            add("4", f"JAX time per suggestion, d=6, n={n}", f"<= {lim} s", "not measured", None)
    for n in (200, 1000):
        a, b = idx.get(("bayes-jax", 6, n)), idx.get(("optuna-gp", 6, n))
        if a and b and "warm_s" in a and "warm_s" in b:
            ratio = b["warm_s"] / a["warm_s"]
            add("4", f"JAX vs Optuna GPSampler speed, d=6, n={n}", ">= 10x faster", f"{ratio:.2g}x", ratio >= 10)
        else:
            add("4", f"JAX vs Optuna GPSampler speed, d=6, n={n}", ">= 10x faster", "not measured", None)
    for p, lim in (("branin", 1e-4), ("hartmann6", 3e-3)):
        c = rv.final(p, 1, "bayes-jax", at=50) if rv and (p, 1, "bayes-jax") in rv.curves else None
        label = get_problem(p).label
        if c:
            at = min(50, rv.budget(p))
            add("4", f"JAX median regret, {label}, {at} sequential trials ({c[3]} seeds)", f"<= {lim:.0e}",
                _sci(c[0]), c[0] <= lim)
            o = rv.final(p, 1, "optuna-gp", at=50)
            if o:
                add("4", f"JAX at least as good as Optuna GPSampler, {label}", f"<= {_sci(o[0])} (Optuna)",
                    _sci(c[0]), c[0] <= o[0])
        else:
            add("4", f"JAX median regret, {label}, 50 sequential trials", f"<= {lim:.0e}", "not measured", None)
    c = rv.final("branin", 1, "bayes-skopt", at=40, seeds=(0, 1, 2)) if rv and ("branin", 1, "bayes-skopt") in rv.curves else None
    if c:
        add("3", f"skopt backend median regret, Branin, {min(40, rv.budget('branin'))} trials, seeds 0-2 "
            f"({c[3]} seeds ran)", "<= 1e-2", _sci(c[0]), c[0] <= 1e-2)
    sp = (e2e or {}).get("speedup")
    if sp:
        r4 = next((r for r in sp["rows"] if r.get("q") == 4 and "fraction_of_serial" in r), None)
        if r4:
            add("6", f"joblib, {sp['n_trials']} x {sp['sleep_s']} s trials, batch 4: share of the serial time",
                "well under 60%", f"{100 * r4['fraction_of_serial']:.0f}%", r4["fraction_of_serial"] < 0.6)
    return _table(["issue", "target", "goal", "measured", "verdict"], rows)


def _losses(rv: RegretView | None, ov: list[dict[str, Any]] | None, e2e: dict[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if rv:
        for q in rv.qs:
            for p in rv.problems:
                cells = {m: rv.final(p, q, m) for m in rv.methods}
                cells = {m: c for m, c in cells.items() if c}
                if not cells:
                    continue
                best_m = min(cells, key=lambda m: cells[m][0])
                ours = {m: c for m, c in cells.items() if m in OURS}
                if not ours or best_m in OURS:
                    continue
                our_best = min(ours, key=lambda m: ours[m][0])
                if ours[our_best][0] > cells[best_m][0]:
                    lines.append(f"- {get_problem(p).label}, q={q}: {_label(best_m)} reaches a median regret of "
                                 f"{_sci(cells[best_m][0])}; our best, {_label(our_best)}, {_sci(ours[our_best][0])}.")
        for q in rv.qs:
            for p in rv.problems:
                a, b = rv.final(p, q, "bayes-jax"), rv.final(p, q, "optuna-gp")
                if a and b and a[0] > b[0]:
                    lines.append(f"- bayes (JAX) is behind Optuna GPSampler on {get_problem(p).label}, q={q}: "
                                 f"{_sci(a[0])} against {_sci(b[0])}.")
    idx = _ov_index(ov or [])
    slower = []
    for (m, d, n), r in sorted(idx.items()):
        if m != "bayes-jax" or "warm_s" not in r:
            continue
        o = idx.get(("optuna-gp", d, n))
        if o and "warm_s" in o and o["warm_s"] < r["warm_s"]:
            slower.append(f"d={d} n={n} ({_sec(r['warm_s'])} s against {_sec(o['warm_s'])} s)")
    if slower:
        lines.append("- Time per suggestion: the JAX engine is slower than Optuna GPSampler at " + ", ".join(slower) + ".")
    if e2e:
        n = e2e["n_trials"]
        rows = {r["sweeper"]: r for r in e2e["rows"] if "error" not in r}
        o = rows.get("optuna-plugin")
        for s in ("random", "random-noplots", "bayes-jax", "bayes-skopt"):
            r = rows.get(s)
            if o is None or r is None:
                continue
            if r["per_trial_s"] > o["per_trial_s"]:
                lines.append(f"- End to end, {s} costs {r['per_trial_s'] * 1000:.0f} ms per trial over Hydra's basic "
                             f"sweeper in a {n}-trial sweep, more than hydra-optuna-sweeper's "
                             f"{o['per_trial_s'] * 1000:.0f} ms.")
            ours, theirs = _marginal_range(e2e, r), _marginal_range(e2e, o)
            # only where the rounds' ranges do not overlap: closer than that is noise
            if ours and theirs and ours[0] > theirs[1]:
                lines.append(f"- End to end, {s}'s marginal cost per trial is {r['marginal_s'] * 1000:.0f} ms "
                             f"(rounds {ours[0] * 1000:.0f} to {ours[1] * 1000:.0f}), hydra-optuna-sweeper's "
                             f"{o['marginal_s'] * 1000:.0f} ms ({theirs[0] * 1000:.0f} to {theirs[1] * 1000:.0f}).")
    return lines or ["- Nowhere in this run: every table above has one of our methods at least level with the best."]


# --- the document ------------------------------------------------------------------------------


def write_report(data: dict[str, Any], out_dir: Path) -> Path:
    meta = data.get("meta", {})
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    rv = RegretView(data["regret"]) if data.get("regret") else None
    ov = data.get("overhead")
    e2e = data.get("e2e")
    L: list[str] = []
    mode = meta.get("mode", "full")
    L += ["# Benchmark results", ""]
    if mode != "full":
        L += [f"> **{mode} mode**: few seeds and trials, to check that the suite runs. Not for conclusions.", ""]
    history = meta.get("history", [])
    if not history:
        L += [f"Generated by `{meta.get('command', 'python -m benchmarks.run')}` on {meta.get('date', '?')}, "
              f"in {meta.get('total_wall_s', 0) / 60:.1f} min; everything below was measured in that run.", ""]
    else:
        steps = history + [{k: meta.get(k) for k in ("command", "date", "git")}]
        own = meta.get("step_wall_s") or sum(v.get("wall_s", 0) for k, v in meta.get("sections", {}).items()
                                             if k not in _reused_sections(meta))
        L += ["Produced in steps: a full run, then parts re-run after the JAX engine changed (the last step "
              "wins for what it re-ran; what each step re-ran is in its command):", ""]
        for i, h in enumerate(steps):
            t = h.get("total_wall_s") if i < len(steps) - 1 else own
            L.append(f"{i + 1}. `{h.get('command')}` on {h.get('date')}" + (f" (git {h['git']})" if h.get("git") else "")
                     + (f", {t / 60:.1f} min" if t else ""))
        L += ["", f"Last step: {meta['reused']}." if meta.get("reused") else "", ""]
    m = meta.get("machine", {})
    L += ["## Machine and versions", "",
          f"- {m.get('nproc', '?')} CPU cores ({m.get('cpu', '?')}), {m.get('ram_gb', '?')} GB RAM, no GPU; "
          f"{m.get('os', '')}",
          f"- Load average when the run started / ended: {meta.get('load_start', '?')} / {meta.get('load_end', '?')} "
          "(other work shared the machine when it was above ~2; see the notes on timings).",
          "- Every benchmark process is pinned to one thread (OMP/MKL/OpenBLAS = 1, "
          "`XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`, torch 1 thread); "
          f"regret runs use {meta.get('config', {}).get('workers', 2)} worker processes, overhead measurements run "
          "one method at a time, in a fresh process each.",
          "- " + ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()),
          f"- git: {meta.get('git', '?')}", ""]
    if meta.get("unavailable"):
        L += ["**Methods that could not run here** (left out of every table):", ""]
        L += [f"- {_label(k)}: {v}" for k, v in meta["unavailable"].items()] + [""]
    cfg = meta.get("config", {})
    if cfg:
        L += ["Settings of this run: " + "; ".join(f"{k} = {v}" for k, v in cfg.items()), ""]
    if meta.get("budget_notes"):
        L += ["Budget: " + meta["budget_notes"], ""]
    L += [("Section times, in the step that produced each section: " if history else "Section times: ")
          + ", ".join(f"{k} {v.get('wall_s', 0) / 60:.1f} min" for k, v in
                                       meta.get("sections", {}).items())
          + (f". The regret runs used {sum(r.get('cpu_s', 0) for r in data.get('regret', [])) / 60:.0f} CPU-minutes "
             f"in all (about {sum(r.get('cpu_s', 0) for r in data.get('regret', [])) / 120:.0f} min of wall time "
             "on 2 otherwise idle cores)" if data.get("regret") else ""), ""]

    L += ["## Targets", "", "From issue 3 (skopt backend), issue 4 (JAX engine) and issue 6 (batches).", ""]
    L += _targets(rv, ov, e2e)

    L += ["", "## Where we lose", "", "Generated from the tables below: every place where another tool is ahead.", ""]
    L += _losses(rv, ov, e2e)

    L += ["", "## 1. Sample efficiency: simple regret against trials", ""]
    if rv:
        L += ["Simple regret after t trials = best value among the first t minus the optimum "
              "(Branin 0.397887, Hartmann-6 -3.32237, Rosenbrock-4 and Levy-10 0). For the real task (SVM on "
              "digits, objective 1 - 3-fold CV accuracy) the optimum is unknown and the regret is measured "
              f"against the best value any run found ({rv.ref.get('svm_digits', float('nan')):.5f})."
              if "svm_digits" in rv.ref else
              "Simple regret after t trials = best value among the first t minus the optimum.", ""]
        L += ["Methods: " + "; ".join(f"**{_label(m)}**" for m in rv.methods) + ". Our methods and Optuna/skopt "
              "run with their defaults (see `benchmarks/methods.py`): ours with `seed=s, n_trials=budget`; "
              "Optuna TPESampler(seed) (constant_liar=True in batches), GPSampler(seed); scikit-optimize with "
              "gp_minimize's settings (GP, gp_hedge, 10 random initial points) through `skopt.Optimizer`.", ""]
        L += _regret_tables(rv)
        if rv.failed:
            L += ["", f"{len(rv.failed)} run(s) failed and are excluded or cut short:"]
            for r in rv.failed[:10]:
                L.append(f"- {r['problem']} {r['method']} q={r['q']} seed={r['seed']}: "
                         f"`{r['error'].splitlines()[0][:200]}`")
        L += ["", "### Batches: q=1 against q=4 at equal trial counts (issue 6)"]
        L += _q_compare(rv)
        L += ["", "### Optimiser time in these runs"]
        L += _run_time_table(rv)
        names = _plot_regret(rv, plots)
        L += ["", "### Regret curves", ""]
        L += [f"![{n}](plots/{n})" for n in names]
    else:
        L += ["(not run)"]

    L += ["", "## 2. Overhead: seconds per suggestion against n and d", ""]
    if ov:
        L += _overhead_tables(ov)
        name = _plot_overhead(ov, plots)
        if name:
            L += ["", f"![time per suggestion](plots/{name})"]
    else:
        L += ["(not run)"]

    L += ["", "## 3. End to end: the sweeper's own overhead in a real Hydra multirun", ""]
    if e2e:
        L += _e2e_tables(e2e)
    else:
        L += ["(not run)"]

    L += ["", "## Notes on method and caveats", "",
          "- Timings are wall-clock on a shared 2-core machine; CPU seconds are shown beside the overhead "
          "figures because they are less disturbed by other load. Compare methods within one table: they were "
          "measured minutes apart under the same conditions.",
          "- CPU seconds count every thread of the process: the JAX engine's exceed its wall seconds because JAX "
          "runs each compiled program on a runtime thread of its own (one program at a time, single-threaded "
          "math under the flags above) while the Python thread prepares the next call, so the two overlap "
          "(measured with per-thread CPU times: 50 suggestions at d=6, n=200 took 0.87 s wall, 0.90 s on XLA's "
          "threads, 0.21 s on Python's). Its speed-up over Optuna is therefore smaller in CPU terms than in wall "
          "terms; the targets use wall time, as a user waits it.",
          "- Regret runs record values only; reruns with the same seeds give the same proposals for every method "
          "except where a library draws from an unseeded source.",
          "- The real task's regret is relative to the best value found in this run, so it is comparable "
          "between methods but not between runs.",
          ""]
    L += _hand_written_links(out_dir)
    path = out_dir / "RESULTS.md"
    path.write_text("\n".join(L) + "\n")
    return path


def hand_written_results(root: Path = BENCH_DIR) -> list[Path]:
    """The results this report does not generate: one file per topic, written with the run that
    produced it (``notes/*.md``, ``<topic>/RESULTS.md``, ``<topic>_RESULTS.md``, BAYESMARK.md).
    They live in files of their own so that regenerating RESULTS.md can never drop them."""
    found = [*root.glob("notes/*.md"), *root.glob("*/RESULTS.md"), *root.glob("*_RESULTS.md"),
             *root.glob("BAYESMARK.md")]
    return sorted(p for p in set(found) if p.resolve() != (root / "RESULTS.md").resolve()
                  and "quick" not in p.relative_to(root).parts)


def _hand_written_links(out_dir: Path) -> list[str]:
    files = hand_written_results()
    if not files:
        return []
    L = ["## More results, one file per topic", "",
         "Measured by the benchmark of each issue, with its own command, date and machine load (not regenerated "
         "by this report):", ""]
    for f in files:
        first = f.read_text().split("\n", 1)[0].lstrip("# ").strip() or f.name
        L.append(f"- [{first}]({os.path.relpath(f, out_dir)})")
    return L + [""]
