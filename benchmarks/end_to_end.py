"""End to end: the sweeper's own overhead per trial in a real Hydra multirun.

hydra-optuna-sweeper (1.2.x, the current release) pins ``optuna<3``, while Optuna's
GPSampler in the regret benchmark needs a current Optuna: the two cannot share one
environment. So this module builds a separate virtualenv, ``benchmarks/.env-optuna-sweeper``
(gitignored), with ``pip install hydra-optuna-sweeper hydra-joblib-launcher -e <repo>``,
and runs every Hydra multirun there as a subprocess: all sweepers then share one Python,
one hydra-core and one machine state. The env is reused while its marker file matches.

Overhead: ``python benchmarks/e2e_app/app.py -m ...`` with a task that returns a number at
once, ``N`` trials and ``3N`` trials, each sweeper in turn, ``repeats`` rounds interleaved (so
slow drifts of the machine's load hit all sweepers alike). Against Hydra's basic sweeper
running the same number of jobs (``x=range(0, N)``: the floor, no optimisation at all):

* overhead per trial at ``N`` = (median wall - floor's) / ``N``: start-up differences
  (imports, JAX tracing) amortised over ``N`` trials, plus the per-trial work, as a user of
  a short sweep sees it (trial store, results files, end-of-sweep plots; the
  ``random-noplots`` row turns the plots off to show their share);
* marginal cost per trial = the slope between ``N`` and ``3N`` minus the floor's slope:
  what one more trial costs once the sweep runs, which is what a long sweep pays; shown
  with its range over the rounds (``round_marginals``): Hydra's own per-job work varies
  by tens of ms between runs, so a difference inside that range is noise;
* start-up = the overhead at ``N`` minus ``N`` times the marginal cost: paid once.

Joblib speed-up (issue 6): a ``bayes`` sweep of 8 trials of a 1.5 s sleep task on the
joblib launcher with ``batch_size = n_jobs = q`` for q = 1, 2, 4; the wall time of each and
the speed-up over q = 1.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["ENV_DIR", "ensure_env", "round_marginals", "run_end_to_end"]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
ENV_DIR = BENCH_DIR / ".env-optuna-sweeper"
APP = BENCH_DIR / "e2e_app" / "app.py"
ENV_REQUIREMENTS = ["hydra-optuna-sweeper", "hydra-joblib-launcher"]
_MARKER = ".bench-ready"

#: sweeper name -> Hydra overrides (N trials is appended)
SWEEPERS: dict[str, list[str]] = {
    "basic": [],  # the floor: x=range(0, N)
    "random": ["hydra/sweeper=random", "+space=xy"],
    "random-noplots": ["hydra/sweeper=random", "+space=xy", "hydra.sweeper.plots=false"],
    "bayes-jax": ["hydra/sweeper=bayes", "hydra.sweeper.backend=jax", "+space=xy"],
    "bayes-skopt": ["hydra/sweeper=bayes", "hydra.sweeper.backend=skopt", "+space=xy"],
    "optuna-plugin": ["hydra/sweeper=optuna", "+space=xy"],
}
SWEEPER_LABELS = {
    "basic": "Hydra basic sweeper (floor)",
    "random": "random (ours)",
    "random-noplots": "random (ours), plots=false",
    "bayes-jax": "bayes, JAX engine (ours)",
    "bayes-skopt": "bayes, skopt engine (ours)",
    "optuna-plugin": "hydra-optuna-sweeper (TPE)",
}


def env_python() -> Path:
    return ENV_DIR / "bin" / "python"


def ensure_env(log=print) -> dict[str, str]:
    """Create (or reuse) the separate env; returns the versions of the packages that matter."""
    marker = ENV_DIR / _MARKER
    want = json.dumps({"req": ENV_REQUIREMENTS, "repo": str(REPO)})
    if not (marker.exists() and marker.read_text() == want and env_python().exists()):
        log(f"end-to-end: building {ENV_DIR.relative_to(REPO)} (pip install {' '.join(ENV_REQUIREMENTS)} -e .)")
        t0 = time.perf_counter()
        if ENV_DIR.exists():
            shutil.rmtree(ENV_DIR)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(ENV_DIR)], check=True)
        subprocess.run([str(env_python()), "-m", "pip", "install", "-q", *ENV_REQUIREMENTS, "-e", str(REPO)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        marker.write_text(want)
        log(f"end-to-end: env ready in {time.perf_counter() - t0:.0f} s")
    out = subprocess.run(
        [str(env_python()), "-m", "pip", "list", "--format", "json"], check=True, capture_output=True, text=True
    ).stdout
    pkgs = {p["name"].lower(): p["version"] for p in json.loads(out)}
    keep = ("hydra-core", "hydra-optuna-sweeper", "optuna", "hydra-joblib-launcher", "jax", "scikit-optimize",
            "hpo-sweeper")
    return {k: pkgs.get(k, "-") for k in keep}


def _multirun(overrides: list[str], workdir: Path, timeout: float = 900) -> tuple[float, str]:
    cmd = [str(env_python()), str(APP), "-m", *overrides, f"hydra.sweep.dir={workdir}",
           "hydra.sweep.subdir=${hydra.job.num}"]
    from benchmarks._env import THREAD_ENV

    env = {**os.environ, **THREAD_ENV}
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir.parent, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-12:])
        raise RuntimeError(f"{' '.join(overrides)} failed (exit {proc.returncode}):\n{tail}")
    return wall, proc.stdout


def _overrides(name: str, n: int, seed: int) -> list[str]:
    if name == "basic":
        return [f"x=range(0,{n})"]
    seed_key = "hydra.sweeper.sampler.seed" if name == "optuna-plugin" else "hydra.sweeper.seed"
    return [*SWEEPERS[name], f"hydra.sweeper.n_trials={n}", f"{seed_key}={seed}"]


def round_marginals(row: dict[str, Any], basic: dict[str, Any]) -> list[float]:
    """Marginal cost per trial of each round: this sweeper's slope from N to 3N trials minus
    the basic sweeper's slope in the same round (rounds are interleaved, so a round's runs
    saw the same machine). Their spread shows how far the median can be trusted."""
    span = row["n_long"] - row["n_trials"]
    pairs = zip(row["walls"], row["walls_long"], basic["walls"], basic["walls_long"])
    return [((wl - w) - (bl - b)) / span for w, wl, b, bl in pairs]


def run_end_to_end(n_trials: int = 30, repeats: int = 3, sweepers: list[str] | None = None, long_factor: int = 3,
                   speedup: bool = True, speedup_trials: int = 8, speedup_sleep: float = 1.5,
                   speedup_qs: tuple[int, ...] = (1, 2, 4), log=print) -> dict[str, Any]:
    versions = ensure_env(log)
    names = sweepers or list(SWEEPERS)
    if "basic" not in names:
        names = ["basic", *names]
    n_long = long_factor * n_trials
    walls: dict[tuple[str, int], list[float]] = {(k, n): [] for k in names for n in (n_trials, n_long)}
    errors: dict[str, str] = {}
    tmp = Path(tempfile.mkdtemp(prefix="hpo-bench-e2e-"))
    try:
        for rep in range(repeats):
            for n in (n_trials, n_long):
                for name in names:
                    if name in errors:
                        continue
                    wd = tmp / f"{name}-{n}-{rep}"
                    try:
                        wall, _ = _multirun(_overrides(name, n, seed=rep), wd)
                    except Exception as e:
                        errors[name] = str(e)
                        log(f"end-to-end: {name} FAILED: {e}")
                        continue
                    walls[name, n].append(wall)
                    log(f"end-to-end: {name} N={n} round {rep + 1}/{repeats}: {wall:.2f} s")
                    shutil.rmtree(wd, ignore_errors=True)

        def med(name: str, n: int) -> float:
            return statistics.median(walls[name, n]) if walls[name, n] else float("nan")

        floor, floor_long = med("basic", n_trials), med("basic", n_long)
        floor_slope = (floor_long - floor) / (n_long - n_trials)
        rows = []
        for name in names:
            if not walls[name, n_trials] or not walls[name, n_long]:
                rows.append({"sweeper": name, "error": errors.get(name, "no run")})
                continue
            w, wl = med(name, n_trials), med(name, n_long)
            marginal = (wl - w) / (n_long - n_trials) - floor_slope
            rows.append({"sweeper": name, "n_trials": n_trials, "wall_s": w, "walls": walls[name, n_trials],
                         "n_long": n_long, "wall_long_s": wl, "walls_long": walls[name, n_long],
                         "over_basic_s": w - floor, "per_trial_s": (w - floor) / n_trials,
                         "marginal_s": marginal, "startup_s": (w - floor) - n_trials * marginal})
        result: dict[str, Any] = {"versions": versions, "rows": rows, "n_trials": n_trials, "n_long": n_long,
                                  "repeats": repeats}
        if speedup:
            result["speedup"] = _joblib_speedup(tmp, speedup_trials, speedup_sleep, speedup_qs, log)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _joblib_speedup(tmp: Path, n: int, sleep: float, qs: tuple[int, ...], log=print) -> dict[str, Any]:
    backend = "jax"
    try:
        subprocess.run([str(env_python()), "-c", "import hpo_sweeper.engines.jax_gp.engine"], check=True,
                       capture_output=True)
    except subprocess.CalledProcessError:
        backend = "skopt"
    rows = []
    for q in qs:
        wd = tmp / f"joblib-q{q}"
        ov = ["hydra/sweeper=bayes", f"hydra.sweeper.backend={backend}", "+space=xy", "hydra/launcher=joblib",
              f"hydra.sweeper.n_trials={n}", f"hydra.sweeper.batch_size={q}", f"hydra.launcher.n_jobs={q}",
              f"sleep={sleep}", "hydra.sweeper.seed=0"]
        try:
            wall, _ = _multirun(ov, wd)
        except Exception as e:
            rows.append({"q": q, "error": str(e)})
            log(f"joblib speed-up: q={q} FAILED: {e}")
            continue
        rows.append({"q": q, "wall_s": wall, "ideal_sleep_s": n * sleep / q})
        log(f"joblib speed-up: q={q}: {wall:.2f} s (sleep alone: {n * sleep / q:.1f} s)")
        shutil.rmtree(wd, ignore_errors=True)
    base = next((r["wall_s"] for r in rows if r.get("q") == 1 and "wall_s" in r), None)
    for r in rows:
        if base and "wall_s" in r:
            r["speedup"] = base / r["wall_s"]
            r["fraction_of_serial"] = r["wall_s"] / base
    return {"backend": backend, "n_trials": n, "sleep_s": sleep, "rows": rows}
