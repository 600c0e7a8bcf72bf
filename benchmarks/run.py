"""Run the benchmark suite and regenerate RESULTS.md and its plots.

    python -m benchmarks.run --quick     # a few minutes: writes benchmarks/quick/RESULTS.md
    python -m benchmarks.run             # full suite, under an hour on 2 cores:
                                         # writes benchmarks/RESULTS.md and benchmarks/plots/
    python -m benchmarks.run --only bayesmark [--quick] [...]
                                         # the Bayesmark-style suite of real tuning tasks
                                         # (benchmarks/bayesmark/; its own options: --help)

Needs the ``bench`` extra (``pip install -e ".[bench]"``: Optuna, torch for its GPSampler);
the end-to-end section builds its own env (``benchmarks/.env-optuna-sweeper``) on first use.
A method that cannot run here (its package missing, the JAX engine unfinished) is left out
and RESULTS.md says why.

Options:
  --sections regret overhead e2e   run only these; the others are reported from the stored
                                   results of an earlier run (and RESULTS.md says so)
  --resume                         keep regret runs already in results/regret.jsonl
  --rerun METHOD ...               redo only these methods' regret runs, keep the rest
  --report-only                    rebuild RESULTS.md and plots from the stored results
  --methods / --problems / --seeds / --workers   narrow or widen the regret grid
"""

from __future__ import annotations

import os

from benchmarks._env import pin_threads

pin_threads()  # before numpy & co. are imported, here and in every child process

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

#: the two modes; the full one is budgeted to finish within an hour on 2 cores
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {
        "problems": ["branin", "svm_digits"],
        "seeds": {1: 2, 4: 2},
        "trials": {"synthetic": 12, "real": 8},
        "qs": [1, 4],
        "overhead": {"dims": [2, 6], "ns": [50, 200], "repeats": 2, "max_call_s": 5.0, "budget_s": 60.0},
        "e2e": {"n_trials": 8, "repeats": 1, "speedup_trials": 4, "speedup_sleep": 0.5, "speedup_qs": (1, 2, 4)},
    },
    "full": {
        "seeds": {1: 10, 4: 10},
        "trials": {"synthetic": 50, "real": 30},
        "qs": [1, 4],
        "overhead": {"dims": [2, 6, 20], "ns": [50, 200, 500, 1000, 2000], "repeats": 5, "max_call_s": 12.0,
                     "budget_s": 300.0},
        "e2e": {"n_trials": 30, "repeats": 3, "speedup_trials": 8, "speedup_sleep": 1.5, "speedup_qs": (1, 2, 4)},
    },
}
BUDGET_NOTES = (
    "10 seeds per (problem, method) in both modes (sequential and q=4; with 5 seeds the q=4 medians "
    "swung by 10x and more between seed sets, e.g. Optuna GPSampler on Hartmann-6: 1.7e-03 over seeds "
    "0-4, 1.5e-01 over seeds 0-9). 50 trials on the synthetic functions, 30 on the real task. Overhead: 5 warm "
    "repeats after the first call (3 when a call takes over 2 s); a (d, n) is skipped when the time per call "
    "predicted from the previous n (scaled by (n/n_prev)^1.5) exceeds 12 s, or once the method has used 300 s."
)


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 ** 2:.1f}"
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": ram,
            "os": f"{platform.system()} {platform.release()}, Python {platform.python_version()}"}


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("hpo-sweeper", "numpy", "scipy", "scikit-learn", "jax", "jaxlib", "scikit-optimize", "optuna",
                "torch", "hydra-core"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hpo_sweeper", "hydra_plugins"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return f"{head}" + (" + uncommitted changes in hpo_sweeper/ (work in progress of other engineers)"
                            if dirty else "")
    except Exception:
        return "?"


