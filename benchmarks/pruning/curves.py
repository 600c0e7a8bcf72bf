"""Real learning curves for the pruning benchmark, computed once and kept in ``curves/<task>.json``.

Each task is a pool of configurations drawn at random from its search space, with the full curve
of every configuration (the validation loss after every epoch / boosting stage). The simulation
(simulate.py) looks a proposed configuration up by its nearest neighbour in the pool, as tabular
benchmarks do, so a sweep costs no training.

- ``mlp``: train.py's MLP on digits (conf/search_space/mlp.yaml), 27 epochs, validation
  cross-entropy. Curves fall fast, then flatten or rise again (overfitting); large learning rates
  diverge (NaN from then on).
- ``gbdt``: scikit-learn's GradientBoostingClassifier on the bundled breast-cancer data, 81
  boosting stages, validation log-loss from ``staged_predict_proba``. Curves cross: a high
  learning rate is best early and overfits late, a low one is poor early and best late, which is
  what makes early stopping hard.
- ``sgd``: scikit-learn's SGDClassifier (logistic regression, ``loss="log_loss"``) on the
  bundled breast-cancer data, standardised, one ``partial_fit`` epoch per step, 81 epochs,
  validation log-loss; the learning-rate schedule is searched (constant, optimal = 1/(alpha t),
  invscaling = eta0 / t**power_t). A third curve shape: most curves fall fast and flatten, in
  the order they end (so early ranks mostly hold); a constant large rate overfits slowly; the
  ``optimal`` schedule with a small alpha takes huge steps and stays noisy and poor.

    python -m benchmarks.pruning.curves mlp --n 200     # ~10 min on one busy core
    python -m benchmarks.pruning.curves gbdt --n 300
    python -m benchmarks.pruning.curves sgd --n 300      # ~1 min
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: name -> (kind, low, high, log) for floats/ints, or (choice, options)
SPACES: dict[str, dict[str, tuple[Any, ...]]] = {
    "mlp": {
        "optim.lr": ("float", 1e-4, 1e-1, True),
        "optim.weight_decay": ("float", 1e-6, 1e-2, True),
        "model.width": ("int", 16, 256, True),
        "model.depth": ("int", 1, 3, False),
        "train.batch_size": ("choice", (32, 64, 128)),
        "model.activation": ("choice", ("relu", "tanh", "gelu", "silu")),
    },
    "gbdt": {
        "learning_rate": ("float", 0.01, 1.0, True),
        "max_depth": ("int", 1, 8, False),
        "subsample": ("float", 0.3, 1.0, False),
        "min_samples_leaf": ("int", 1, 50, True),
        "max_features": ("float", 0.1, 1.0, False),
    },
    "sgd": {
        "learning_rate": ("choice", ("constant", "optimal", "invscaling")),
        "eta0": ("float", 1e-4, 1.0, True),
        "alpha": ("float", 1e-6, 1e-1, True),
        "power_t": ("float", 0.1, 0.9, False),
        "penalty": ("choice", ("l2", "l1", "elasticnet")),
    },
}
STEPS = {"mlp": 27, "gbdt": 81, "sgd": 81}


def sample(space: dict[str, tuple[Any, ...]], rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in space.items():
        if spec[0] == "choice":
            out[name] = spec[1][int(rng.integers(len(spec[1])))]
            continue
        kind, low, high, log = spec
        u = rng.random()
        x = math.exp(math.log(low) + u * (math.log(high) - math.log(low))) if log else low + u * (high - low)
        out[name] = int(min(high, max(low, round(x)))) if kind == "int" else float(x)
    return out


def mlp_curve(params: dict[str, Any], steps: int) -> list[float]:
    import sys

    sys.path.insert(0, str(ROOT))
    from omegaconf import OmegaConf

    from train import train_mlp

    cfg = OmegaConf.load(ROOT / "conf" / "config.yaml")
    cfg = OmegaConf.merge({k: v for k, v in cfg.items() if k not in ("defaults", "hydra")}, {"train": {"epochs": steps}})
    for key, value in params.items():
        OmegaConf.update(cfg, key, value)
    curve: list[float] = []
    train_mlp(cfg, on_epoch=lambda epoch, m: curve.append(m["val_loss"]))
    return curve + [math.nan] * (steps - len(curve))  # diverged: NaN from the first bad epoch on


def gbdt_curve(params: dict[str, Any], steps: int) -> list[float]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    model = GradientBoostingClassifier(n_estimators=steps, random_state=0, **params).fit(x_tr, y_tr)
    return [float(log_loss(y_va, p, labels=[0, 1])) for p in model.staged_predict_proba(x_va)]


def sgd_curve(params: dict[str, Any], steps: int) -> list[float]:
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_va = scaler.transform(x_tr), scaler.transform(x_va)
    model = SGDClassifier(loss="log_loss", random_state=0, **params)
    curve = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(steps):
            model.partial_fit(x_tr, y_tr, classes=[0, 1])
            loss = float(log_loss(y_va, model.predict_proba(x_va), labels=[0, 1]))
            curve.append(loss if math.isfinite(loss) else math.nan)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(SPACES))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    steps = STEPS[args.task]
    curve_of = {"mlp": mlp_curve, "gbdt": gbdt_curve, "sgd": sgd_curve}[args.task]
    configs, curves = [], []
    start = time.perf_counter()
    for i in range(args.n):
        params = sample(SPACES[args.task], rng)
        configs.append(params)
        curves.append(curve_of(params, steps))
        if i % 20 == 0:
            print(f"{i}/{args.n} {time.perf_counter() - start:.0f}s", flush=True)
    out = HERE / "curves" / f"{args.task}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"task": args.task, "steps": steps, "seed": args.seed, "space": SPACES[args.task],
                               "configs": configs, "curves": curves,
                               "seconds": round(time.perf_counter() - start, 1)}, allow_nan=True))
    print(f"wrote {out} ({time.perf_counter() - start:.0f}s)")


if __name__ == "__main__":
    main()
