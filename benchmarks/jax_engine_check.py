"""Standalone check of the jax engine: sample efficiency and time per suggestion.

Runs through the public API only (``create_optimizer("bayes", ..., backend="jax")``).

    python benchmarks/jax_engine_check.py regret --problem branin --seeds 0-9 --trials 50
    python benchmarks/jax_engine_check.py regret --problem hartmann6 --seeds 0-9 --jobs 2
    python benchmarks/jax_engine_check.py timing --n 50 200 1000 --dim 6
    python benchmarks/jax_engine_check.py compiles --calls 40

``regret`` prints the simple regret (best value found minus the known optimum) per seed
and the median; ``--jobs`` runs seeds in parallel processes. ``timing`` tells ``n`` random
observations to an optimiser, warms it up (compilation) and times further ask/tell
rounds; it reports the median and the mean (the mean includes the periodic full
hyperparameter refits; rounds that compiled, on entering a new bucket, are left out
and counted). ``compiles`` counts XLA compilations over sequential calls.
``--engine-options '{"acq_steps": 50}'`` passes engine options through.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# --- problems (minimisation, known optima) ---------------------------------------------------


def branin(p: dict[str, Any]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(p: dict[str, Any]) -> float:
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1))))


PROBLEMS: dict[str, tuple[dict[str, str], Callable[[dict[str, Any]], float], float]] = {
    "branin": ({"x1": "interval(-5, 10)", "x2": "interval(0, 15)"}, branin, 0.397887),
    "hartmann6": ({f"x{i}": "interval(0, 1)" for i in range(6)}, hartmann6, -3.32237),
}


# --- runs ----------------------------------------------------------------------------------------


def run_regret(
    problem: str,
    seed: int,
    trials: int,
    engine_options: dict[str, Any],
    kind: str = "bayes",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from hpo_sweeper import SearchSpace, create_optimizer

    spec, f, optimum = PROBLEMS[problem]
    space = SearchSpace.from_config(spec)
    if kind == "bayes":
        opt = create_optimizer(
            "bayes", space, seed=seed, backend="jax", n_trials=trials, engine_options=engine_options, **(options or {})
        )
    else:
        opt = create_optimizer("random", space, seed=seed)
    best, t0, trace = math.inf, time.perf_counter(), []
    for _ in range(trials):
        [p] = opt.ask(1)
        v = f(p)
        best = min(best, v)
        trace.append(best - optimum)
        opt.tell([p], [v])
    return {"seed": seed, "regret": best - optimum, "seconds": time.perf_counter() - t0, "trace": trace}


def run_timing(n: int, dim: int, rounds: int, engine_options: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    from hpo_sweeper import SearchSpace, create_optimizer

    space = SearchSpace.from_config({f"x{i}": "interval(0, 1)" for i in range(dim)})
    rng = np.random.default_rng(seed)

    def f(p: dict[str, Any]) -> float:
        x = np.array([p[f"x{i}"] for i in range(dim)])
        return float(np.sum((x - 0.3) ** 2) + 0.1 * np.sum(np.sin(7 * x)))

    opt = create_optimizer("bayes", space, seed=seed, backend="jax", n_initial_points=1, engine_options=engine_options)
    pts = space.from_unit(rng.random((n, dim)))
    opt.tell(pts, [f(p) for p in pts])
    # Warm-up: the one initial-design ask, then the GP's compilations for this bucket.
    for _ in range(3):
        [p] = opt.ask(1)
        opt.tell([p], [f(p)])
    import jax

    compiles = [0]

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            compiles[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    times, cpu, compiled = [], [], 0
    try:
        for _ in range(rounds):
            before = compiles[0]
            t0, c0 = time.perf_counter(), time.process_time()
            [p] = opt.ask(1)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            opt.tell([p], [f(p)])
            if compiles[0] > before:  # entered a new bucket: a one-off, reported apart
                compiled += 1
            else:
                times.append(dt)
                cpu.append(dc)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return {
        "n": n,
        "dim": dim,
        "median": statistics.median(times),
        "mean": statistics.fmean(times),
        "min": min(times),
        "cpu_median": statistics.median(cpu),
        "compiling_rounds": compiled,
    }


def count_compiles(calls: int, engine_options: dict[str, Any]) -> dict[str, Any]:
    import jax

    from hpo_sweeper import SearchSpace, create_optimizer

    events: list[str] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    spec, f, _ = PROBLEMS["hartmann6"]
    space = SearchSpace.from_config(spec)
    opt = create_optimizer("bayes", space, seed=0, backend="jax", n_initial_points=2, engine_options=engine_options)
    for p in space.from_unit(np.random.default_rng(0).random((2, 6))):
        opt.tell([p], [f(p)])
    for _ in range(calls):
        [p] = opt.ask(1)
        opt.tell([p], [f(p)])
    n = len(opt.history)
    return {"calls": calls, "final_n": n, "compilations": len(events), "log2_n": math.log2(n)}


# --- command line ----------------------------------------------------------------------------------


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def _single_thread_env() -> None:
    # Parallel seeds on a 2-core machine: one thread per process avoids oversubscription.
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("regret")
    r.add_argument("--problem", choices=sorted(PROBLEMS), default="branin")
    r.add_argument("--seeds", default="0-4")
    r.add_argument("--trials", type=int, default=50)
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--random", action="store_true", help="random search instead, for reference")
    t = sub.add_parser("timing")
    t.add_argument("--n", type=int, nargs="+", default=[50, 200, 1000])
    t.add_argument("--dim", type=int, default=6)
    t.add_argument("--rounds", type=int, default=10)
    c = sub.add_parser("compiles")
    c.add_argument("--calls", type=int, default=40)
    r.add_argument("--options", default="{}", help="JSON dict of BayesOptimizer options (xi, acq_func, ...)")
    for p in (r, t, c):
        p.add_argument("--engine-options", default="{}", help="JSON dict of engine options")
    args = ap.parse_args()
    eo = json.loads(args.engine_options)

    if args.cmd == "regret":
        if args.jobs > 1:
            _single_thread_env()
        seeds = _seeds(args.seeds)
        kind = "random" if args.random else "bayes"
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as ex:
                results = list(
                    ex.map(
                        run_regret,
                        [args.problem] * len(seeds),
                        seeds,
                        [args.trials] * len(seeds),
                        [eo] * len(seeds),
                        [kind] * len(seeds),
                        [json.loads(args.options)] * len(seeds),
                    )
                )
        else:
            results = [run_regret(args.problem, s, args.trials, eo, kind, json.loads(args.options)) for s in seeds]
        for res in results:
            print(
                f"{args.problem} seed={res['seed']:3d} regret={res['regret']:.3e} ({res['seconds']:.1f} s)", flush=True
            )
        regrets = [res["regret"] for res in results]
        print(
            f"{args.problem} {kind} trials={args.trials} seeds={len(seeds)}: median regret {statistics.median(regrets):.3e}, "
            f"mean log10 regret {statistics.fmean(math.log10(max(r, 1e-12)) for r in regrets):.2f}"
        )
    elif args.cmd == "timing":
        for n in args.n:
            res = run_timing(n, args.dim, args.rounds, eo)
            print(
                f"n={n:5d} d={args.dim}: median {res['median']:.4f} s, mean {res['mean']:.4f} s, min {res['min']:.4f} s "
                f"per suggestion, median CPU {res['cpu_median']:.4f} s "
                f"({res['compiling_rounds']} rounds that compiled left out)",
                flush=True,
            )
    else:
        res = count_compiles(args.calls, eo)
        print(
            f"{res['calls']} sequential calls up to n={res['final_n']} (log2 n = {res['log2_n']:.1f}): "
            f"{res['compilations']} XLA compilations"
        )


if __name__ == "__main__":
    main()