def _load() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    # ``--only bayesmark`` hands every other option to that suite's own command
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--only", choices=["bayesmark"], default=None)
    known, rest = pre.parse_known_args(argv)
    if known.only == "bayesmark":
        from benchmarks.bayesmark.run import main as bayesmark_main

        return bayesmark_main(rest)

    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["bayesmark"], help="run only this suite (its options: --only bayesmark -h)")
    ap.add_argument("--quick", action="store_true", help="a few minutes; writes benchmarks/quick/")
    ap.add_argument("--sections", nargs="+", choices=["regret", "overhead", "e2e"],
                    default=["regret", "overhead", "e2e"])
    ap.add_argument("--methods", nargs="+", default=None, help="regret methods (default: all available)")
    ap.add_argument("--problems", nargs="+", default=None, help="regret problems (default: the suite)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--rerun", nargs="+", default=None, metavar="METHOD")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: benchmarks/ or benchmarks/quick/)")
    args = ap.parse_args(argv)

    from benchmarks import end_to_end, overhead, regret
    from benchmarks.methods import METHODS, available
    from benchmarks.problems import DEFAULT_PROBLEMS, get_problem
    from benchmarks.report import write_report

    mode = "quick" if args.quick else "full"
    cfg = CONFIGS[mode]
    out = args.out or (BENCH / "quick" if args.quick else BENCH)
    res_dir = out / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    meta_path = res_dir / "meta.json"
    old_meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    cmd = "python -m benchmarks.run" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()

    t_all = time.perf_counter()
    meta: dict[str, Any] = {
        "command": cmd.strip(), "mode": mode, "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip(),
        "machine": machine(), "versions": versions(), "git": git_state(), "load_start": _load(),
        "sections": {}, "unavailable": {},
    }
    if args.report_only:
        meta = old_meta or meta
    sections = [] if args.report_only else args.sections
    reused = [s for s in ("regret", "overhead", "e2e") if s not in sections]

    # --- regret ---------------------------------------------------------------------------------
    reg_path = res_dir / "regret.jsonl"
    if "regret" in sections:
        t0 = time.perf_counter()
        meta["sections"]["regret"] = {"load_before": _load()}
        wanted = args.methods or list(METHODS)
        methods = []
        for m in wanted:
            ok, why = available(m)
            if ok:
                methods.append(m)
            else:
                meta["unavailable"][m] = why
                _log(f"method {m} not available: {why}")
        problems = args.problems or list(cfg.get("problems", DEFAULT_PROBLEMS))
        n_seeds = {q: args.seeds or cfg["seeds"][q] for q in cfg["qs"]}
        jobs = []
        for p in problems:
            kind = "real" if "real" in get_problem(p).tags else "synthetic"
            n = cfg["trials"][kind]
            for q in cfg["qs"]:
                for m in methods:
                    for s in range(n_seeds[q]):
                        jobs.append(regret.Job(p, m, s, q, n))
        if args.rerun:
            keep = [r for r in regret.load_results(reg_path) if r["method"] not in args.rerun]
            reg_path.write_text("".join(json.dumps(r) + "\n" for r in keep))
            meta["rerun"] = args.rerun
        elif not args.resume and reg_path.exists():
            reg_path.replace(reg_path.with_suffix(".jsonl.prev"))
        results = regret.run_jobs(jobs, reg_path, workers=args.workers, log=_log)
        # keep the file to exactly this grid (drop stale records of other grids)
        reg_path.write_text("".join(json.dumps(r) + "\n" for r in results))
        meta["sections"]["regret"].update({"wall_s": time.perf_counter() - t0, "load_after": _load(),
                                           "jobs": len(jobs)})
        meta["config_regret"] = {"seeds": n_seeds, "trials": cfg["trials"], "qs": cfg["qs"], "problems": problems,
                                 "methods": methods}
        _log(f"regret: done in {(time.perf_counter() - t0) / 60:.1f} min")
    elif "regret" in old_meta.get("sections", {}):
        meta["sections"]["regret"] = old_meta["sections"]["regret"]
        meta["unavailable"].update(old_meta.get("unavailable", {}))
        meta["config_regret"] = old_meta.get("config_regret")

    # --- overhead -------------------------------------------------------------------------------
    ov_path = res_dir / "overhead.json"
    if "overhead" in sections:
        t0 = time.perf_counter()
        meta["sections"]["overhead"] = {"load_before": _load()}
        oc = cfg["overhead"]
        ov_methods = []
        for m in overhead.OVERHEAD_METHODS:
            ok, why = available(m)
            if ok:
                ov_methods.append(m)
            else:
                meta["unavailable"][m] = why
        rows = overhead.run_overhead(ov_methods, oc["dims"], oc["ns"], oc["repeats"], oc["max_call_s"],
                                     oc["budget_s"], res_dir / "overhead-raw", log=_log)
        ov_path.write_text(json.dumps(rows, indent=1))
        meta["sections"]["overhead"].update({"wall_s": time.perf_counter() - t0, "load_after": _load()})
        _log(f"overhead: done in {(time.perf_counter() - t0) / 60:.1f} min")
    elif "overhead" in old_meta.get("sections", {}):
        meta["sections"]["overhead"] = old_meta["sections"]["overhead"]

    # --- end to end -----------------------------------------------------------------------------
    e2e_path = res_dir / "e2e.json"
    if "e2e" in sections:
        t0 = time.perf_counter()
        meta["sections"]["e2e"] = {"load_before": _load()}
        ec = cfg["e2e"]
        try:
            e2e = end_to_end.run_end_to_end(n_trials=ec["n_trials"], repeats=ec["repeats"],
                                            speedup_trials=ec["speedup_trials"], speedup_sleep=ec["speedup_sleep"],
                                            speedup_qs=tuple(ec["speedup_qs"]), log=_log)
            e2e_path.write_text(json.dumps(e2e, indent=1))
        except Exception as e:
            _log(f"end-to-end: FAILED: {type(e).__name__}: {e}")
            e2e_path.write_text(json.dumps({"error": str(e)}))
        meta["sections"]["e2e"].update({"wall_s": time.perf_counter() - t0, "load_after": _load()})
        _log(f"end-to-end: done in {(time.perf_counter() - t0) / 60:.1f} min")
    elif "e2e" in old_meta.get("sections", {}):
        meta["sections"]["e2e"] = old_meta["sections"]["e2e"]

    # --- report ---------------------------------------------------------------------------------
    if not args.report_only:
        meta["load_end"] = _load()
        meta["step_wall_s"] = time.perf_counter() - t_all
        meta["total_wall_s"] = time.perf_counter() - t_all + sum(
            old_meta.get("sections", {}).get(s, {}).get("wall_s", 0.0) for s in reused)
        parts = []
        if reused and old_meta:
            parts.append(f"the {', '.join(reused)} section(s), reused from the run of {old_meta.get('date', '?')}")
        if args.rerun:
            parts.append(f"only {', '.join(args.rerun)} was re-run in the regret section; the other methods' runs "
                         f"are from the run of {old_meta.get('date', '?')}")
        meta["reused"] = "; ".join(parts)
        if parts:  # keep the story of how these results came to be
            meta["history"] = old_meta.get("history", []) + [
                {"command": old_meta.get("command"), "date": old_meta.get("date"), "git": old_meta.get("git"),
                 "total_wall_s": old_meta.get("step_wall_s") or old_meta.get("total_wall_s")}]
        cr = meta.get("config_regret") or {}
        seeds = cr.get("seeds") or {}
        meta["config"] = {"workers": args.workers,
                          "seeds": ", ".join(f"{n} at q={q}" for q, n in seeds.items()) if seeds else None,
                          "trials": ", ".join(f"{v} ({k})" for k, v in (cr.get("trials") or {}).items()),
                          "batch sizes": cr.get("qs")}
        if mode == "full":
            meta["budget_notes"] = BUDGET_NOTES
        meta_path.write_text(json.dumps(meta, indent=1))
    data: dict[str, Any] = {"meta": meta}
    if reg_path.exists():
        data["regret"] = regret.load_results(reg_path)
    if ov_path.exists():
        data["overhead"] = json.loads(ov_path.read_text())
    if e2e_path.exists():
        e2e = json.loads(e2e_path.read_text())
        if "rows" in e2e:
            data["e2e"] = e2e
    path = write_report(data, out)
    _log(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path} "
         f"(total {(time.perf_counter() - t_all) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
