"""Per-call cost of encoding configurations to GP features (``SearchSpace.to_features``) and
of the front's per-ask gathering of its observations (issue 13, item 2).

    python -m benchmarks.encoding

The space is the README's MLP space, alone and with one ``int(interval(1, 4096))`` (its
layout enumerates 4096 levels). "first" includes building the space's layout; "warm" is the
median of 20 more calls. The front's figure is the median time of
``BayesOptimizer._observations()`` after n told trials, one new trial told per round.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

MLP = {
    "optim.lr": "tag(log, interval(1e-4, 1e-1))",
    "optim.weight_decay": "tag(log, interval(1e-6, 1e-2))",
    "model.width": "tag(log, int(interval(16, 256)))",
    "model.depth": "int(interval(1, 3))",
    "train.batch_size": "choice(32, 64, 128)",
    "model.activation": "choice(relu, tanh, gelu, silu)",
}


def main() -> None:
    from hpo_sweeper import SearchSpace, create_optimizer

    print("| space | n points | first call ms | warm ms |")
    print("|---|---|---|---|")
    for label, cfg in (("MLP", MLP), ("MLP + int(interval(1, 4096))", {**MLP, "n": "int(interval(1, 4096))"})):
        for n in (1, 100, 1000):
            space = SearchSpace.from_config(cfg)
            points = space.from_unit(np.random.default_rng(0).random((n, len(space))))
            t0 = time.perf_counter()
            space.to_features(points)
            first = time.perf_counter() - t0
            warm = []
            for _ in range(20):
                t0 = time.perf_counter()
                space.to_features(points)
                warm.append(time.perf_counter() - t0)
            print(f"| {label} | {n} | {first * 1e3:.2f} | {statistics.median(warm) * 1e3:.3f} |")
    space = SearchSpace.from_config(MLP)
    print("\n| told trials | front: observations per ask, ms |")
    print("|---|---|")
    for n in (200, 1000):
        opt = create_optimizer("bayes", space, seed=0, backend="skopt")
        pts = space.from_unit(np.random.default_rng(0).random((n + 20, len(space))))
        opt.tell(pts[:n], list(np.random.default_rng(1).random(n)))
        times = []
        for i in range(20):
            opt.tell([pts[n + i]], [0.5])
            t0 = time.perf_counter()
            opt._observations()
            times.append(time.perf_counter() - t0)
        print(f"| {n} | {statistics.median(times) * 1e3:.3f} |")


if __name__ == "__main__":
    main()
