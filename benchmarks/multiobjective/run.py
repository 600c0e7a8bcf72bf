"""Hypervolume against trials on ZDT1, ZDT2 and DTLZ2 (issue #16).

    .venv/bin/python -m benchmarks.multiobjective.run --seeds 10 --trials 50 --q 1
    .venv/bin/python -m benchmarks.multiobjective.run --report      # table from the stored runs

Methods (each at its defaults unless said):

==============  ===========================================================================
jax-logehvi     ours: ``suggest_multiobjective`` (one GP per objective, exact LogEHVI),
                after a scrambled Sobol design of ``--n-init`` points (default 10, the
                same number as Optuna GPSampler's random start-up trials); its reference
                point is the default rule (``pareto.reference_point`` of the points seen)
jax-logehvi-ref the same, told the problem's reference point (as BoTorch's benchmarks and
                tutorials do; Optuna's samplers have no such setting)
random          i.i.d. uniform points
optuna-gp       Optuna ``GPSampler(seed)`` (LogEHVI for several objectives)
optuna-tpe      Optuna ``TPESampler(seed, constant_liar=q > 1)``
optuna-nsga2    Optuna ``NSGAIISampler(seed, population_size=10)``: its default population
                of 50 would spend the whole 50-trial budget on the random first generation
==============  ===========================================================================

A batch of ``q`` is ``q`` asks before the ``q`` tells (Optuna sees running trials).
Each run stores the hypervolume (against the problem's fixed reference point) after every
trial, one JSON line per run in ``benchmarks/results/multiobjective.jsonl``; a run already
stored is not redone (delete the line, or pass ``--rerun METHOD``).
"""

from __future__ import annotations

from benchmarks._env import pin_threads

pin_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.multiobjective.problems import PROBLEMS, MOProblem  # noqa: E402

METHODS = ("jax-logehvi", "jax-logehvi-ref", "random", "optuna-gp", "optuna-tpe", "optuna-nsga2")
LABELS = {
    "jax-logehvi": "JAX LogEHVI (ours)",
    "jax-logehvi-ref": "JAX LogEHVI, given ref (ours)",
    "random": "random",
    "optuna-gp": "Optuna GPSampler",
    "optuna-tpe": "Optuna TPESampler",
    "optuna-nsga2": "Optuna NSGA-II (pop 10)",
}
RESULTS = Path(__file__).resolve().parents[1] / "results" / "multiobjective.jsonl"


def _hv_curve(Y: np.ndarray, pb: MOProblem) -> list[float]:
    from hpo_sweeper.pareto import hypervolume

    return [hypervolume(Y[:t], pb.ref) for t in range(1, len(Y) + 1)]


def _run_ours(pb: MOProblem, seed: int, n_trials: int, q: int, n_init: int, given_ref: bool) -> tuple[
    np.ndarray, float
]:
    import jax
    from scipy.stats import qmc

    from hpo_sweeper.engines.jax_gp import multiobjective as mo

    X = qmc.Sobol(pb.dim, scramble=True, seed=seed).random(n_init)
    Y = pb.f(X)
    state = mo.init_state()
    key = jax.random.key(seed)
    ref = np.array(pb.ref) if given_ref else None
    t_model = 0.0
    while len(X) < n_trials:
        k = min(q, n_trials - len(X))
        t0 = time.perf_counter()
        Xn, state = mo.suggest_multiobjective(X, Y, key, q=k, state=state, ref_point=ref)
        t_model += time.perf_counter() - t0
        X, Y = np.vstack([X, Xn]), np.vstack([Y, pb.f(Xn)])
    return Y, t_model


def _run_optuna(method: str, pb: MOProblem, seed: int, n_trials: int, q: int) -> tuple[np.ndarray, float]:
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    sampler: Any
    if method == "optuna-gp":
        sampler = optuna.samplers.GPSampler(seed=seed)
    elif method == "optuna-tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=q > 1)
    else:
        sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=10)
    study = optuna.create_study(directions=["minimize"] * pb.n_obj, sampler=sampler)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(pb.dim)}
    rows: list[np.ndarray] = []
    t_model = 0.0
    while len(rows) < n_trials:
        k = min(q, n_trials - len(rows))
        t0 = time.perf_counter()
        trials = [study.ask(dists) for _ in range(k)]
        t_model += time.perf_counter() - t0
        X = np.array([[t.params[f"x{i}"] for i in range(pb.dim)] for t in trials])
        Y = pb.f(X)
        for t, y in zip(trials, Y):
            study.tell(t, [float(v) for v in y])
        rows.extend(Y)
    return np.array(rows), t_model


def run_one(problem: str, method: str, seed: int, n_trials: int, q: int, n_init: int) -> dict[str, Any]:
    pin_threads()
    pb = PROBLEMS[problem]
    t0 = time.perf_counter()
    if method in ("jax-logehvi", "jax-logehvi-ref"):
        Y, t_model = _run_ours(pb, seed, n_trials, q, n_init, given_ref=method == "jax-logehvi-ref")
    elif method == "random":
        X = np.random.default_rng([seed, 7]).random((n_trials, pb.dim))
        Y, t_model = pb.f(X), 0.0
    else:
        Y, t_model = _run_optuna(method, pb, seed, n_trials, q)
    return {
        "problem": problem, "method": method, "seed": seed, "q": q, "n_trials": n_trials,
        "n_init": n_init if method.startswith("jax") else None,
        "hv": _hv_curve(Y, pb), "seconds": time.perf_counter() - t0, "model_seconds": t_model,
    }


