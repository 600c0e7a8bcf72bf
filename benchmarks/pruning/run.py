"""The pruning benchmark (issue 14): compute and quality of our pruners and Optuna's on real curves.

    python -m benchmarks.pruning.run --tune          # choose each pruner's settings on held-out seeds
    python -m benchmarks.pruning.run                 # every task, 10 test seeds, 4 workers
    python -m benchmarks.pruning.run --tuned-only --tasks mlp sgd
    python -m benchmarks.pruning.run --held-out --seeds 20 --tasks mlp --no-tuned \
        --methods random random+asha 'bayes[bohb,0]+asha' 'bayes[bohb,1/3]+asha' 'bayes[fidelity,1/3]+asha'

Prints a Markdown report and writes benchmarks/pruning/results-<tasks>.json (``--tune``: tuning-<task>.json).
How the sweeps are simulated: simulate.py. The curves: curves.py (computed once, kept in curves/).

The rule for pruner settings (never tuned on the test seeds): ``--tune`` runs every cheap pruned
method (random+ASHA/Hyperband/median and Optuna TPE + SHA/Hyperband/median) over a grid of
(min_resource, reduction_factor) on held-out tuning seeds (100-119; ``--tune-seeds``), and keeps, per method and task, the
setting that reaches the tuning seeds' target in the most seeds, then in the fewest median epochs.
``bayes+X`` (and every ``bayes[<feed>,<random fraction>]+X``) takes the setting chosen for
``random+X`` (a bayes sweep costs minutes of GP fits per seed here, too much to tune on two shared
cores). The model feed of ``bayes`` with a pruner (model_feed.DEFAULT_FEED, RANDOM_FRACTION) was
chosen the same way, on held-out seeds (``--held-out``). The test run (seeds 0-9) reports both the
defaults (min_resource 1, reduction_factor 3, for every method) and the tuned settings.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.pruning.simulate import METHODS, OptunaSweep, Task, best_within, simulate

HERE = Path(__file__).resolve().parent
#: The no-pruning sweep whose epochs are every method's budget: this many trials of the full budget.
N_TRIALS = 32
#: (task, min_resource) runs with the default settings. A boosting stage is a tiny unit (one tree),
#: and after one tree the loss says little beyond the learning rate, so the GBDT task also runs
#: with min_resource 9 (rungs at 9 and 27 of 81 stages); with min_resource 1 it shows what happens
#: when curves cross early.
RUNS = [("mlp", 1), ("sgd", 1), ("gbdt", 1), ("gbdt", 9)]
PRUNED = [m for m in METHODS if "+" in m]
PLAIN = [m for m in METHODS if "+" not in m]
#: The methods cheap enough to tune (no GP), and the grid they are tuned over.
TUNED = ["random+median", "random+asha", "random+hyperband", "optuna-tpe+median", "optuna-tpe+sha",
         "optuna-tpe+hyperband"]
#: min_resource values tried, by the task's steps: 1-3 of a 27-epoch task, and up to a third of 81
#: (a boosting stage or an SGD epoch says little on its own; gbdt's curves cross until ~27 stages).
GRID_R = {27: (1, 2, 3), 81: (1, 3, 9, 27)}


def grid(steps: int) -> list[tuple[int, int]]:
    return [(r, eta) for r in GRID_R[steps] for eta in (2, 3, 4)]



TUNING_SEEDS = list(range(100, 120))
TEST_SEEDS = list(range(10))
Setting = tuple[int, int]


def run(task: Task, seeds: list[int], workers: int, methods: dict[str, Setting], check: bool = True
        ) -> dict[str, Any]:
    """Every method over ``seeds``, each with its (min_resource, reduction_factor)."""
    budget = N_TRIALS * task.steps
    rows: dict[str, list[dict[str, Any]]] = {}
    agree = 0
    for method, (r, eta) in methods.items():
        for seed in seeds:
            sweep = METHODS[method](task, seed, r, eta)
            out = simulate(task, sweep, budget, workers)
            rows.setdefault(method, []).append({
                "best": out.best, "best_third": best_within(out, budget / 3), "epochs": out.epochs,
                "trials": out.n_trials, "pruned": out.n_pruned, "trace": out.trace, "wall": out.wall,
                # how many of the pool's configurations the sweep ran (proposals answered by the same
                # nearest configuration are the same curve again)
                "distinct": len({task.lookup(c) for c in out.configs}),
            })
            if check and method == "random+asha":  # Optuna's SHA on the same configurations, same event order
                theirs = simulate(task, OptunaSweep(task, "random", "sha", seed, r, eta, enqueue=out.configs),
                                  budget, workers).decisions
                # Optuna's SHA has no max_resource: it also judges at the full budget when that is a rung
                # step (81 = 3**4 stages, 27 = 3**3 epochs); ours has no rung there (max_resource).
                agree += [d for d in theirs if d[1] < task.steps] == out.decisions
        got = rows[method]
        print(f"  {task.name} {method} r={r} eta={eta}: best {sorted(g['best'] for g in got)} "
              f"traces {[g['trace'] for g in got]}", flush=True)  # progress, and the raw data if a run is cut short
    # The quality to reach: the median (over seeds) final value of the no-pruning random sweep.
    plain = rows["random"] if "random" in rows else [
        {"best": simulate(task, METHODS["random"](task, seed, 1), budget, workers).best} for seed in seeds]
    target = statistics.median(r["best"] for r in plain)
    summary = {}
    for method, runs in rows.items():
        reach = [first_reaching(r["trace"], target) for r in runs]
        epochs = [e for e, _ in reach]
        summary[method] = {
            "setting": list(methods[method]),
            "best": statistics.median(r["best"] for r in runs),
            "best_third": statistics.median(r["best_third"] for r in runs),
            "epochs_to_target": statistics.median(epochs),
            "epochs_q1": quantile(epochs, 0.25), "epochs_q3": quantile(epochs, 0.75),
            "wall_to_target": statistics.median(w for _, w in reach),
            "wall_full": statistics.median(r["wall"] for r in runs),
            "reached": sum(math.isfinite(x) for x in epochs),
            "trials": statistics.mean(r["trials"] for r in runs),
            "pruned": statistics.mean(r["pruned"] for r in runs),
            "distinct": statistics.mean(r["distinct"] for r in runs),
            # per seed, (epochs spent, best full-budget value so far) at each completed trial:
            # what equal_quality() compares methods of different runs by
            "traces": [[(e, b) for e, b, _ in r["trace"]] for r in runs],
        }
    return {"task": task.name, "budget": budget, "target": target, "seeds": len(seeds), "workers": workers,
            "pool_best": float(min(v for v in task.curves[:, -1] if math.isfinite(v))),
            "summary": summary, "optuna_agrees": agree if check and "random+asha" in rows else None}


def equal_quality(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per task, over every run of it: Optuna's best pruner and each method's epochs to its quality.

    For each ``optuna-tpe+*`` row (any setting) its quality is the best final value that more than
    half of its seeds reached (the high median: the 6th best of 10 seeds), so that the row itself
    reaches it in the median seed; Optuna's best pruner is the row with the best such quality, q.
    For every row: the median over seeds of the epochs spent when its best full-budget value first
    reached q (inf where half the seeds or fewer reached it), and ``optuna_epochs``, the fewest of
    any Optuna pruner row. Rows are keyed ``method (min_resource, eta)``."""
    out: dict[str, dict[str, Any]] = {}
    for res in results:
        task = out.setdefault(res["task"], {"rows": {}})
        for method, s in res["summary"].items():
            task["rows"][f"{method} ({s['setting'][0]}, {s['setting'][1]})" if "+" in method else method] = s
    for task in out.values():
        rows = task["rows"]
        optuna = [k for k in rows if k.startswith("optuna-tpe+")]
        if not optuna:
            continue
        def quality(k: str) -> float:
            finals = sorted(t[-1][1] if t else math.inf for t in rows[k]["traces"])
            return finals[len(finals) // 2]

        best = min(optuna, key=lambda k: (quality(k), rows[k]["epochs_to_target"]))
        q = quality(best)
        epochs = {k: statistics.median(next((e for e, b in t if b <= q), math.inf) for t in s["traces"])
                  for k, s in rows.items()}
        # the bar to beat: the fewest epochs any Optuna pruner row needed to reach q
        task |= {"optuna_best": best, "quality": q, "optuna_epochs": min(epochs[k] for k in optuna),
                 "epochs": epochs}
        del task["rows"]
    return out


def first_reaching(trace: list[tuple[int, float, float]], target: float) -> tuple[float, float]:
    """(epochs spent, simulated wall time) when the best full-budget value first reached ``target``."""
    return next(((spent, wall) for spent, best, wall in trace if best <= target), (math.inf, math.inf))


def quantile(values: list[float], p: float) -> float:
    """Nearest-rank quantile (no interpolation, so a seed that never reached stays inf, not NaN)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def fmt(x: float, b: float | None = None) -> str:
    if not math.isfinite(x):
        return "—"
    return f"{x:.0f} ({x / b:.0%})" if b else f"{x:.0f}"


def markdown(results: list[dict[str, Any]], title: str) -> str:
    lines = []
    for res in results:
        b = res["budget"]
        lines += [
            f"### {res['task']}, {res.get('settings', title)} (budget {b} epochs = {N_TRIALS} full trials; {res['seeds']} seeds; "
            f"target = median final value of `random` = {res['target']:.4f}; best in the pool {res['pool_best']:.4f})",
            "",
            "| method | min_resource, eta | seeds reaching target | epochs to target: median (share of budget) "
            "[q1, q3] | wall to target, median (no pruning: "
            f"{res['summary'].get('random', {}).get('wall_full', math.nan):.0f}) | median best, 1/3 budget "
            "| median best, whole budget | trials (mean) | pruned (mean) | distinct configurations (mean) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for method, s in res["summary"].items():
            setting = f"{s['setting'][0]}, {s['setting'][1]}" if "+" in method else "—"
            lines.append(
                f"| {method} | {setting} | {s['reached']}/{res['seeds']} | {fmt(s['epochs_to_target'], b)} "
                f"[{fmt(s['epochs_q1'])}, {fmt(s['epochs_q3'])}] | {fmt(s['wall_to_target'])} "
                f"| {s['best_third']:.4f} | {s['best']:.4f} | {s['trials']:.0f} | {s['pruned']:.0f} "
                f"| {s.get('distinct', math.nan):.0f} |")
        if res["optuna_agrees"] is not None:
            lines += ["", f"Optuna's SuccessiveHalvingPruner, fed the configurations of `random+asha` in the same event "
                          f"order, took exactly the same prune decisions in {res['optuna_agrees']}/{res['seeds']} seeds "
                          "(apart from Optuna's own extra rung at the full budget)."]
        lines.append("")
    return "\n".join(lines)


def choose(tuning: dict[str, Any]) -> dict[str, dict[str, Setting]]:
    """Per task and method, the setting reaching the target in the most tuning seeds, then in the fewest epochs."""
    out: dict[str, dict[str, Setting]] = {}
    for task, by_setting in tuning.items():
        for method in TUNED:
            scored = [(-s[method]["reached"], s[method]["epochs_to_target"], r, eta)
                      for (r, eta), s in ((tuple(json.loads(k)), v) for k, v in by_setting.items())]
            _, _, r, eta = min(scored)
            out.setdefault(task, {})[method] = (r, eta)
    return out


def as_random(method: str) -> str:
    """bayes+asha, bayes[rank]+asha -> random+asha: whose tuned setting a bayes method takes."""
    return "random+" + method.split("+", 1)[1] if "+" in method else method


def jsonable(results: Any) -> Any:
    """JSON has no infinity: a target never reached is null there."""
    if isinstance(results, dict):
        return {k: jsonable(v) for k, v in results.items()}
    if isinstance(results, list):
        return [jsonable(v) for v in results]
    return None if isinstance(results, float) and not math.isfinite(results) else results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=len(TEST_SEEDS))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tasks", nargs="*", default=None)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--tune", action="store_true", help="choose pruner settings on the tuning seeds")
    parser.add_argument("--no-tuned", action="store_true", help="test run: only the default settings")
    parser.add_argument("--tuned-only", action="store_true", help="test run: only the tuned settings")
    parser.add_argument("--tune-seeds", type=int, default=len(TUNING_SEEDS), help="how many of seeds 100-119")
    parser.add_argument("--min-resource", type=int, default=None,
                        help="run only this min_resource (default: each task's rows in RUNS)")
    parser.add_argument("--held-out", action="store_true",
                        help="run on the first --seeds held-out seeds (100-119), to choose between methods")
    parser.add_argument("--out", default=None, help="default: results-<tasks>.json (tuning: tuning-<task>.json)")
    args = parser.parse_args()
    start = time.perf_counter()
    wanted = [(n, r) for n, r in RUNS if not args.tasks or n in args.tasks]
    if args.min_resource is not None:
        wanted = [(n, r) for n, r in wanted if r == args.min_resource] or [(n, args.min_resource) for n in
                                                                            dict.fromkeys(n for n, _ in wanted)]
    if args.tune:  # one file per task, so that tasks can be tuned in parallel processes
        for name in dict.fromkeys(n for n, _ in wanted):
            task = Task.load(name)
            tuning: dict[str, dict[str, Any]] = {}
            seeds = TUNING_SEEDS[:args.tune_seeds]
            for r, eta in grid(task.steps):
                res = run(task, seeds, args.workers, {"random": (1, 3)} | dict.fromkeys(TUNED, (r, eta)), check=False)
                tuning.setdefault(name, {})[json.dumps([r, eta])] = res["summary"]
                print(f"[tune {name} r={r} eta={eta}: {time.perf_counter() - start:.0f}s]", flush=True)
            chosen = choose(tuning)
            print(json.dumps(chosen, indent=1))
            Path(args.out or HERE / f"tuning-{name}.json").write_text(json.dumps(jsonable(
                {"seeds": seeds, "target": res["target"], "chosen": chosen, "runs": tuning}), separators=(",", ":")))
        return
    seeds = (TUNING_SEEDS if args.held_out else TEST_SEEDS)[:args.seeds]
    chosen: dict[str, Any] = {}
    if not args.no_tuned:
        for path in sorted(HERE.glob("tuning-*.json")):
            chosen |= json.loads(path.read_text())["chosen"]
    results: list[dict[str, Any]] = []
    for name, r in wanted:
        task = Task.load(name)
        # bayes[<feed>]+X: the model feeds compared for issue 14 item 3, run when named (--methods)
        everything = [m for m in METHODS if "[" not in m]
        methods = [m for m in (args.methods or everything) if (name, r) != ("gbdt", 9) or "+" in m or m == "random"]
        default = {m: (r, 3) for m in methods}
        if not args.tuned_only:
            res = run(task, seeds, args.workers, default)
            res["settings"] = f"min_resource {r}, reduction_factor 3 (defaults)"
            results.append(res)
            print(f"[{name} r={r} done, {time.perf_counter() - start:.0f}s]", flush=True)
        if name in chosen and r == 1:
            tuned = {m: tuple(chosen[name][m]) for m in methods if m in chosen[name]}
            tuned |= {m: tuple(chosen[name][as_random(m)]) for m in methods
                      if m.startswith("bayes") and as_random(m) in chosen[name]}
            tuned = {"random": (1, 3)} | {m: s for m, s in tuned.items() if s != default.get(m)}
            if len(tuned) > 1:
                res = run(task, seeds, args.workers, tuned)
                res["settings"] = f"tuned settings (chosen on held-out seeds, see tuning-{name}.json)"
                results.append(res)
                print(f"[{name} tuned done, {time.perf_counter() - start:.0f}s]", flush=True)
    print(markdown([r for r in results], "see settings per row"))
    tag = "-".join(dict.fromkeys(n for n, _ in wanted))
    Path(args.out or HERE / f"results-{tag}.json").write_text(json.dumps(jsonable(results), separators=(",", ":")))
    print(f"({time.perf_counter() - start:.0f}s)")


if __name__ == "__main__":
    main()
