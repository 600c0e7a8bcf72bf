"""Conditional search spaces (issue #17): median regret on two tree-shaped problems.

    python -m benchmarks.conditional --problems tree mlp --seeds 10 --trials 30
    python -m benchmarks.conditional --problems tree mlp --methods "hpo_sweeper bayes (jax)" --inactive indicator

Problem ``tree`` (synthetic, known optimum 0): ``branch: choice(a, b, c)`` with branches of
different dimension, each parameter in [0, 1] and active only in its branch:
  a (1-D): 0.6 + 4 (a_x - 0.2)^2                               minimum 0.6
  b (2-D): Branin on [-5, 10] x [0, 15], minus its minimum, /10   minimum 0 (the global one)
  c (4-D): 0.3 + sum_i (c_i - 0.25 i)^2  (i = 0..3)             minimum 0.3
Regret = best value found (its minimum over the trials) - 0.

Problem ``mlp`` (the example app): ``train.train_mlp`` (train.py's MLP on sklearn's digits, the
settings of conf/config.yaml, seed 0: deterministic) called in-process, over the optimizer-family
space of conf/search_space/optimizer_family.yaml: optim.name adamw | sgd, optim.lr (log),
optim.beta2 only for adamw, optim.momentum only for sgd, optim.weight_decay (log),
train.batch_size 32 | 128, forbidden sgd with 32. The true optimum is unknown: regret = best
val_loss found - the best val_loss ever evaluated for this problem (any method, any run: the
minimum over the evaluation cache, ``--cache``). A diverged training (NaN/inf) is a failed trial
for every method. Each evaluation is cached (a JSON line per configuration), so an interrupted
run resumes without retraining, and reruns give the same numbers.

Methods: ours ``bayes`` (JAX engine, inactive dims imputed, see space.INACTIVE_UNIT) and ``random``
(the tree sampled) via ask/tell; Optuna TPE (define-by-run, multivariate=True, group=True) and
Optuna GPSampler (define-by-run; on a dynamic space it falls back to independent sampling for
the parameters outside the relative space), and Optuna's RandomSampler. Optuna's define-by-run
objective for ``mlp`` writes the forbidden combination as the tree a user would write: batch_size
is suggested only for adamw (sgd always runs 128).
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
from pathlib import Path
from typing import Any

from benchmarks._env import pin_threads

pin_threads()  # one thread, as the other benchmarks (before numpy/jax/torch load)

ROOT = Path(__file__).resolve().parents[1]

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


def tree_optuna(trial: Any) -> dict[str, Any]:
    branch = trial.suggest_categorical("branch", ["a", "b", "c"])
    p: dict[str, Any] = {"branch": branch}
    names = {"a": ["a_x"], "b": ["b_0", "b_1"], "c": [f"c_{i}" for i in range(4)]}[branch]
    for n in names:
        p[n] = trial.suggest_float(n, 0.0, 1.0)
    return p


# --- problem mlp: the example app --------------------------------------------------------------

def mlp_space_config() -> dict[str, Any]:
    """conf/search_space/optimizer_family.yaml, as the sweeper reads it."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(ROOT / "conf" / "search_space" / "optimizer_family.yaml")
    return OmegaConf.to_container(cfg)  # type: ignore[return-value]


def mlp_optuna(trial: Any) -> dict[str, Any]:
    """The same space, define-by-run (its bounds as optimizer_family.yaml's)."""
    name = trial.suggest_categorical("optim.name", ["adamw", "sgd"])
    p: dict[str, Any] = {"optim.name": name,
                         "optim.lr": trial.suggest_float("optim.lr", 1.0e-4, 3.0e-1, log=True)}
    if name == "adamw":
        p["optim.beta2"] = trial.suggest_float("optim.beta2", 0.9, 0.9999)
        p["train.batch_size"] = trial.suggest_categorical("train.batch_size", [32, 128])
    else:
        p["optim.momentum"] = trial.suggest_float("optim.momentum", 0.0, 0.99)
        p["train.batch_size"] = 128  # forbidden: sgd with 32
    p["optim.weight_decay"] = trial.suggest_float("optim.weight_decay", 1e-6, 1e-2, log=True)
    return p


