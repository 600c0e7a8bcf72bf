"""The example app (``train.py``'s MLP on sklearn digits) as a tabulated two-objective problem.

    .venv/bin/python -m benchmarks.multiobjective.mlp_table --build   # trains the grid (minutes)

Training every trial of every seed of every method (50 x 10 x 5 runs of ``train_mlp``, most of
each one's seconds spent compiling a new layer shape) is too heavy for this 2-core machine, so
``train_mlp`` is run once per point of a grid and the benchmark reads the table:

* the space is conf/experiment/multiobjective_mlp.yaml's (search_space/mlp.yaml) with
  ``model.activation = relu`` and ``train.batch_size = 64`` fixed (conf/config.yaml's
  defaults): ``optim.lr`` log in [1e-4, 1e-1], ``optim.weight_decay`` log in [1e-6, 1e-2],
  ``model.width`` log-int in [16, 256], ``model.depth`` int in [1, 3];
* the grid: 7 learning rates x 4 weight decays x 9 widths (log-spaced) x 3 depths, each trained
  as ``train_mlp`` does (15 epochs, ``seed = 0``, ``data.seed = 0``);
* the objectives, both minimised: ``val_loss`` (multilinear interpolation in log lr, log
  weight decay and log width between the grid's points, per depth; a diverged run, NaN or
  above ``LOSS_CAP``, counts as ``LOSS_CAP``) and ``n_params`` in thousands (exact, for the
  integer width); reference point ``REF`` = (val_loss 1.0, 160 thousand parameters: above
  the largest model's 150.8);
* ``max_hv``: the hypervolume of the front of 200,000 uniform points and the grid's points
  (a lower bound of the table's true front), stored in the table.
"""

from __future__ import annotations

from benchmarks._env import pin_threads

pin_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

TABLE = Path(__file__).resolve().parents[1] / "results" / "mlp_table.json"
LR = np.geomspace(1e-4, 1e-1, 7)
WD = np.geomspace(1e-6, 1e-2, 4)
WIDTH = np.unique(np.round(np.geomspace(16, 256, 9)).astype(int))
DEPTH = np.array([1, 2, 3])
#: chance level is ln 10 = 2.30: a diverged run counts as slightly worse
LOSS_CAP = 2.5
#: the benchmark's fixed reference point: (val_loss, thousands of parameters)
REF = (1.0, 160.0)


def n_params(width: int, depth: int, n_in: int = 64, n_out: int = 10) -> float:
    sizes = [n_in] + [int(width)] * int(depth) + [n_out]
    return float(sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])))


def build(path: Path = TABLE) -> None:
    from omegaconf import OmegaConf

    import train

    base = OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "config.yaml")
    loss = np.full((len(DEPTH), len(WIDTH), len(LR), len(WD)), np.nan)
    t0 = time.perf_counter()
    for a, depth in enumerate(DEPTH):
        for b, width in enumerate(WIDTH):
            for c, lr in enumerate(LR):
                for e, wd in enumerate(WD):
                    cfg = OmegaConf.merge(base, {
                        "model": {"width": int(width), "depth": int(depth), "activation": "relu"},
                        "train": {"batch_size": 64},
                        "optim": {"lr": float(lr), "weight_decay": float(wd)},
                    })
                    loss[a, b, c, e] = train.train_mlp(cfg)["val_loss"]
            print(f"depth {depth} width {width}: {time.perf_counter() - t0:.0f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "lr": LR.tolist(), "weight_decay": WD.tolist(), "width": WIDTH.tolist(), "depth": DEPTH.tolist(),
        "val_loss": [[[[None if not math.isfinite(v) else v for v in r3] for r3 in r2] for r2 in r1] for r1 in loss],
        "epochs": 15, "activation": "relu", "batch_size": 64, "seconds": time.perf_counter() - t0,
    }))


def load(path: Path = TABLE) -> MLPTable:
    return MLPTable(path)


