"""The pruning benchmark (issue 14): compute and quality of our pruners and Optuna's on real curves.

    python -m benchmarks.pruning.run                 # both tasks, 10 seeds, 4 workers (~15 min, 1 core)
    python -m benchmarks.pruning.run --seeds 3 --tasks gbdt

Prints a Markdown report (for benchmarks/RESULTS.md) and writes benchmarks/pruning/results.json.
How the sweeps are simulated: simulate.py. The curves: curves.py (computed once, kept in curves/).
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
#: (task, min_resource) runs. A boosting stage is a tiny unit (one tree), and after one tree the
#: loss says little beyond the learning rate, so the GBDT task also runs with min_resource 9
#: (rungs at 9 and 27 of 81 stages); with min_resource 1 it shows what happens when curves cross early.
RUNS = [("mlp", 1), ("gbdt", 1), ("gbdt", 9)]
PRUNED = [m for m in METHODS if "+" in m]
PLAIN = [m for m in METHODS if "+" not in m]


def run(task: Task, min_resource: int, seeds: int, workers: int, methods: list[str]) -> dict[str, Any]:
    budget = N_TRIALS * task.steps
    rows: dict[str, list[dict[str, float]]] = {}
    agree = 0
    for method in methods:
        for seed in range(seeds):
            sweep = METHODS[method](task, seed, min_resource)
            out = simulate(task, sweep, budget, workers)
            rows.setdefault(method, []).append({
                "best": out.best, "best_third": best_within(out, budget / 3), "epochs": out.epochs,
                "trials": out.n_trials, "pruned": out.n_pruned, "trace": out.trace, "wall": out.wall,
            })
            if method == "random+asha":  # Optuna's SHA on the same configurations, same order of events
                check = OptunaSweep(task, "random", "sha", seed, min_resource, enqueue=out.configs)
                theirs = simulate(task, check, budget, workers).decisions
                # Optuna's SHA has no max_resource: it also judges at the full budget when that is a rung
                # step (81 = 3**4 stages, 27 = 3**3 epochs); ours has no rung there (max_resource).
                agree += [d for d in theirs if d[1] < task.steps] == out.decisions
    target = statistics.median(r["best"] for r in rows["random"])
    summary = {}
    for method, runs in rows.items():
        reach = [epochs_to_reach_trace(r["trace"], target) for r in runs]
        summary[method] = {
            "best": statistics.median(r["best"] for r in runs),
            "best_third": statistics.median(r["best_third"] for r in runs),
            "epochs_to_target": statistics.median(reach),
            "reached": sum(math.isfinite(x) for x in reach),
            "trials": statistics.mean(r["trials"] for r in runs),
            "pruned": statistics.mean(r["pruned"] for r in runs),
        }
    return {"task": task.name, "min_resource": min_resource, "budget": budget, "target": target, "seeds": seeds,
            "pool_best": float(min(v for v in task.curves[:, -1] if math.isfinite(v))),
            "summary": summary, "optuna_agrees": agree if "random+asha" in rows else None}


def epochs_to_reach_trace(trace: list[tuple[int, float]], target: float) -> float:
    return next((spent for spent, best in trace if best <= target), math.inf)


def markdown(results: list[dict[str, Any]]) -> str:
    lines = []
    for res in results:
        b = res["budget"]
        lines += [
            f"### {res['task']}, min_resource {res['min_resource']} (budget {b} epochs = {N_TRIALS} full trials; "
            f"target = median final value of `random` = {res['target']:.4f}; best in the pool {res['pool_best']:.4f})",
            "",
            "| method | median best, whole budget | median best, 1/3 budget | median epochs to target (share of budget) "
            "| seeds reaching target | trials started (mean) | pruned (mean) |",
            "|---|---|---|---|---|---|---|",
        ]
        for method, s in res["summary"].items():
            e = s["epochs_to_target"]
            reach = f"{e:.0f} ({e / b:.0%})" if math.isfinite(e) else "not reached (median)"
            lines.append(f"| {method} | {s['best']:.4f} | {s['best_third']:.4f} | {reach} | {s['reached']}/{res['seeds']} "
                         f"| {s['trials']:.0f} | {s['pruned']:.0f} |")
        if res["optuna_agrees"] is not None:
            lines += ["", f"Optuna's SuccessiveHalvingPruner, fed the configurations of `random+asha` in the same event "
                          f"order, took exactly the same prune decisions in {res['optuna_agrees']}/{res['seeds']} seeds "
                          "(apart from Optuna's own extra rung at the full budget)."]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tasks", nargs="*", default=None)
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args()
    start = time.perf_counter()
    results = []
    for name, r in RUNS:
        if args.tasks and name not in args.tasks:
            continue
        task = Task.load(name)
        methods = list(METHODS) if (name, r) != ("gbdt", 9) else ["random", *PRUNED]
        results.append(run(task, r, args.seeds, args.workers, methods))
        print(f"[{name} r={r} done, {time.perf_counter() - start:.0f}s]", flush=True)
    print(markdown(results))
    # JSON has no infinity: a target never reached is null there.
    for res in results:
        for s in res["summary"].values():
            s.update({k: (v if math.isfinite(v) else None) for k, v in s.items() if isinstance(v, float)})
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"({time.perf_counter() - start:.0f}s)")


if __name__ == "__main__":
    main()