class MLPObjective:
    """val_loss of train.train_mlp for a point of the space, cached in a JSON-lines file."""

    def __init__(self, cache: Path | None, epochs: int | None = None) -> None:
        from omegaconf import DictConfig, OmegaConf

        base = OmegaConf.load(ROOT / "conf" / "config.yaml")
        assert isinstance(base, DictConfig)
        self.base = OmegaConf.create({k: base[k] for k in ("seed", "data", "model", "optim", "train")})
        if epochs is not None:
            self.base.train.epochs = int(epochs)
        self.epochs = int(self.base.train.epochs)
        self.cache_path = cache
        self.cache: dict[str, float] = {}
        self.n_trained = 0
        self.train_s = 0.0
        if cache is not None and cache.exists():
            for line in cache.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.cache[row["key"]] = row["val_loss"]

    def key(self, p: dict[str, Any]) -> str:
        canon = {k: (float(f"{v:.12g}") if isinstance(v, float) else v) for k, v in sorted(p.items())}
        return json.dumps({"epochs": self.epochs, **canon}, sort_keys=True)

    def __call__(self, p: dict[str, Any]) -> float:
        k = self.key(p)
        if k not in self.cache:
            from omegaconf import OmegaConf

            if os.fspath(ROOT) not in sys.path:
                sys.path.insert(0, os.fspath(ROOT))  # train.py, the example app, lives at the root
            import train

            cfg = self.base.copy()
            for name, value in p.items():
                OmegaConf.update(cfg, name, value, merge=False)
            t0 = time.perf_counter()
            v = float(train.train_mlp(cfg)["val_loss"])
            self.train_s += time.perf_counter() - t0
            self.n_trained += 1
            self.cache[k] = v if math.isfinite(v) else math.nan
            if self.cache_path is not None:
                with open(self.cache_path, "a") as f:  # one short line per write: appends do not interleave
                    f.write(json.dumps({"key": k, "val_loss": self.cache[k]}) + "\n")
        return self.cache[k]

    def best_ever(self) -> float:
        ok = [v for k, v in self.cache.items() if math.isfinite(v) and json.loads(k)["epochs"] == self.epochs]
        return min(ok) if ok else math.nan


# --- item 2 of the issue: a second way to model inactive dimensions, measured ------------------

def use_indicator_features() -> None:
    """Imputation plus an indicator: one more GP feature per conditional parameter, 1 where it is
    active and 0 where not (a numeric column with the levels {0, 1}, after all the others), on top
    of the constant ``space.INACTIVE_UNIT``. Patched into ``SearchSpace`` for this process only
    (``--inactive indicator``), for the JAX engine: the library keeps the constant alone, which
    measured as well (benchmarks/notes/issue17_conditional.md)."""
    import dataclasses
    import functools

    import numpy as np

    from hpo_sweeper import space as S

    base_layout = S.SearchSpace.__dict__["layout"].func
    base_features = S.SearchSpace.to_features

    def conditional(self: Any) -> list[str]:
        return [p.name for p in self.params if p.name in self._conditions]

    def layout(self: Any) -> Any:
        lay = base_layout(self)
        cond = conditional(self)
        if not cond:
            return lay
        k, d, n_num = len(cond), lay.n_features, lay.levels.shape[0]
        levels = np.full((n_num + k, max(lay.levels.shape[1], 2)), np.inf)
        levels[:n_num, : lay.levels.shape[1]] = lay.levels
        levels[n_num:, :2] = [0.0, 1.0]
        return dataclasses.replace(
            lay, n_features=d + k, numeric=lay.numeric + tuple(range(d, d + k)),
            numeric_levels=lay.numeric_levels + (np.array([0.0, 1.0]),) * k, levels=levels,
            n_levels=np.concatenate([lay.n_levels, np.full(k, 2, dtype=lay.n_levels.dtype)]))

    def to_features(self: Any, points: Any) -> Any:
        X = base_features(self, points)  # the wider layout's zeros, the indicator columns left 0
        cond = conditional(self)
        if cond:
            d = X.shape[1] - len(cond)
            for i, pt in enumerate(points):
                active = set(self.active(pt))
                X[i, d:] = [n in active for n in cond]
        return X

    prop = functools.cached_property(layout)
    prop.__set_name__(S.SearchSpace, "layout")
    S.SearchSpace.layout = prop  # type: ignore[assignment,method-assign]
    S.SearchSpace.to_features = to_features  # type: ignore[method-assign]


# --- the methods -------------------------------------------------------------------------------

def run_ours(kind: str, space_config: dict[str, Any], f: Callable[[dict[str, Any]], float],
             seed: int, trials: int) -> float:
    from hpo_sweeper.optimizers.bayes import BayesOptimizer
    from hpo_sweeper.optimizers.random_search import RandomSearch
    from hpo_sweeper.space import SearchSpace

    space = SearchSpace.from_config(space_config)
    opt = BayesOptimizer(space, seed=seed, n_trials=trials) if kind == "bayes" else RandomSearch(space, seed=seed)
    best = math.inf
    for _ in range(trials):
        (p,) = opt.ask(1)
        v = f(p)
        if math.isfinite(v):
            best = min(best, v)
        opt.tell([p], [v])  # NaN: a failed trial
    return best


