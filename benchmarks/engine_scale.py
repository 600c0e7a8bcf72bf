"""The JAX engine at large n (issue #20, item 3): cost of a suggestion, and what the
posterior subset (``engines/jax_gp/subset.py``, engine option ``max_posterior_points``)
does to regret.

Time: ``n`` uniform random points of Hartmann-6 are told, then ``repeats`` + 1 rounds of
"suggest one point, tell it": the first round compiles for the bucket and runs a full
fit; the others are what a long sweep pays per trial. Process CPU seconds and wall.

Regret: per seed, a history of ``n`` uniform random points (the seed's), then ``steps``
suggestions of one point each, every one told before the next, for each variant from the
same history with the same engine seed. The figure is the simple regret (best value minus
the optimum) after the steps. Random histories, not model-guided ones: the cheapest way to
put ``n`` = 2,000 observations in front of the model (a 2,000-trial exact-GP sweep per seed
costs CPU-hours here); a guided history is denser near the optimum, where the subset's
local share is taken from, so this protocol is if anything harder on the subset.

    python -m benchmarks.engine_scale time --n 500 2000 10000 --cap 1024
    python -m benchmarks.engine_scale regret --n 2000 --caps 1048576 1024 --seeds 8 --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from typing import Any

from benchmarks._env import pin_threads

pin_threads()

import numpy as np  # noqa: E402

from benchmarks.problems import HARTMANN6_OPT, hartmann6, levy  # noqa: E402

#: name -> (function of a point of [0, 1]^6, its optimum)
PROBLEMS: dict[str, tuple[Callable[[np.ndarray], float], float]] = {
    "hartmann6": (hartmann6, HARTMANN6_OPT),
    "levy6": (lambda u: levy(-10.0 + 20.0 * np.asarray(u)), 0.0),
}
D = 6


def _engine(cap: int, seed: int) -> tuple[Any, Any]:
    from hpo_sweeper import SearchSpace
    from hpo_sweeper.engines.jax_gp import engine

    space = SearchSpace.from_config({f"x{i}": "interval(0, 1)" for i in range(D)})
    cfg = engine.make_config(seed=seed, max_posterior_points=cap)
    return engine, engine.init(space.layout, cfg)


def time_suggest(n: int, cap: int, repeats: int) -> list[dict[str, Any]]:
    eng, state = _engine(cap, 0)
    f, _ = PROBLEMS["hartmann6"]
    rng = np.random.default_rng(0)
    X = rng.random((n, D))
    y = np.array([f(x) for x in X])
    rows = []
    for r in range(repeats + 1):
        c0, w0 = time.process_time(), time.perf_counter()
        x_new, state = eng.suggest(state, X, y, np.zeros((0, D)), 1, (0, r))
        rows.append({"n": len(X), "cap": cap, "call": r, "cpu_s": time.process_time() - c0,
                     "wall_s": time.perf_counter() - w0, "kind": state.last_fit.get("kind"),
                     "bucket": state.last_fit.get("bucket"), "load1": os.getloadavg()[0]})
        print(json.dumps(rows[-1]), flush=True)
        X, y = np.vstack([X, x_new]), np.append(y, f(x_new[0]))
    print(json.dumps({"n": n, "cap": cap, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return rows


def regret(problem: str, n: int, caps: list[int], seeds: int, steps: int) -> list[dict[str, Any]]:
    f, opt = PROBLEMS[problem]
    rows = []
    for s in range(seeds):
        rng = np.random.default_rng([s, n])
        X0 = rng.random((n, D))
        y0 = np.array([f(x) for x in X0])
        for cap in caps:
            eng, state = _engine(cap, s)
            X, y = X0, y0
            c0 = time.process_time()
            for t in range(steps):
                x_new, state = eng.suggest(state, X, y, np.zeros((0, D)), 1, (s, t))
                X, y = np.vstack([X, x_new]), np.append(y, f(x_new[0]))
            rows.append({"problem": problem, "n": n, "cap": cap, "seed": s, "steps": steps,
                         "history_regret": float(np.min(y0) - opt), "regret": float(np.min(y) - opt),
                         "cpu_s": time.process_time() - c0})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("time", "regret"))
    ap.add_argument("--n", type=int, nargs="+", default=[500, 2000, 10000])
    ap.add_argument("--cap", type=int, default=1024)
    ap.add_argument("--caps", type=int, nargs="+", default=[1 << 20, 1024])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    for n in a.n:
        if a.mode == "time":
            time_suggest(n, a.cap, a.repeats)
        else:
            for p in a.problems:
                regret(p, n, a.caps, a.seeds, a.steps)


if __name__ == "__main__":
    main()
