"""Async vs batch on joblib (issue #15): utilisation, wall time and final regret.

A task whose duration varies (0.5-3 s, drawn from a hash of its configuration:
benchmarks/async_app/app.py), 4 joblib workers, 32 trials, for:

* ``bayes-batch``: our bayes sweeper, ``batch_size=4`` (a batch of 4, wait for all of it);
* ``bayes-async``: our bayes sweeper, ``schedule=async`` (a new trial the moment one ends);
* ``optuna``: hydra-optuna-sweeper (TPE) with ``n_jobs=4`` (it asks 4, launches them, waits);
* ``random-batch`` / ``random-async``: the two schedules without a model's proposal time.

Every run is a real ``python app.py -m ...`` in the separate env of benchmarks/end_to_end.py
(``ensure_env``: hydra-optuna-sweeper pins optuna<3), so all share one Python and hydra-core.

* utilisation = busy worker-seconds (sum of the jobs' own durations) / (span x 4 workers), where
  span runs from the first job's start to the last job's end (Hydra's and JAX's start-up, the
  same for all, is left out); ``wall`` is the whole command's;
* regret = best value found (the task's minimum is 0);
* gap = the median wait of a worker between a job's end and the next job's start (the
  per-job overhead: proposal, composition, dispatch, Hydra's job set-up); ``load`` = the
  1-minute load average when the run ended (figures under load are not quiet-machine ones).

    python -m benchmarks.async_utilisation --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._env import THREAD_ENV
from benchmarks.end_to_end import ensure_env, env_python

APP = Path(__file__).resolve().parent / "async_app" / "app.py"
WORKERS = 4

METHODS: dict[str, list[str]] = {
    "bayes-batch": ["hydra/sweeper=bayes", f"hydra.sweeper.batch_size={WORKERS}"],
    "bayes-async": ["hydra/sweeper=bayes", "hydra.sweeper.schedule=async"],
    "optuna": ["hydra/sweeper=optuna", f"hydra.sweeper.n_jobs={WORKERS}"],
    # The schedule alone, without a model's proposal time: random proposes in microseconds.
    "random-batch": ["hydra/sweeper=random", f"hydra.sweeper.batch_size={WORKERS}"],
    "random-async": ["hydra/sweeper=random", "hydra.sweeper.schedule=async"],
}


def run_one(method: str, n_trials: int, seed: int, workdir: Path) -> dict[str, Any]:
    seed_key = "hydra.sweeper.sampler.seed" if method == "optuna" else "hydra.sweeper.seed"
    trace = workdir / "trace"
    cmd = [str(env_python()), str(APP), "-m", *METHODS[method], f"hydra.sweeper.n_trials={n_trials}",
           f"{seed_key}={seed}", "hydra/launcher=joblib", f"hydra.launcher.n_jobs={WORKERS}",
           f"hydra.sweep.dir={workdir / 's'}", f"trace_dir={trace}"]
    env = {**os.environ, **THREAD_ENV}
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed:\n" + "\n".join((proc.stdout + proc.stderr).splitlines()[-15:]))
    jobs = [json.loads(p.read_text()) for p in trace.glob("*.json")]
    if len(jobs) != n_trials:
        raise RuntimeError(f"{method}: {len(jobs)} job records for {n_trials} trials")
    span = max(j["end"] for j in jobs) - min(j["start"] for j in jobs)
    busy = sum(j["end"] - j["start"] for j in jobs)
    return {"method": method, "seed": seed, "wall_s": wall, "span_s": span, "busy_s": busy,
            "utilisation": busy / (span * WORKERS), "gap_s": _median_gap(jobs), "regret": _best_value(workdir / "s"),
            "load": os.getloadavg()[0]}


def _median_gap(jobs: list[dict[str, Any]]) -> float:
    """The median time a worker waits between one job's end and the next job's start: the k-th
    start after the first WORKERS is paired with the k-th end (a slot frees, a job takes it).
    Where utilisation is lost per job (scheduling, dispatch, Hydra's job set-up), apart from
    the tail (the last jobs end at different times and nothing is left to start)."""
    ends = sorted(j["end"] for j in jobs)
    starts = sorted(j["start"] for j in jobs)[WORKERS:]
    return statistics.median(s - e for s, e in zip(starts, ends)) if starts else 0.0


def _best_value(sweep_dir: Path) -> float:
    import yaml

    summary = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    return float(summary["best_value"] if "best_value" in summary else summary["best_evaluated_result"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--n-trials", type=int, default=32)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--label", default="", help="a note for the table (machine load)")
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    print("env:", ensure_env())
    rows = []
    with tempfile.TemporaryDirectory(prefix="async-util-") as tmp:
        for seed in args.seeds:  # methods interleaved per seed: machine load drifts hit all alike
            for method in args.methods:
                wd = Path(tmp) / f"{method}-{seed}"
                wd.mkdir()
                row = run_one(method, args.n_trials, seed, wd)
                rows.append(row)
                print(f"{method:12s} seed={seed} wall={row['wall_s']:6.1f}s span={row['span_s']:6.1f}s "
                      f"utilisation={row['utilisation']:.1%} gap={row['gap_s']:.3f}s regret={row['regret']:.4g} "
                      f"load={row['load']:.1f}", flush=True)
    print(f"\n{args.label}")
    print("| method | wall s (median) | job span s | utilisation | median gap s | final regret (median) | load |")
    print("|---|---|---|---|---|---|---|")
    for m in args.methods:
        rs = [r for r in rows if r["method"] == m]
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        print(f"| {m} | {med('wall_s'):.1f} | {med('span_s'):.1f} | {med('utilisation'):.1%} | {med('gap_s'):.3f} "
              f"| {med('regret'):.3g} | {min(r['load'] for r in rs):.1f}-{max(r['load'] for r in rs):.1f} |")
    by = {m: [r for r in rows if r["method"] == m] for m in args.methods}
    if by.get("bayes-batch") and by.get("bayes-async"):  # the targets, side by side in one run
        ratio = statistics.median(r["wall_s"] for r in by["bayes-async"]) / statistics.median(
            r["wall_s"] for r in by["bayes-batch"])
        print(f"\nbayes-async wall / bayes-batch wall = {ratio:.2f} (target <= 0.75); bayes-async utilisation "
              f"{statistics.median(r['utilisation'] for r in by['bayes-async']):.1%} (target >= 90%)")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
