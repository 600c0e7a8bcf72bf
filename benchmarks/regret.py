"""Sample efficiency: simple regret against the trial number.

A *job* is one optimisation run: (problem, method, seed, q, n_trials). It asks ``q``
configurations, evaluates them, tells the ``q`` results, and repeats until ``n_trials``
results are in (the last batch may be smaller). The run records every value in
evaluation order, so the best-so-far curve, hence the simple regret
``min(values[:t]) - optimum`` after every trial ``t``, can be recomputed later.

Jobs run in a pool of spawned worker processes (``--workers``, 2 by default: this is a
2-core machine), each pinned to one thread (``benchmarks._env``). Results are appended to a
JSON-lines file as they finish, so an interrupted run can be resumed and a single method
(the JAX engine, say) re-run without redoing the rest (``run.py --rerun``).
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Job", "aggregate", "load_results", "regret_curves", "run_job", "run_jobs"]


@dataclass(frozen=True)
class Job:
    problem: str
    method: str
    seed: int
    q: int
    n_trials: int

    @property
    def key(self) -> tuple[str, str, int, int, int]:
        return (self.problem, self.method, self.seed, self.q, self.n_trials)


#: rough relative cost of one run, for longest-first scheduling
_METHOD_COST = {"skopt-gp": 6.0, "bayes-skopt": 3.0, "optuna-gp": 2.0, "bayes-jax": 1.5, "optuna-tpe": 0.3, "random": 0.1}


def _job_cost(job: Job) -> float:
    from benchmarks.problems import get_problem

    p = get_problem(job.problem)
    evals = 0.3 * job.n_trials if "real" in p.tags else 0.0
    return _METHOD_COST.get(job.method, 1.0) * job.n_trials * (1 + p.dim / 6) + evals


def run_job(job: Job) -> dict[str, Any]:
    """One optimisation run (in a worker process)."""
    from benchmarks.methods import make_method
    from benchmarks.problems import get_problem

    problem = get_problem(job.problem)
    values: list[float] = []
    ask_s: list[float] = []
    error = None
    t0, c0 = time.perf_counter(), time.process_time()
    eval_s = 0.0
    try:
        method = make_method(job.method, problem, job.seed, job.n_trials, job.q)
        while len(values) < job.n_trials:
            k = min(job.q, job.n_trials - len(values))
            a0 = time.perf_counter()
            params = method.ask(k)
            ask_s.append(time.perf_counter() - a0)
            if len(params) != k:
                raise RuntimeError(f"asked for {k} configurations, got {len(params)}")
            e0 = time.perf_counter()
            vals = [problem(p) for p in params]
            eval_s += time.perf_counter() - e0
            method.tell(params, vals)
            values += vals
    except Exception as e:
        error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
    return {
        **asdict(job),
        "values": values,
        "ask_s": ask_s,
        "eval_s": eval_s,
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "error": error,
        "pid": os.getpid(),
    }


def _init_worker() -> None:
    from benchmarks._env import pin_threads

    pin_threads()
    import warnings

    warnings.simplefilter("ignore")


def load_results(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by an interrupted write
    return out


def run_jobs(jobs: Sequence[Job], out_path: Path, workers: int = 2, log=print) -> list[dict[str, Any]]:
    """Run the jobs not yet in ``out_path`` (JSON lines), appending each result as it
    finishes; returns all results for ``jobs`` (old and new)."""
    import multiprocessing

    done = {(r["problem"], r["method"], r["seed"], r["q"], r["n_trials"]): r for r in load_results(out_path)
            if not r.get("error")}
    todo = sorted((j for j in jobs if j.key not in done), key=_job_cost, reverse=True)
    log(f"regret: {len(jobs)} jobs, {len(jobs) - len(todo)} already done, {len(todo)} to run on {workers} workers")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    total_cost = sum(_job_cost(j) for j in todo) or 1.0
    cost_done = 0.0
    if todo:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker) as pool, \
                out_path.open("a") as fh:
            pending = {pool.submit(run_job, j): j for j in todo}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = pending.pop(fut)
                    try:
                        r = fut.result()
                    except Exception as e:
                        r = {**asdict(job), "values": [], "ask_s": [], "eval_s": 0.0, "wall_s": 0.0, "cpu_s": 0.0,
                             "error": f"worker failed: {type(e).__name__}: {e}", "pid": None}
                    fh.write(json.dumps(r) + "\n")
                    fh.flush()
                    done[job.key] = r
                    cost_done += _job_cost(job)
                    el = time.perf_counter() - t_start
                    eta = el / cost_done * (total_cost - cost_done)
                    status = "FAILED " + r["error"].splitlines()[0] if r.get("error") else \
                        f"best {min(r['values']):.6g}"
                    log(f"  [{len(todo) - len(pending)}/{len(todo)}] {job.problem} {job.method} q={job.q} "
                        f"seed={job.seed}: {r['wall_s']:.1f} s, {status}  (elapsed {el:.0f} s, eta ~{eta:.0f} s)")
    return [done[j.key] for j in jobs if j.key in done]


# --- analysis ---------------------------------------------------------------------------------


def reference_values(results: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Per problem: the known optimum, or the best value found by any run."""
    from benchmarks.problems import get_problem

    ref: dict[str, float] = {}
    for r in results:
        p = get_problem(r["problem"])
        if p.optimum is not None:
            ref[p.name] = p.optimum
        elif r["values"]:
            ref[p.name] = min(ref.get(p.name, math.inf), min(r["values"]))
    return ref


def regret_curves(results: Sequence[dict[str, Any]], ref: dict[str, float]) -> dict[tuple[str, int, str], np.ndarray]:
    """(problem, q, method) -> (n_seeds, n_trials) simple regret after each trial.

    Runs that failed part-way are kept up to where they got (NaN after)."""
    groups: dict[tuple[str, int, str], list[np.ndarray]] = {}
    for r in results:
        n = r["n_trials"]
        vals = np.full(n, np.nan)
        v = np.asarray(r["values"][:n], dtype=float)
        if len(v):
            vals[: len(v)] = np.minimum.accumulate(v) - ref[r["problem"]]
        groups.setdefault((r["problem"], r["q"], r["method"]), []).append(np.maximum(vals, 0.0))
    return {k: np.vstack(v) for k, v in groups.items()}


def aggregate(curves: dict[tuple[str, int, str], np.ndarray]) -> dict[tuple[str, int, str], dict[str, np.ndarray]]:
    """Median and quartiles over seeds, per trial."""
    out = {}
    for k, m in curves.items():
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                q25, med, q75 = np.nanpercentile(m, [25, 50, 75], axis=0)
        out[k] = {"median": med, "q25": q25, "q75": q75, "n_seeds": m.shape[0]}
    return out
