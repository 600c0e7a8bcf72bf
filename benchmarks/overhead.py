"""Overhead: seconds per suggestion against the number of observations n and dimensions d.

Protocol, per method, per (d, n): ``n`` random points of [0, 1]^d with the values of a
smooth function are told; then one ``ask(1)`` (the *first* call: for the JAX engine it
includes compiling for the new padded size) and ``repeats`` more rounds of "tell the last
suggestion, ask(1)" whose median is the *warm* time. Wall and CPU (process) seconds are
both recorded: CPU seconds are less disturbed by other load on the machine. Every method
runs in its own fresh subprocess pinned to one thread, one method after the other (never
two timed things at once).

The JAX engine's compile time is measured directly: a ``jax.monitoring`` listener sums the
tracing, lowering and XLA compile durations during each call, and counts the XLA compiles.

Skips: a (d, n) whose predicted time per call (the last measured warm time scaled by
(n / n_prev)^1.5) exceeds ``max_call_s``, or once the method's total time passed
``budget_s``, is recorded as skipped with the reason.

    python -m benchmarks.overhead --method bayes-jax --dims 2 6 --ns 50 200 --out /tmp/o.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["OVERHEAD_METHODS", "run_overhead"]

OVERHEAD_METHODS = ("bayes-jax", "bayes-skopt", "optuna-gp")
#: cheap calls get up to this many warm repeats, while their total stays under _CHEAP_TOTAL_S
_MAX_REPEATS = 15
_CHEAP_TOTAL_S = 3.0


def smooth(x: Any) -> float:
    import numpy as np

    x = np.asarray(x, dtype=float)
    return float(np.sum(np.sin(3.0 * x)) + np.sum((x - 0.4) ** 2) + 0.5 * np.sin(5.0 * x[0] * x[-1]))


class _CompileMeter:
    """Sums JAX compile-related durations (tracing, lowering, XLA) and counts XLA compiles."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.compiles = 0
        import jax

        jax.monitoring.register_event_duration_secs_listener(self._on)

    def _on(self, event: str, duration: float, **kwargs: Any) -> None:
        if event.startswith("/jax/core/compile/"):
            self.seconds += duration
            if event.endswith("backend_compile_duration"):
                self.compiles += 1


class _Ours:
    def __init__(self, backend: str, d: int, seed: int) -> None:
        from hpo_sweeper import SearchSpace, create_optimizer

        space = SearchSpace.from_config({f"x{i}": "interval(0, 1)" for i in range(d)})
        self.opt = create_optimizer("bayes", space, seed=seed, backend=backend)
        self.d = d

    def tell_many(self, X: Any, y: Any) -> None:
        self.opt.tell([{f"x{i}": float(v) for i, v in enumerate(row)} for row in X], [float(v) for v in y])

    def ask1(self) -> dict[str, float]:
        return self.opt.ask(1)[0]

    def tell1(self, p: dict[str, float], v: float) -> None:
        self.opt.tell([p], [v])

    def vec(self, p: dict[str, float]) -> list[float]:
        return [p[f"x{i}"] for i in range(self.d)]


class _Optuna:
    def __init__(self, d: int, seed: int) -> None:
        import optuna

        from benchmarks.methods import _torch_one_thread

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _torch_one_thread()
        self.optuna = optuna
        self.study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
        self.dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(d)}
        self.d = d
        self._trial = None

    def tell_many(self, X: Any, y: Any) -> None:
        self.study.add_trials([
            self.optuna.trial.create_trial(params={f"x{i}": float(v) for i, v in enumerate(row)},
                                           distributions=self.dists, value=float(val))
            for row, val in zip(X, y)
        ])

    def ask1(self) -> dict[str, float]:
        self._trial = self.study.ask(self.dists)
        return dict(self._trial.params)

    def tell1(self, p: dict[str, float], v: float) -> None:
        self.study.tell(self._trial, v)

    def vec(self, p: dict[str, float]) -> list[float]:
        return [p[f"x{i}"] for i in range(self.d)]


def _make(method: str, d: int, seed: int) -> Any:
    if method == "bayes-jax":
        return _Ours("jax", d, seed)
    if method == "bayes-skopt":
        return _Ours("skopt", d, seed)
    if method == "optuna-gp":
        return _Optuna(d, seed)
    raise KeyError(method)


