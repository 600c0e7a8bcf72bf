"""Conditional search spaces (issue #17): median regret on a tree-shaped problem with a known optimum.

    python -m benchmarks.conditional --seeds 10 --trials 30

Problem ``tree`` (synthetic, known optimum 0): ``branch: choice(a, b, c)`` with branches of
different dimension, each parameter in [0, 1] and active only in its branch:
  a (1-D): 0.6 + 4 (a_x - 0.2)^2                               minimum 0.6
  b (2-D): Branin on [-5, 10] x [0, 15], minus its minimum, /10   minimum 0 (the global one)
  c (4-D): 0.3 + sum_i (c_i - 0.25 i)^2  (i = 0..3)             minimum 0.3
Regret = best value found (its minimum over the trials) - 0.

Methods: ours ``bayes`` (JAX engine, inactive dims imputed, see space.INACTIVE_UNIT) and ``random``
(the tree sampled) via ask/tell; Optuna TPE (define-by-run, multivariate=True, group=True) and
Optuna GPSampler (define-by-run; on a dynamic space it falls back to independent sampling for
the parameters outside the relative space), and Optuna's RandomSampler.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any

from benchmarks._env import pin_threads

pin_threads()  # one thread, as the other benchmarks (before numpy/jax/torch load)

SPACE = {
    "branch": "choice(a, b, c)",
    "a_x": {"type": "float", "low": 0.0, "high": 1.0, "when": {"branch": "a"}},
    "b_0": {"type": "float", "low": 0.0, "high": 1.0, "when": {"branch": "b"}},
    "b_1": {"type": "float", "low": 0.0, "high": 1.0, "when": {"branch": "b"}},
    **{f"c_{i}": {"type": "float", "low": 0.0, "high": 1.0, "when": {"branch": "c"}} for i in range(4)},
}
BRANIN_MIN = 0.397887357729738


def tree(p: dict[str, Any]) -> float:
    if p["branch"] == "a":
        return 0.6 + 4 * (p["a_x"] - 0.2) ** 2
    if p["branch"] == "b":
        x1, x2 = -5 + 15 * p["b_0"], 15 * p["b_1"]
        b = (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10
        return (b - BRANIN_MIN) / 10
    return 0.3 + sum((p[f"c_{i}"] - 0.25 * i) ** 2 for i in range(4))


def run_ours(kind: str, seed: int, trials: int) -> float:
    from hpo_sweeper.optimizers.bayes import BayesOptimizer
    from hpo_sweeper.optimizers.random_search import RandomSearch
    from hpo_sweeper.space import SearchSpace

    space = SearchSpace.from_config(SPACE)
    opt = BayesOptimizer(space, seed=seed, n_trials=trials) if kind == "bayes" else RandomSearch(space, seed=seed)
    best = math.inf
    for _ in range(trials):
        (p,) = opt.ask(1)
        v = tree(p)
        best = min(best, v)
        opt.tell([p], [v])
    return best


def run_optuna(kind: str, seed: int, trials: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if kind == "tpe":
        sampler: Any = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    elif kind == "gp":
        sampler = optuna.samplers.GPSampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)

    def objective(trial: Any) -> float:
        branch = trial.suggest_categorical("branch", ["a", "b", "c"])
        p: dict[str, Any] = {"branch": branch}
        names = {"a": ["a_x"], "b": ["b_0", "b_1"], "c": [f"c_{i}" for i in range(4)]}[branch]
        for n in names:
            p[n] = trial.suggest_float(n, 0.0, 1.0)
        return tree(p)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=trials)
    return float(study.best_value)


METHODS = {
    "hpo_sweeper bayes (jax)": lambda s, t: run_ours("bayes", s, t),
    "hpo_sweeper random": lambda s, t: run_ours("random", s, t),
    "optuna TPE (multivariate+group)": lambda s, t: run_optuna("tpe", s, t),
    "optuna GPSampler": lambda s, t: run_optuna("gp", s, t),
    "optuna random": lambda s, t: run_optuna("random", s, t),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    print("| method | median regret | q25 | q75 | b-branch found (seeds) | s per run |")
    print("|---|---|---|---|---|---|")
    for name in args.methods.split(","):
        t0 = time.perf_counter()
        regrets = [METHODS[name](seed, args.trials) for seed in range(args.seeds)]
        dt = (time.perf_counter() - t0) / args.seeds
        q = statistics.quantiles(regrets, n=4) if len(regrets) > 1 else [regrets[0]] * 3
        found = sum(r < 0.3 for r in regrets)  # below 0.3 only the b branch can be (a >= 0.6, c >= 0.3)
        print(f"| {name} | {statistics.median(regrets):.3g} | {q[0]:.3g} | {q[2]:.3g} | {found}/{len(regrets)} | "
              f"{dt:.1f} |", flush=True)


if __name__ == "__main__":
    main()
