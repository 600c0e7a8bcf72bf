"""Run the Bayesmark-style suite and write its table (BAYESMARK.md).

    python -m benchmarks.run --only bayesmark --quick   # 5 tasks, 2 budgets, 2 seeds: a few minutes
    python -m benchmarks.run --only bayesmark           # 90 tasks x 3 budgets x 10 seeds (days on 2 cores:
                                                        # narrow it with --tasks / --budgets / --seeds)

A budget is ``ROUNDSxBATCH``, Bayesmark's ``-n`` x ``-p`` (the 2020 challenge ran 16x8): ``16x2`` is 16
rounds of 2 suggestions (32 trials), ``50x1`` is 50 sequential trials. Every method of
``benchmarks.methods`` (the default grid and the extras: multivariate TPE, HEBO) runs when it can
here; one that cannot is listed with the reason. Runs go to ``results/bayesmark.jsonl`` as they
finish, so ``--resume`` continues an interrupted run and ``--report-only`` rebuilds the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks._env import pin_threads

BENCH = Path(__file__).resolve().parent.parent

#: the quick subset: one task per kind of space (logs only; logit-warped reals; ints, bools and a
#: log int; a 9-D MLP), cheap to evaluate (0.02-0.4 s), and the SVM on digits the issue asks about
QUICK_TASKS = ("SVM_digits_acc", "DT_wine_nll", "RF_breast_acc", "lasso_diabetes_mse", "MLP-adam_iris_acc")
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"tasks": QUICK_TASKS, "budgets": ("8x2", "16x1"), "seeds": 2},
    "full": {"tasks": None, "budgets": ("16x2", "30x1", "50x1"), "seeds": 10},
}


@dataclass(frozen=True)
class Job:
    task: str
    method: str
    seed: int
    budget: str

    @property
    def rounds_q(self) -> tuple[int, int]:
        return parse_budget(self.budget)

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.task, self.method, self.seed, self.budget)


def parse_budget(text: str) -> tuple[int, int]:
    try:
        rounds, q = (int(x) for x in text.lower().split("x"))
        if rounds < 1 or q < 1:
            raise ValueError
    except ValueError:
        raise SystemExit(f"--budgets: {text!r} is not ROUNDSxBATCH with both >= 1 (e.g. 16x2, 50x1)") from None
    return rounds, q


def run_job(job: Job) -> dict[str, Any]:
    """One optimisation run (in a worker process): ROUNDS asks of BATCH, each told at once."""
    from benchmarks.bayesmark.tasks import get_task
    from benchmarks.methods import make_method

    task = get_task(job.task)
    problem = task.problem()
    rounds, q = job.rounds_q
    values: list[float] = []
    ask_s = 0.0
    error = None
    t0 = time.perf_counter()
    try:
        method = make_method(job.method, problem, job.seed, rounds * q, q)
        for _ in range(rounds):
            a0 = time.perf_counter()
            params = method.ask(q)
            ask_s += time.perf_counter() - a0
            if len(params) != q:
                raise RuntimeError(f"asked for {q} configurations, got {len(params)}")
            vals = [problem(p) for p in params]
            method.tell(params, vals)
            values += vals
    except Exception as e:
        error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
    return {**asdict(job), "values": values, "ask_s": ask_s, "wall_s": time.perf_counter() - t0,
            "fallbacks": task.failures, "error": error}


def _init_worker() -> None:
    pin_threads()
    import warnings

    warnings.simplefilter("ignore")


def load_runs(path: Path) -> list[dict[str, Any]]:
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by an interrupted write
    return out


def run_jobs(jobs: list[Job], path: Path, workers: int, log) -> list[dict[str, Any]]:
    import multiprocessing

    done = {(r["task"], r["method"], r["seed"], r["budget"]): r for r in load_runs(path) if not r.get("error")}
    todo = [j for j in jobs if j.key not in done]
    log(f"bayesmark: {len(jobs)} runs, {len(jobs) - len(todo)} already done, {len(todo)} to run on {workers} workers")
    t_start = time.perf_counter()
    if todo:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker) as pool, \
                path.open("a") as fh:
            pending = {pool.submit(run_job, j): j for j in todo}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = pending.pop(fut)
                    try:
                        r = fut.result()
                    except Exception as e:
                        r = {**asdict(job), "values": [], "ask_s": 0.0, "wall_s": 0.0, "fallbacks": 0,
                             "error": f"worker failed: {type(e).__name__}: {e}"}
                    fh.write(json.dumps(r) + "\n")
                    fh.flush()
                    done[job.key] = r
                    status = "FAILED " + r["error"].splitlines()[0] if r.get("error") else \
                        f"best {min(r['values']):.5g}"
                    log(f"  [{len(todo) - len(pending)}/{len(todo)}] {job.task} {job.method} {job.budget} "
                        f"seed={job.seed}: {r['wall_s']:.1f} s, {status} (elapsed {time.perf_counter() - t_start:.0f} s)")
    return [done[j.key] for j in jobs if j.key in done]


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run --only bayesmark", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the quick subset; writes benchmarks/quick/")
    ap.add_argument("--tasks", nargs="+", default=None, help="MODEL_DATASET_METRIC names (default: the mode's)")
    ap.add_argument("--models", nargs="+", default=None, help="keep only the tasks of these models")
    ap.add_argument("--methods", nargs="+", default=None, help="default: every method that runs here")
    ap.add_argument("--budgets", nargs="+", default=None, metavar="ROUNDSxBATCH")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--resume", action="store_true", help="keep the runs already in results/bayesmark.jsonl")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: benchmarks/ or benchmarks/quick/)")
    args = ap.parse_args(argv)

    from benchmarks import run as bench_run
    from benchmarks.bayesmark.report import write_report
    from benchmarks.bayesmark.tasks import ALL_TASKS, get_task
    from benchmarks.methods import ALL_METHOD_LABELS, available

    mode = "quick" if args.quick else "full"
    cfg = CONFIGS[mode]
    out = args.out or (BENCH / "quick" if args.quick else BENCH)
    res_dir = out / "results"
    runs_path, meta_path = res_dir / "bayesmark.jsonl", res_dir / "bayesmark-meta.json"

    if args.report_only:
        if not meta_path.exists():
            raise SystemExit(f"--report-only: no earlier run in {res_dir} ({meta_path.name} is missing)")
        meta = json.loads(meta_path.read_text())
        path = write_report(meta, load_runs(runs_path), out)
        _log(f"wrote {path}")
        return 0

    tasks = list(args.tasks or cfg["tasks"] or ALL_TASKS)
    for t in tasks:
        try:
            get_task(t)
        except KeyError as e:
            raise SystemExit(f"--tasks: {e.args[0]}") from None
    if args.models:
        tasks = [t for t in tasks if get_task(t).model in args.models]
        if not tasks:
            raise SystemExit(f"--models {args.models}: no task left")
    budgets = list(args.budgets or cfg["budgets"])
    for b in budgets:
        parse_budget(b)
    n_seeds = args.seeds or cfg["seeds"]
    unknown = [m for m in (args.methods or []) if m not in ALL_METHOD_LABELS]
    if unknown:
        raise SystemExit(f"--methods: unknown {unknown}; known: {list(ALL_METHOD_LABELS)}")
    wanted = list(args.methods or ALL_METHOD_LABELS)
    if "random" not in wanted:
        raise SystemExit("--methods: 'random' is needed, it is the baseline of the normalised score")
    methods, unavailable = [], {}
    for m in wanted:
        ok, why = available(m)
        if ok:
            methods.append(m)
        else:
            unavailable[m] = why
            _log(f"method {m} not available: {why}")

    res_dir.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "command": "python -m benchmarks.run --only bayesmark " + " ".join(argv if argv is not None else sys.argv[1:]),
        "mode": mode, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": bench_run.machine(), "versions": bench_run.versions(), "git": bench_run.git_state(),
        "load_start": bench_run._load(), "tasks": tasks, "budgets": budgets, "seeds": n_seeds, "methods": methods,
        "unavailable": unavailable, "workers": args.workers, "nice": os.nice(0),
    }
    if not args.resume and runs_path.exists():
        runs_path.replace(runs_path.with_suffix(".jsonl.prev"))
    jobs = [Job(t, m, s, b) for b in budgets for t in tasks for m in methods for s in range(n_seeds)]
    t0 = time.perf_counter()
    runs = run_jobs(jobs, runs_path, args.workers, _log)
    runs_path.write_text("".join(json.dumps(r) + "\n" for r in runs))  # exactly this grid
    meta.update(wall_s=time.perf_counter() - t0, load_end=bench_run._load())
    meta_path.write_text(json.dumps(meta, indent=1))
    path = write_report(meta, runs, out)
    _log(f"wrote {path} ({meta['wall_s'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    pin_threads()
    sys.exit(main())