class MLPTable:
    """``f(X: (n, 4) in [0, 1]) -> (n, 2)``: (val_loss, thousands of parameters) of the tabulated app."""

    dim = 4
    n_obj = 2

    def __init__(self, path: Path = TABLE) -> None:
        from scipy.interpolate import RegularGridInterpolator

        t = json.loads(path.read_text())
        L = np.array([[[[LOSS_CAP if v is None else v for v in r3] for r3 in r2] for r2 in r1] for r1 in t["val_loss"]],
                     dtype=float)
        self.loss = np.minimum(L, LOSS_CAP)  # (depth, width, lr, wd)
        grids = (np.log(np.array(t["width"], dtype=float)), np.log(t["lr"]), np.log(t["weight_decay"]))
        self.depths = np.array(t["depth"])
        self._interp = [RegularGridInterpolator(grids, self.loss[i], method="linear") for i in range(len(self.depths))]
        self._lo, self._hi = np.array([g[0] for g in grids]), np.array([g[-1] for g in grids])
        self.max_hv = t.get("max_hv")
        self._space = self.space()

    @staticmethod
    def space() -> Any:
        """search_space/mlp.yaml's lr, weight decay, width and depth as the sweeper's ``SearchSpace``."""
        from hpo_sweeper.space import Kind, Parameter, SearchSpace

        return SearchSpace((Parameter("lr", Kind.FLOAT, low=1e-4, high=1e-1, log=True),
                            Parameter("weight_decay", Kind.FLOAT, low=1e-6, high=1e-2, log=True),
                            Parameter("width", Kind.INT, low=16, high=256, log=True),
                            Parameter("depth", Kind.INT, low=1, high=3)), {})

    def decode(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Unit cube -> (lr, weight_decay, width, depth) by the sweeper's own decoding
        (``SearchSpace.from_unit``: log scales, integers rounded)."""
        pts = self._space.from_unit(np.clip(np.atleast_2d(np.asarray(X, dtype=float)), 0.0, 1.0))
        return tuple(np.array([p[k] for p in pts]) for k in ("lr", "weight_decay", "width", "depth"))  # type: ignore[return-value]

    def snap(self, X: np.ndarray) -> np.ndarray:
        """The unit coordinates of the configurations that ``X`` decodes to, as the sweeper gives its
        engine (a proposal between two integers is recorded at the integer it ran)."""
        return self._space.to_unit(self._space.from_unit(np.clip(np.atleast_2d(X), 0.0, 1.0)))

    def values(self, lr: np.ndarray, wd: np.ndarray, width: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """(val_loss, n_params / 1000) for each configuration."""
        lr, wd = np.asarray(lr, dtype=float), np.asarray(wd, dtype=float)
        width, depth = np.asarray(width, dtype=int), np.asarray(depth, dtype=int)
        pts = np.stack([np.log(width.astype(float)), np.log(lr), np.log(wd)], axis=1)
        pts = np.clip(pts, self._lo, self._hi)  # exp(log(b)) may land one ulp outside the grid
        loss = np.empty(len(lr))
        for i, d in enumerate(self.depths):
            sel = depth == d
            if np.any(sel):
                loss[sel] = self._interp[i](pts[sel])
        k = np.array([n_params(w, d) for w, d in zip(width, depth)]) / 1000.0
        return np.stack([loss, k], axis=1)

    def f(self, X: np.ndarray) -> np.ndarray:
        return self.values(*self.decode(X))


def best_hypervolume(table: MLPTable, n: int = 200_000, seed: int = 0) -> float:
    """The hypervolume of the front of ``n`` uniform points and every grid point (a lower bound of the
    table's true front; the benchmark's gap is measured to it)."""
    from hpo_sweeper.pareto import hypervolume, pareto_mask

    X = np.random.default_rng(seed).random((n, table.dim))
    Y = table.f(X)
    G = np.array(np.meshgrid(LR, WD, WIDTH, DEPTH, indexing="ij")).reshape(4, -1)
    Y = np.vstack([Y, table.values(G[0], G[1], G[2].astype(int), G[3].astype(int))])
    Y = Y[np.all(Y < np.array(REF), axis=1)]
    Y = Y[np.lexsort((Y[:, 1], Y[:, 0]))]  # by the first objective: the front keeps each new best second value
    Y = Y[Y[:, 1] < np.minimum.accumulate(np.concatenate([[np.inf], Y[:-1, 1]]))]
    return float(hypervolume(Y[pareto_mask(Y)], REF))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", action="store_true", help="train the grid (minutes)")
    ap.add_argument("--max-hv", action="store_true", help="store the best hypervolume found by dense evaluation")
    a = ap.parse_args()
    if a.build:
        build()
    if a.build or a.max_hv:
        t = json.loads(TABLE.read_text())
        t["max_hv"] = best_hypervolume(MLPTable())
        TABLE.write_text(json.dumps(t))
        print("max_hv", t["max_hv"])