def run_optuna(kind: str, suggest: Callable[[Any], dict[str, Any]], f: Callable[[dict[str, Any]], float],
               seed: int, trials: int) -> float:
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if kind == "tpe":
        sampler: Any = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    elif kind == "gp":
        sampler = optuna.samplers.GPSampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)

    def objective(trial: Any) -> float:
        return f(suggest(trial))  # NaN: Optuna records the trial as failed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=trials)
    done = [t.value for t in study.trials if t.value is not None and math.isfinite(t.value)]
    return min(done) if done else math.inf


METHOD_NAMES = {
    "hpo_sweeper bayes (jax)": ("ours", "bayes"),
    "hpo_sweeper random": ("ours", "random"),
    "optuna TPE (multivariate+group)": ("optuna", "tpe"),
    "optuna GPSampler": ("optuna", "gp"),
    "optuna random": ("optuna", "random"),
}


def problem(name: str, cache: Path | None, epochs: int | None) -> tuple[dict[str, Any], Callable[[Any], dict[str, Any]],
                                                                       Callable[[dict[str, Any]], float]]:
    if name == "tree":
        return SPACE, tree_optuna, tree
    if name == "mlp":
        return mlp_space_config(), mlp_optuna, MLPObjective(cache, epochs)
    raise SystemExit(f"unknown problem {name!r}: tree | mlp")


def run_method(method: str, space_config: dict[str, Any], suggest: Callable[[Any], dict[str, Any]],
               f: Callable[[dict[str, Any]], float], seed: int, trials: int) -> float:
    family, kind = METHOD_NAMES[method]
    if family == "ours":
        return run_ours(kind, space_config, f, seed, trials)
    return run_optuna(kind, suggest, f, seed, trials)


def table(name: str, rows: dict[str, list[float]], seconds: dict[str, float], optimum: float) -> list[str]:
    out = []
    if name == "tree":
        out.append("| method | median regret | q25 | q75 | b-branch found (seeds) | s per run |")
        out.append("|---|---|---|---|---|---|")
    else:
        out.append(f"| method | median regret | q25 | q75 | median best val_loss | s per run |  (reference: best "
                   f"val_loss ever seen {optimum:.5g})")
        out.append("|---|---|---|---|---|---|")
    for method, bests in rows.items():
        regrets = [b - optimum for b in bests]
        q = statistics.quantiles(regrets, n=4) if len(regrets) > 1 else [regrets[0]] * 3
        extra = (f"{sum(r < 0.3 for r in regrets)}/{len(regrets)}" if name == "tree"  # only b can go below 0.3
                 else f"{statistics.median(bests):.4g}")
        out.append(f"| {method} | {statistics.median(regrets):.3g} | {q[0]:.3g} | {q[2]:.3g} | {extra} | "
                   f"{seconds[method]:.1f} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", nargs="+", default=["tree"], choices=["tree", "mlp"])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--methods", default=",".join(METHOD_NAMES))
    ap.add_argument("--epochs", type=int, default=None, help="mlp: train.epochs (default: conf/config.yaml's)")
    ap.add_argument("--cache", default=os.fspath(ROOT / "benchmarks" / "results" / "conditional_mlp_cache.jsonl"),
                    help="mlp: the evaluation cache (JSON lines); '' for none")
    ap.add_argument("--inactive", default="constant", choices=["constant", "indicator"],
                    help="bayes: inactive dims as the library models them (a constant), or with an indicator "
                         "feature too (use_indicator_features)")
    ap.add_argument("--json", default=None, help="append each (problem, method, seed, best) as a JSON line here")
    args = ap.parse_args()
    cache = Path(args.cache) if args.cache else None
    if args.inactive == "indicator":
        use_indicator_features()
    for name in args.problems:
        space_config, suggest, f = problem(name, cache, args.epochs)
        rows: dict[str, list[float]] = {}
        seconds: dict[str, float] = {}
        for method in args.methods.split(","):
            t0 = time.perf_counter()
            rows[method] = []
            for seed in range(args.seeds):
                best = run_method(method, space_config, suggest, f, seed, args.trials)
                rows[method].append(best)
                if args.json:
                    with open(args.json, "a") as fh:
                        fh.write(json.dumps({"problem": name, "method": method, "seed": seed, "trials": args.trials,
                                             "inactive": args.inactive, "best": best}) + "\n")
            seconds[method] = (time.perf_counter() - t0) / args.seeds
            print(f"# {name} {method}: bests {[round(b, 5) for b in rows[method]]}", flush=True)
        optimum = f.best_ever() if isinstance(f, MLPObjective) else 0.0
        if isinstance(f, MLPObjective):
            print(f"# mlp: train.epochs={f.epochs}, {f.n_trained} trainings in this run "
                  f"({f.train_s / max(f.n_trained, 1):.2f} s each), {len(f.cache)} cached evaluations", flush=True)
        print(f"\n## {name}\n")
        print("\n".join(table(name, rows, seconds, optimum)), flush=True)


if __name__ == "__main__":
    main()
