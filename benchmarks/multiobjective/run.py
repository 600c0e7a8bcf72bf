"""Hypervolume against trials on ZDT1, ZDT2, DTLZ2 and the example app (issue #16).

    .venv/bin/python -m benchmarks.multiobjective.run --seeds 10 --trials 50 --q 1
    .venv/bin/python -m benchmarks.multiobjective.run --problems mlp     # the app (mlp_table.py, built first)
    .venv/bin/python -m benchmarks.multiobjective.run --report      # table from the stored runs

Methods (each at its defaults unless said):

==============  ===========================================================================
jax-logehvi     ours: ``suggest_multiobjective`` (one GP per objective, exact LogEHVI),
                after a scrambled Sobol design of ``--n-init`` points (default 10, the
                same number as Optuna GPSampler's random start-up trials); its reference
                point is the default rule (``pareto.reference_point`` of the points seen)
jax-logehvi-ref the same, told the problem's reference point (as BoTorch's benchmarks and
                tutorials do; Optuna's samplers have no such setting)
jax-logehvi-warp the same with each objective half-rank warped (``MOConfig.objective_warping``;
                measured 2026-12-04, rejected: see the notes)
jax-logehvi-int the same, its acquisition scored at snapped points (``snap=``: the app's
                integer width and depth; the candidates snapped before scoring, a proposal
                that snaps onto a known point passed over); no integer elsewhere, so the same
                as jax-logehvi on the standard problems
jax-logehvi-parego  the same with ParEGO scalarisation for 3+ objectives
                (``MOConfig.scalarization="parego"``: a random Chebyshev weight per point,
                one GP, LogEI); 2 objectives unchanged
jax-logehvi-int-rK  jax-logehvi-int with every K-th proposal (after the design) uniform
                random, as the sweeper's ``random_fraction = 1/K`` interleaves
jax-logehvi-R   the same with the default reference point by rule R of
                ``pareto.reference_point`` (front, all, mixed): the rules' comparison
random          i.i.d. uniform points
optuna-gp       Optuna ``GPSampler(seed)`` (LogEHVI for several objectives)
optuna-tpe      Optuna ``TPESampler(seed, constant_liar=q > 1)``
optuna-nsga2    Optuna ``NSGAIISampler(seed, population_size=10)``: its default population
                of 50 would spend the whole 50-trial budget on the random first generation
==============  ===========================================================================

A batch of ``q`` is ``q`` asks before the ``q`` tells (Optuna sees running trials).
On ``mlp`` (train.py's MLP, tabulated: ``mlp_table.py``) Optuna's samplers get the app's own
distributions (log floats, log int, int) and ours the unit cube, each point recorded where
the sweeper records it (``SearchSpace.to_unit`` of the decoded configuration).
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

RULE_METHODS = ("jax-logehvi-front", "jax-logehvi-all", "jax-logehvi-mixed")
#: ours with the objectives warped (MOConfig.objective_warping="half_rank")
WARP_METHODS = ("jax-logehvi-warp",)
#: issue 16's 2026-12-04 candidates: integer-aware acquisition, ParEGO for 3+ objectives, interleaving
NEW_METHODS = ("jax-logehvi-int", "jax-logehvi-parego", "jax-logehvi-int-parego", "jax-logehvi-int-r5")
METHODS = ("jax-logehvi", "jax-logehvi-ref", *RULE_METHODS, *WARP_METHODS, *NEW_METHODS, "random", "optuna-gp", "optuna-tpe", "optuna-nsga2")
LABELS = {
    "jax-logehvi": "JAX LogEHVI (ours)",
    "jax-logehvi-ref": "JAX LogEHVI, given ref (ours)",
    "jax-logehvi-front": "ours, ref rule front",
    "jax-logehvi-all": "ours, ref rule all",
    "jax-logehvi-mixed": "ours, ref rule mixed",
    "jax-logehvi-warp": "ours, half-rank warped objectives",
    "jax-logehvi-int": "ours, integer-aware",
    "jax-logehvi-parego": "ours, ParEGO (3+ obj.)",
    "jax-logehvi-int-parego": "ours, integer-aware + ParEGO (3+ obj.)",
    "jax-logehvi-int-r5": "ours, integer-aware, 1 in 5 random",
    "random": "random",
    "optuna-gp": "Optuna GPSampler",
    "optuna-tpe": "Optuna TPESampler",
    "optuna-nsga2": "Optuna NSGA-II (pop 10)",
}
RESULTS = Path(__file__).resolve().parents[1] / "results" / "multiobjective.jsonl"
#: the standard problems, then the example app (``mlp_table``: train.py's MLP, tabulated)
ALL_PROBLEMS = (*PROBLEMS, "mlp")
_APP: dict[str, MOProblem] = {}


def get_problem(name: str) -> MOProblem:
    if name in PROBLEMS:
        return PROBLEMS[name]
    if name != "mlp":
        raise KeyError(f"unknown problem {name!r}; choose from {ALL_PROBLEMS}")
    if name not in _APP:
        from benchmarks.multiobjective import mlp_table

        t = mlp_table.load()
        if t.max_hv is None:
            raise RuntimeError("the MLP table has no max_hv: run python -m benchmarks.multiobjective.mlp_table --max-hv")
        _APP[name] = MOProblem("mlp", t.dim, t.n_obj, t.f, mlp_table.REF, float(t.max_hv), snap=t.snap)
    return _APP[name]


def _hv_curve(Y: np.ndarray, pb: MOProblem) -> list[float]:
    from hpo_sweeper.pareto import hypervolume

    return [hypervolume(Y[:t], pb.ref) for t in range(1, len(Y) + 1)]


def _run_ours(pb: MOProblem, seed: int, n_trials: int, q: int, n_init: int, given_ref: bool,
              rule: str | None = None, warping: str = "standardize", *, int_aware: bool = False,
              scalarization: str = "none", random_every: int = 0) -> tuple[np.ndarray, float]:
    import jax
    from scipy.stats import qmc

    from hpo_sweeper.engines.jax_gp import multiobjective as mo

    snap = pb.snap or (lambda A: A)
    X = snap(qmc.Sobol(pb.dim, scramble=True, seed=seed).random(n_init))
    Y = pb.f(X)
    state = mo.init_state()
    key = jax.random.key(seed)
    ref = np.array(pb.ref) if given_ref else None
    config = mo.MOConfig(objective_warping=warping, scalarization=scalarization)
    if rule is not None:
        config = config._replace(ref_rule=rule)
    rng = np.random.default_rng([seed, 11])
    n_model = 0  # proposals after the design, counted for the interleaving
    t_model = 0.0
    while len(X) < n_trials:
        k = min(q, n_trials - len(X))
        slots = range(n_model, n_model + k)
        n_model += k
        n_rand = sum((i + 1) % random_every == 0 for i in slots) if random_every else 0
        t0 = time.perf_counter()
        Xn = np.zeros((0, pb.dim))
        if k - n_rand:
            Xn, state = mo.suggest_multiobjective(X, Y, key, q=k - n_rand, state=state, ref_point=ref, config=config,
                                                  snap=pb.snap if int_aware else None)
        t_model += time.perf_counter() - t0
        Xn = snap(np.vstack([Xn, rng.random((n_rand, pb.dim))]))
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
    D = optuna.distributions
    if pb.name == "mlp":  # the app's own space (search_space/mlp.yaml), as the Optuna sweeper would see it
        from benchmarks.multiobjective import mlp_table

        table = mlp_table.load()
        dists = {"lr": D.FloatDistribution(1e-4, 1e-1, log=True), "weight_decay": D.FloatDistribution(1e-6, 1e-2, log=True),
                 "width": D.IntDistribution(16, 256, log=True), "depth": D.IntDistribution(1, 3)}
    else:
        dists = {f"x{i}": D.FloatDistribution(0.0, 1.0) for i in range(pb.dim)}
    rows: list[np.ndarray] = []
    t_model = 0.0
    while len(rows) < n_trials:
        k = min(q, n_trials - len(rows))
        t0 = time.perf_counter()
        trials = [study.ask(dists) for _ in range(k)]
        t_model += time.perf_counter() - t0
        if pb.name == "mlp":
            Y = table.values(*(np.array([t.params[k] for t in trials]) for k in dists))
        else:
            Y = pb.f(np.array([[t.params[f"x{i}"] for i in range(pb.dim)] for t in trials]))
        for t, y in zip(trials, Y):
            study.tell(t, [float(v) for v in y])
        rows.extend(Y)
    return np.array(rows), t_model


def run_one(problem: str, method: str, seed: int, n_trials: int, q: int, n_init: int) -> dict[str, Any]:
    pin_threads()
    pb = get_problem(problem)
    t0 = time.perf_counter()
    if method in ("jax-logehvi", "jax-logehvi-ref"):
        Y, t_model = _run_ours(pb, seed, n_trials, q, n_init, given_ref=method == "jax-logehvi-ref")
    elif method in RULE_METHODS:
        Y, t_model = _run_ours(pb, seed, n_trials, q, n_init, given_ref=False, rule=method.rsplit("-", 1)[1])
    elif method in WARP_METHODS:
        Y, t_model = _run_ours(pb, seed, n_trials, q, n_init, given_ref=False, warping="half_rank")
    elif method in NEW_METHODS:
        Y, t_model = _run_ours(pb, seed, n_trials, q, n_init, given_ref=False, int_aware="-int" in method,
                               scalarization="parego" if "parego" in method else "none",
                               random_every=int(method.rsplit("-r", 1)[1]) if "-int-r" in method else 0)
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
    """The runs of problem ``p`` on the seeds every one of ``methods`` that ran on ``p`` has finished
    (like with like)."""
    seed_sets = [{r["seed"] for r in sel if r["problem"] == p and r["method"] == m} for m in methods]
    seed_sets = [s for s in seed_sets if s]
    common = set.intersection(*seed_sets) if seed_sets else set()
    return [r for r in sel if r["problem"] == p and r["seed"] in common and r["method"] in methods]


def _cell(gaps: np.ndarray) -> tuple[str, float]:
    q25, med, q75 = np.percentile(gaps, [25, 50, 75])
    return f"{med:.3g} [{q25:.3g}, {q75:.3g}]", float(med)


#: the methods of the main tables (the rules have a table of their own)
TABLE_METHODS = tuple(m for m in METHODS if m not in (*RULE_METHODS, *WARP_METHODS, *NEW_METHODS))


def report(rows: list[dict[str, Any]], checkpoints: tuple[int, ...] = (20,),
           methods: tuple[str, ...] = TABLE_METHODS) -> str:
    """Markdown: hypervolume gap (max_hv - hv) per problem and method, median [q25, q75], one table
    per (q, trials, checkpoint); a method that did not run on a problem is a dash."""
    out = []
    for q in sorted({r["q"] for r in rows}):
        for n_trials in sorted({r["n_trials"] for r in rows if r["q"] == q}):
            sel = [r for r in rows if r["q"] == q and r["n_trials"] == n_trials and r["method"] in methods]
            ms = [m for m in methods if any(r["method"] == m for r in sel)]
            for t in [c for c in checkpoints if c < n_trials] + [n_trials]:
                out.append(f"\n#### Hypervolume gap to the best front after {t} of {n_trials} trials, q={q}\n")
                out.append("`max_hv - hv`, lower is better: median [25th, 75th percentile] over the seeds every "
                           "method finished; best median in **bold**.\n")
                out.append("| problem (seeds) | " + " | ".join(LABELS[m] for m in ms) + " |")
                out.append("|---" * (len(ms) + 1) + "|")
                for p in ALL_PROBLEMS:
                    rs_p = _common(sel, p, ms)
                    if not rs_p:
                        continue
                    cells, meds = [], []
                    for m in ms:
                        gap = np.array([get_problem(p).max_hv - r["hv"][t - 1] for r in rs_p if r["method"] == m])
                        c, med = _cell(gap) if len(gap) else ("-", np.inf)
                        cells.append(c)
                        meds.append(med)
                    best = int(np.argmin(meds))
                    cells[best] = f"**{cells[best]}**"
                    n_seeds = len({r["seed"] for r in rs_p})
                    out.append(f"| {p} ({n_seeds}) | " + " | ".join(cells) + " |")
            out.append(f"\nModel seconds per {n_trials}-trial run, q={q} (median; includes each worker's first "
                       "compilations, so it depends on the load):\n")
            out.append("| problem | " + " | ".join(LABELS[m] for m in ms) + " |")
            out.append("|---" * (len(ms) + 1) + "|")
            for p in ALL_PROBLEMS:
                rs_p = _common(sel, p, ms)
                if rs_p:
                    secs = [[r["model_seconds"] for r in rs_p if r["method"] == m] for m in ms]
                    out.append(f"| {p} | " + " | ".join(f"{np.median(x):.1f}" if x else "-" for x in secs) + " |")
    return "\n".join(out)


def report_rules(rows: list[dict[str, Any]]) -> str:
    """Markdown: the default reference-point rules against each other (q=1), each on the seeds it ran,
    with the default rule's (``jax-logehvi``, rule ``all``) and the given reference's on the same seeds."""
    sel = [r for r in rows if r["q"] == 1]
    out = ["\n#### Reference-point rules, q=1: hypervolume gap after the last trial\n",
           "median [25th, 75th percentile]; each rule against the default rule and the given reference point "
           "on the same seeds; `worse/better`: seeds where the rule's gap is above/below the default's.\n",
           "| problem | rule (seeds) | the rule | default (`all`), same seeds | given ref, same seeds | worse/better |",
           "|---|---|---|---|---|---|"]
    for p in ALL_PROBLEMS:
        for m in RULE_METHODS:
            mine = {r["seed"]: r for r in sel if r["problem"] == p and r["method"] == m}
            base = {r["seed"]: r for r in sel if r["problem"] == p and r["method"] == "jax-logehvi"}
            given = {r["seed"]: r for r in sel if r["problem"] == p and r["method"] == "jax-logehvi-ref"}
            seeds = sorted(set(mine) & set(base) & set(given))
            if not seeds:
                continue
            mx = get_problem(p).max_hv
            g = {k: np.array([mx - d[s]["hv"][-1] for s in seeds]) for k, d in (("m", mine), ("b", base), ("g", given))}
            worse, better = int(np.sum(g["m"] > g["b"] * 1.05)), int(np.sum(g["m"] < g["b"] / 1.05))
            out.append(f"| {p} | {m.rsplit('-', 1)[1]} ({len(seeds)}) | {_cell(g['m'])[0]} | {_cell(g['b'])[0]} | "
                       f"{_cell(g['g'])[0]} | {worse}/{better} |")
    return "\n".join(out)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Hypervolume gap against trials (median and quartile band), one panel per problem, q=1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["q"] == 1]
    methods = [m for m in TABLE_METHODS if any(r["method"] == m for r in sel)]
    probs = [p for p in ALL_PROBLEMS if any(r["problem"] == p for r in sel)]
    fig, axes = plt.subplots(1, len(probs), figsize=(5 * len(probs), 4))
    for ax, p in zip(np.atleast_1d(axes), probs):
        rs_p = _common(sel, p, methods)
        for m in methods:
            G = np.array([get_problem(p).max_hv - np.array(r["hv"]) for r in rs_p if r["method"] == m])
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
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=ALL_PROBLEMS)
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
        print(report_rules(rows))
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
                  f"{get_problem(r['problem']).max_hv - r['hv'][-1]:.4g} in {r['seconds']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
