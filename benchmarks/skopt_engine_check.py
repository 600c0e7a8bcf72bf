"""Quality and speed check of the scikit-optimize engine (``backend="skopt"``).

Branin on [-5, 10] x [0, 15] (optimum 0.397887), sequential trials through the public
API with the front's defaults; prints the simple regret per seed, its median and the
time per model-guided suggestion. Target: median regret <= 1e-2 at 40 trials, 3 seeds.

    python benchmarks/skopt_engine_check.py [--trials 40] [--seeds 0 1 2] [--acq EI]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from hpo_sweeper import SearchSpace, create_optimizer

BRANIN_OPTIMUM = 0.397887


def branin(x1: float, x2: float) -> float:
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def run(seed: int, n_trials: int, options: dict) -> tuple[float, float, int]:
    """Returns (simple regret, seconds per model-guided suggestion, number of those)."""
    space = SearchSpace.from_config({"x1": "interval(-5, 10)", "x2": "interval(0, 15)"})
    opt = create_optimizer("bayes", space, seed=seed, backend="skopt", n_trials=n_trials, **options)
    guided_time, guided = 0.0, 0
    for i in range(n_trials):
        t0 = time.perf_counter()
        (p,) = opt.ask(1)
        dt = time.perf_counter() - t0
        if i >= opt.n_initial_points:
            guided_time += dt
            guided += 1
        opt.tell([p], [branin(p["x1"], p["x2"])])
    best = opt.best()
    assert best is not None
    return best[1] - BRANIN_OPTIMUM, guided_time / max(guided, 1), guided


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--acq", default=None, help="acq_func (default: the front's)")
    ap.add_argument("--n-initial-points", type=int, default=None)
    args = ap.parse_args()
    options: dict = {}
    if args.acq:
        options["acq_func"] = args.acq
    if args.n_initial_points:
        options["n_initial_points"] = args.n_initial_points
    regrets, times = [], []
    for seed in args.seeds:
        regret, per, guided = run(seed, args.trials, options)
        regrets.append(regret)
        times.append(per)
        print(f"seed {seed}: regret {regret:.3e}  ({guided} guided suggestions, {per:.3f} s each)")
    med = statistics.median(regrets)
    print(f"median regret {med:.3e} (target <= 1e-2: {'met' if med <= 1e-2 else 'NOT met'}); "
          f"mean time per suggestion {statistics.mean(times):.3f} s")


if __name__ == "__main__":
    main()
