"""Regret check of engine variants beside the stored bayes-jax runs (issue 19); run from the
repository root: ``PYTHONPATH=. python benchmarks/notes/issue19_regret_check.py METHOD...``."""
import sys
from pathlib import Path

import numpy as np

from benchmarks.regret import Job, load_results, reference_values, run_jobs

if __name__ == "__main__":
    methods = sys.argv[1:]
    out = Path("/tmp/bm-bm2/regret.jsonl")
    jobs = [Job(p, m, s, 1, n) for m in methods for p, n in (("svm_digits", 30), ("branin", 50), ("hartmann6", 50))
            for s in range(10)]
    run_jobs(jobs, out, workers=1)
    stored = [r for r in load_results(Path("benchmarks/results/regret.jsonl")) if r["q"] == 1]
    ref = reference_values(stored + load_results(out))
    allr = [r for r in stored if r["method"] == "bayes-jax"] + load_results(out)
    for p, n in (("svm_digits", 30), ("branin", 50), ("hartmann6", 50)):
        for m in ["bayes-jax", *methods]:
            regs = [max(min(r["values"][:n]) - ref[p], 0.0) for r in allr
                    if r["problem"] == p and r["method"] == m and r["n_trials"] == n]
            print(f"{p:11s} {m:16s} n={len(regs)} median {np.median(regs):.3g} mean {np.mean(regs):.3g}")