def load(path: Path = RESULTS) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["problem"], r["method"], r["seed"], r["q"], r["n_trials"])


def _common(sel: list[dict[str, Any]], p: str, methods: list[str]) -> list[dict[str, Any]]:
    """The runs of problem ``p`` on the seeds every method has finished (like with like)."""
    seed_sets = [{r["seed"] for r in sel if r["problem"] == p and r["method"] == m} for m in methods]
    common = set.intersection(*seed_sets) if seed_sets else set()
    return [r for r in sel if r["problem"] == p and r["seed"] in common]


def report(rows: list[dict[str, Any]], checkpoints: tuple[int, ...] = (20,)) -> str:
    """Markdown: hypervolume gap (max_hv - hv) per problem and method, median [q25, q75]."""
    out = []
    for q in sorted({r["q"] for r in rows}):
        for n_trials in sorted({r["n_trials"] for r in rows if r["q"] == q}):
            sel = [r for r in rows if r["q"] == q and r["n_trials"] == n_trials]
            methods = [m for m in METHODS if any(r["method"] == m for r in sel)]
            for t in [c for c in checkpoints if c < n_trials] + [n_trials]:
                out.append(f"\n#### Hypervolume gap to the true front after {t} of {n_trials} trials, q={q}\n")
                out.append("`max_hv - hv`, lower is better: median [25th, 75th percentile] over the seeds every "
                           "method finished; best median in **bold**.\n")
                out.append("| problem (seeds) | " + " | ".join(LABELS[m] for m in methods) + " |")
                out.append("|---" * (len(methods) + 1) + "|")
                for p in PROBLEMS:
                    rs_p = _common(sel, p, methods)
                    if not rs_p:
                        continue
                    cells, meds = [], []
                    for m in methods:
                        gap = np.array([PROBLEMS[p].max_hv - r["hv"][t - 1] for r in rs_p if r["method"] == m])
                        q25, med, q75 = np.percentile(gap, [25, 50, 75])
                        cells.append(f"{med:.3g} [{q25:.3g}, {q75:.3g}]")
                        meds.append(med)
                    best = int(np.argmin(meds))
                    cells[best] = f"**{cells[best]}**"
                    n_seeds = len({r["seed"] for r in rs_p})
                    out.append(f"| {p} ({n_seeds}) | " + " | ".join(cells) + " |")
            out.append(f"\nModel seconds per {n_trials}-trial run (median; includes each worker's first "
                       "compilations, so it depends on the load):\n")
            out.append("| problem | " + " | ".join(LABELS[m] for m in methods) + " |")
            out.append("|---" * (len(methods) + 1) + "|")
            for p in PROBLEMS:
                rs_p = _common(sel, p, methods)
                if rs_p:
                    secs = [np.median([r["model_seconds"] for r in rs_p if r["method"] == m]) for m in methods]
                    out.append(f"| {p} | " + " | ".join(f"{s:.1f}" for s in secs) + " |")
    return "\n".join(out)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Hypervolume gap against trials (median and quartile band), one panel per problem, q=1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["q"] == 1]
    methods = [m for m in METHODS if any(r["method"] == m for r in sel)]
    fig, axes = plt.subplots(1, len(PROBLEMS), figsize=(5 * len(PROBLEMS), 4))
    for ax, p in zip(np.atleast_1d(axes), PROBLEMS):
        rs_p = _common(sel, p, methods)
        for m in methods:
            G = np.array([PROBLEMS[p].max_hv - np.array(r["hv"]) for r in rs_p if r["method"] == m])
            if len(G) == 0:
                continue
            t = np.arange(1, G.shape[1] + 1)
            q25, med, q75 = np.percentile(G, [25, 50, 75], axis=0)
            ax.plot(t, med, label=LABELS[m])
            ax.fill_between(t, q25, q75, alpha=0.2)
        ax.set_yscale("log")
        ax.set_title(f"{p} ({len({r['seed'] for r in rs_p})} seeds)")
        ax.set_xlabel("trial")
        ax.set_ylabel("hypervolume gap")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--q", type=int, default=1)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rerun", nargs="*", default=[], help="methods whose stored runs are replaced")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--report", action="store_true", help="print the table of the stored runs and exit")
    a = ap.parse_args(argv)
    if a.report:
        rows = load(a.out)
        print(report(rows))
        plot(rows, Path(__file__).resolve().parents[1] / "plots" / "mo_hypervolume.png")
        return
    old = [r for r in load(a.out) if r["method"] not in a.rerun]
    done = {_key(r) for r in old}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.rerun:  # otherwise only appended to, so that runs of other methods may share the file
        a.out.write_text("".join(json.dumps(r) + "\n" for r in old))
    jobs = [
        (p, m, s, a.trials, a.q, a.n_init)
        for s in range(a.first_seed, a.first_seed + a.seeds)
        for p in a.problems
        for m in a.methods
        if (p, m, s, a.q, a.trials) not in done
    ]
    print(f"{len(jobs)} runs", flush=True)
    with ProcessPoolExecutor(a.workers) as ex, a.out.open("a") as f:
        futs = {ex.submit(run_one, *j): j for j in jobs}
        for fut in as_completed(futs):
            r = fut.result()
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(f"{r['problem']} {r['method']} seed={r['seed']} q={r['q']}: gap "
                  f"{PROBLEMS[r['problem']].max_hv - r['hv'][-1]:.4g} in {r['seconds']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
