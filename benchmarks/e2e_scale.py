"""End to end at scale (issue #20 item 4): per-trial overhead over Hydra's basic sweeper at
30, 300 and 3,000 trials, marginal cost per trial, memory, the compile gap, and long sweeps.

Every sweep is ``python benchmarks/e2e_app/app.py -m ...`` (a task that returns at once) in the
separate env of ``benchmarks/end_to_end.py`` (so the Optuna sweeper runs beside ours), under
``/usr/bin/time`` for its CPU seconds and peak memory (the basic launcher runs every job in the
sweep's own process, so that process's maximum RSS is the sweep's). Sweepers run in turn at each N
(interleaved, so a drift of the machine's load hits all alike):

* ``basic``: Hydra's basic sweeper over ``x=range(0, N)``, the floor;
* ``grid``: ours, ``grid_points=55`` (3,025 points, the first N);
* ``random``, ``bayes`` (JAX engine, unseeded and with the default settings: what a user runs);
* ``optuna``: hydra-optuna-sweeper (TPE).

Overhead per trial at N = (wall - floor's wall) / N. Marginal cost per trial between two N =
the slope of the wall time minus the floor's slope: what one more trial costs once the sweep runs.
For ``bayes`` the engine's own time is measured apart: the same number of ``ask(1)``/``tell``
calls through the Python API in one process, no Hydra (``engine_seconds``), so that the target
"bayes within 10 % plus the engine's own suggestion time" can be read off.

    python -m benchmarks.e2e_scale overhead --ns 30 300 3000 --out benchmarks/results/e2e_scale.json
    python -m benchmarks.e2e_scale long --sweeper random --n 10000
    python -m benchmarks.e2e_scale gap           # compile gap of a cold-cache unseeded bayes sweep
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.end_to_end import APP, ensure_env, env_python

SWEEPERS: dict[str, list[str]] = {
    "basic": [],
    "grid": ["hydra/sweeper=grid", "+space=xy", "hydra.sweeper.grid_points=55"],
    "random": ["hydra/sweeper=random", "+space=xy"],
    "bayes": ["hydra/sweeper=bayes", "+space=xy"],
    "optuna": ["hydra/sweeper=optuna", "+space=xy"],
}


def _overrides(name: str, n: int) -> list[str]:
    if name == "basic":
        return [f"x=range(0,{n})"]
    return [*SWEEPERS[name], f"hydra.sweeper.n_trials={n}"]


def timed_multirun(overrides: list[str], workdir: Path, timeout: float = 3600) -> dict[str, float]:
    """Wall, CPU seconds and peak RSS (MB) of one multirun of the e2e app."""
    from benchmarks._env import THREAD_ENV

    stats = workdir.parent / f"{workdir.name}.time"
    cmd = ["/usr/bin/time", "-o", str(stats), "-f", "%U %S %M", str(env_python()), str(APP), "-m", *overrides,
           f"hydra.sweep.dir={workdir}", "hydra.sweep.subdir=${hydra.job.num}"]
    env = {**os.environ, **THREAD_ENV}
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir.parent, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-12:])
        raise RuntimeError(f"{' '.join(overrides)} failed (exit {proc.returncode}):\n{tail}")
    user, sys_, rss_kb = stats.read_text().split()[-3:]
    return {"wall_s": wall, "cpu_s": float(user) + float(sys_), "max_rss_mb": float(rss_kb) / 1024}


def engine_seconds(n: int) -> float:
    """Wall seconds of ``n`` ask(1)/tell rounds of the bayes optimiser on the app's space, no Hydra,
    after its background compile (paid once, overlapped with the design in a sweep) has finished."""
    code = (
        "import time\n"
        "from hpo_sweeper import SearchSpace, create_optimizer\n"
        "space = SearchSpace.from_config({'x': 'interval(-2, 2)', 'y': 'interval(-2, 2)'})\n"
        "opt = create_optimizer('bayes', space, compile_wait='wait')\n"
        "if opt._warmup is not None:\n"  # the one-time compile is not per-suggestion work
        "    opt._warmup.join()\n"
        "t0 = time.perf_counter()\n"
        f"for _ in range({n}):\n"
        "    ps = opt.ask(1)\n"
        "    opt.tell(ps, [(p['x'] - 0.3) ** 2 + (p['y'] + 0.2) ** 2 for p in ps])\n"
        "print(time.perf_counter() - t0)\n"
    )
    from benchmarks._env import THREAD_ENV

    env = {**os.environ, **THREAD_ENV}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([str(env_python()), "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _load() -> float:
    return os.getloadavg()[0]


def run_overhead(ns: list[int], sweepers: list[str], log=print) -> dict[str, Any]:
    versions = ensure_env(log)
    rows: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="hpo-bench-e2e-scale-"))
    try:
        for n in ns:
            for name in sweepers:
                wd = tmp / f"{name}-{n}"
                row: dict[str, Any] = {"sweeper": name, "n": n, "load_before": _load()}
                try:
                    row.update(timed_multirun(_overrides(name, n), wd))
                except Exception as e:  # one failed sweeper must not lose the other rows
                    row["error"] = str(e)
                row["load_after"] = _load()
                log(f"e2e-scale: {name} N={n}: {row}")
                rows.append(row)
                shutil.rmtree(wd, ignore_errors=True)
            if "bayes" in sweepers:
                rows.append({"sweeper": "bayes-engine", "n": n, "wall_s": engine_seconds(n)})
                log(f"e2e-scale: bayes engine alone N={n}: {rows[-1]['wall_s']:.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"date": datetime.now().isoformat(timespec="seconds"), "versions": versions, "ns": ns, "rows": rows}


def table(result: dict[str, Any]) -> str:
    """Markdown tables: walls and overheads per N, marginal costs between consecutive N."""
    by = {(r["sweeper"], r["n"]): r for r in result["rows"] if "wall_s" in r}
    ns = result["ns"]
    names = [s for s in SWEEPERS if any((s, n) in by for n in ns)]
    lines = ["| sweeper | " + " | ".join(f"wall {n} (s) | over basic per trial {n} (ms)" for n in ns)
             + " | CPU s at " + str(ns[-1]) + " | max RSS at " + str(ns[-1]) + " (MB) |",
             "|---" * (1 + 2 * len(ns) + 2) + "|"]
    for s in names:
        cells = []
        for n in ns:
            r, b = by.get((s, n)), by.get(("basic", n))
            if r is None or b is None:
                cells += ["-", "-"]
                continue
            over = (r["wall_s"] - b["wall_s"]) / n * 1000
            cells += [f"{r['wall_s']:.1f} ({r['wall_s'] / b['wall_s']:.2f}x)", f"{over:+.0f}"]
        last = by.get((s, ns[-1]), {})
        cells += [f"{last.get('cpu_s', float('nan')):.0f}", f"{last.get('max_rss_mb', float('nan')):.0f}"]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    eng = [by.get(("bayes-engine", n)) for n in ns]
    if all(eng):
        lines.append("| bayes engine alone (Python API, no Hydra) | " + " | ".join(
            f"{e['wall_s']:.1f} | {e['wall_s'] / n * 1000:.0f} per trial" for e, n in zip(eng, ns)) + " | - | - |")
    lines += ["", "Marginal cost per trial over the basic sweeper's (ms), between consecutive N:", "",
              "| sweeper | " + " | ".join(f"{a} -> {b}" for a, b in zip(ns, ns[1:])) + " |",
              "|---" * len(ns) + "|"]
    for s in names:
        cells = []
        for a, b in zip(ns, ns[1:]):
            ra, rb, ba, bb = by.get((s, a)), by.get((s, b)), by.get(("basic", a)), by.get(("basic", b))
            if None in (ra, rb, ba, bb):
                cells.append("-")
                continue
            slope = (rb["wall_s"] - ra["wall_s"]) / (b - a) - (bb["wall_s"] - ba["wall_s"]) / (b - a)
            cells.append(f"{slope * 1000:+.0f}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compile_gap(n: int = 24, cold: bool = True) -> dict[str, Any]:
    """Seconds between a trial's end and the next one's start, from trials.csv, of an unseeded bayes
    sweep (cold: the persistent compilation cache off, as on a fresh machine)."""
    ensure_env()
    tmp = Path(tempfile.mkdtemp(prefix="hpo-bench-gap-"))
    try:
        ov = _overrides("bayes", n) + ["hydra.sweeper.plots=false"]
        if cold:
            ov.append("+hydra.sweeper.engine.compilation_cache=false")
        stats = timed_multirun(ov, tmp / "sweep")
        with open(tmp / "sweep" / "trials.csv") as f:
            trials = sorted(csv.DictReader(f), key=lambda r: int(r["number"]))
        starts = [datetime.fromisoformat(t["started_at"]).timestamp() for t in trials]
        ends = [s + float(t["duration_s"]) for s, t in zip(starts, trials)]
        gaps = [round(b - e, 3) for e, b in zip(ends, starts[1:])]
        return {"n": n, "cold": cold, "gaps_s": gaps, "max_gap_s": max(gaps), "load": _load(), **stats}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def long_sweep(sweeper: str, n: int, every: int) -> dict[str, Any]:
    """One long sweep; time per trial in blocks of ``every`` trials from trials.csv start times."""
    ensure_env()
    tmp = Path(tempfile.mkdtemp(prefix="hpo-bench-long-"))
    try:
        stats = timed_multirun(_overrides(sweeper, n) + ["hydra.sweeper.plots=false"], tmp / "sweep", timeout=7200)
        with open(tmp / "sweep" / "trials.csv") as f:
            trials = sorted(csv.DictReader(f), key=lambda r: int(r["number"]))
        starts = [datetime.fromisoformat(t["started_at"]).timestamp() for t in trials]
        blocks = [round((starts[i + every - 1] - starts[i]) / (every - 1) * 1000, 1)
                  for i in range(0, len(starts) - every + 1, every)]
        return {"sweeper": sweeper, "n": n, "n_recorded": len(trials), "ms_per_trial_by_block": blocks,
                "block": every, "load": _load(), **stats}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--ns", type=int, nargs="+", default=[30, 300, 3000])
    o.add_argument("--sweepers", nargs="+", default=list(SWEEPERS), choices=list(SWEEPERS))
    o.add_argument("--out", type=Path, default=Path("benchmarks/results/e2e_scale.json"))
    t = sub.add_parser("table")
    t.add_argument("--out", type=Path, default=Path("benchmarks/results/e2e_scale.json"))
    g = sub.add_parser("gap")
    g.add_argument("--n", type=int, default=24)
    g.add_argument("--warm", action="store_true", help="keep the persistent compilation cache on")
    lg = sub.add_parser("long")
    lg.add_argument("--sweeper", choices=["random", "bayes", "grid"], default="random")
    lg.add_argument("--n", type=int, default=10000)
    lg.add_argument("--every", type=int, default=1000)
    a = ap.parse_args(argv)
    if a.cmd == "overhead":
        res = run_overhead(a.ns, a.sweepers)
        a.out.write_text(json.dumps(res, indent=1))
        print(table(res))
    elif a.cmd == "table":
        print(table(json.loads(a.out.read_text())))
    elif a.cmd == "gap":
        print(json.dumps(compile_gap(a.n, cold=not a.warm)))
    else:
        print(json.dumps(long_sweep(a.sweeper, a.n, a.every)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