def measure(method: str, dims: list[int], ns: list[int], repeats: int, max_call_s: float, budget_s: float,
            log=print) -> list[dict[str, Any]]:
    """In this process: the rows of the overhead table for one method."""
    import numpy as np

    meter = _CompileMeter() if method == "bayes-jax" else None
    rows: list[dict[str, Any]] = []
    t_method = time.perf_counter()
    for d in dims:
        last: tuple[int, float] | None = None
        for n in ns:
            row: dict[str, Any] = {"method": method, "d": d, "n": n}
            spent = time.perf_counter() - t_method
            predicted = None if last is None else last[1] * (n / last[0]) ** 1.5
            if predicted is not None and predicted > max_call_s:
                row["skipped"] = f"predicted {predicted:.0f} s per call > {max_call_s:.0f} s"
            elif spent > budget_s:
                row["skipped"] = f"method time budget ({budget_s:.0f} s) spent"
            if "skipped" in row:
                rows.append(row)
                log(f"  {method} d={d} n={n}: skipped ({row['skipped']})")
                continue
            rng = np.random.default_rng(1000 * d + n)
            X = rng.random((n, d))
            y = [smooth(x) for x in X]
            opt = _make(method, d, seed=0)
            opt.tell_many(X, y)
            bucket_room = 2 ** math.ceil(math.log2(n)) - n - 1  # tells left before a new padded size

            def call() -> tuple[float, float, float, int]:
                c_s0, c_n0 = (meter.seconds, meter.compiles) if meter else (0.0, 0)
                t0, c0 = time.perf_counter(), time.process_time()
                p = opt.ask1()
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                opt.tell1(p, smooth(opt.vec(p)))
                if meter:
                    return wall, cpu, meter.seconds - c_s0, meter.compiles - c_n0
                return wall, cpu, 0.0, 0

            # Warm-up: the first call, and for JAX every following call that still compiled
            # (a program may first be needed on the second call, e.g. a warm-started fit).
            first = call()
            warmup = [first]
            while meter and warmup[-1][3] > 0 and len(warmup) < 4 and first[0] < 3 * max_call_s:
                warmup.append(call())
            walls, cpus, comp_n = [], [], []
            if first[0] < 3 * max_call_s:  # else far too slow: the first call is the measurement
                reps = repeats
                max_reps = max(repeats, min(_MAX_REPEATS, bucket_room - len(warmup)))
                while len(walls) < reps:
                    w, c, _, k = call()
                    walls.append(w)
                    cpus.append(c)
                    comp_n.append(k)
                    if len(walls) == 1 and w > 2.0:  # slow even when warm: 3 repeats are enough
                        reps = min(repeats, 3)
                    if len(walls) == repeats and sum(walls) < _CHEAP_TOTAL_S:
                        reps = max_reps  # cheap calls: more repeats, a steadier median on a busy machine
                    if len(walls) > repeats and sum(walls) > _CHEAP_TOTAL_S:
                        break
            warm = walls or [first[0]]
            row.update({
                "first_s": first[0],
                "warm_s": statistics.median(warm),
                "warm_cpu_s": statistics.median(cpus or [first[1]]),
                "warm_min_s": min(warm),
                "repeats": len(walls),
            })
            if meter:
                row.update({"first_compile_s": first[2], "first_compiles": first[3],
                            "warmup_calls": len(warmup),
                            "warmup_compile_s": sum(x[2] for x in warmup),
                            "warmup_compiles": sum(x[3] for x in warmup),
                            "warmup_s": sum(x[0] for x in warmup),
                            "warm_compiles": sum(comp_n)})
            rows.append(row)
            last = (n, row["warm_s"])
            extra = (f", warm-up {row['warmup_calls']} call(s) {row['warmup_s']:.2f} s, compiling "
                     f"{row['warmup_compile_s']:.2f} s ({row['warmup_compiles']} XLA)") if meter else ""
            log(f"  {method} d={d} n={n}: first {row['first_s']:.3f} s, warm {row['warm_s']:.4f} s "
                f"(cpu {row['warm_cpu_s']:.4f} s){extra}")
    return rows


def run_overhead(methods: list[str], dims: list[int], ns: list[int], repeats: int, max_call_s: float,
                 budget_s: float, out_dir: Path, log=print) -> list[dict[str, Any]]:
    """Each method in its own subprocess, one after the other; returns all rows."""
    import os

    from benchmarks._env import THREAD_ENV

    rows: list[dict[str, Any]] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for method in methods:
        out = out_dir / f"overhead-{method}.json"
        cmd = [sys.executable, "-m", "benchmarks.overhead", "--method", method, "--dims", *map(str, dims),
               "--ns", *map(str, ns), "--repeats", str(repeats), "--max-call-s", str(max_call_s),
               "--budget-s", str(budget_s), "--out", str(out)]
        log(f"overhead: {method}")
        t0 = time.perf_counter()
        env = {**os.environ, **THREAD_ENV}
        proc = subprocess.run(cmd, env=env, cwd=Path(__file__).resolve().parent.parent, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in proc.stdout.splitlines():
            if line.startswith("  "):
                log(line)
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join(proc.stdout.splitlines()[-8:])
            log(f"overhead: {method} FAILED (exit {proc.returncode}):\n{tail}")
            rows.append({"method": method, "error": tail})
            continue
        rows += json.loads(out.read_text())
        log(f"overhead: {method} done in {time.perf_counter() - t0:.0f} s")
    return rows


def main() -> None:
    from benchmarks._env import pin_threads

    pin_threads()
    ap = argparse.ArgumentParser(description="time per suggestion of one method (see the module docstring)")
    ap.add_argument("--method", required=True, choices=OVERHEAD_METHODS)
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 6, 20])
    ap.add_argument("--ns", type=int, nargs="+", default=[50, 200, 500, 1000, 2000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-call-s", type=float, default=15.0)
    ap.add_argument("--budget-s", type=float, default=400.0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    import warnings

    warnings.simplefilter("ignore")
    rows = measure(args.method, args.dims, args.ns, args.repeats, args.max_call_s, args.budget_s,
                   log=lambda s: print(s, flush=True))
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
