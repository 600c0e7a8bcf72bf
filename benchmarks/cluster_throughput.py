"""Throughput of a `bayes` sweep per launcher: trials per minute for 32 trials of 2 s tasks on 2 workers.

    python -m benchmarks.cluster_throughput [--trials 32] [--sleep 2] [--launchers joblib ray slurm]

joblib runs 2 local worker processes; Ray a local cluster of 2 CPUs that this script starts
(`ray start --head` on 127.0.0.1) and stops; SLURM the one-node cluster of scripts/slurm-local.sh
(2 CPUs; started, and stopped after, when it is not already running), one CPU per job. Every
sweep proposes 2 trials per round (`batch_size=2`). The wall time is that of the whole
`python app.py -m ...` command, start-up included; the per-trial overhead is the wall time minus
the time the tasks would need on 2 perfectly used workers (trials * sleep / 2), divided by the
number of rounds. Prints a Markdown table. Not a test: these are measurements, not pass/fail.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "benchmarks" / "e2e_app" / "app.py"
SLURM_SCRIPT = REPO / "scripts" / "slurm-local.sh"

LAUNCHER_ARGS = {
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "ray": ["hydra/launcher=ray", "+hydra.launcher.ray.init.object_store_memory=null"],
    "slurm": ["hydra/launcher=submitit_slurm", "hydra.launcher.partition=debug", "hydra.launcher.cpus_per_task=1",
              "hydra.launcher.timeout_min=10"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def ray_cluster(cpus: int = 2) -> Iterator[dict[str, str]]:
    port, temp_dir = _free_port(), tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    ray = str(Path(sys.executable).with_name("ray"))
    proc = subprocess.Popen([ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
                             f"--ray-client-server-port={_free_port()}", f"--num-cpus={cpus}",
                             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        while subprocess.run([ray, "status", f"--address={address}"], capture_output=True).returncode != 0:
            if proc.poll() is not None:
                raise RuntimeError("the Ray head did not start")
            time.sleep(1)
        yield {"RAY_ADDRESS": address}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
            for _ in range(30):
                os.killpg(proc.pid, 0)
                time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def slurm_cluster() -> Iterator[dict[str, str]]:
    running = subprocess.run(["bash", str(SLURM_SCRIPT), "status"], capture_output=True).returncode == 0
    if not running:
        subprocess.run(["bash", str(SLURM_SCRIPT), "start"], check=True)
    try:
        yield {}
    finally:
        if not running:
            subprocess.run(["bash", str(SLURM_SCRIPT), "stop"], check=True)


def cluster(name: str) -> contextlib.AbstractContextManager[dict[str, str]]:
    if name == "ray":
        return ray_cluster()
    if name == "slurm":
        return slurm_cluster()
    return contextlib.nullcontext({})


def measure(name: str, n_trials: int, sleep: float, workdir: Path) -> dict[str, float]:
    sweep_dir = workdir / name
    cmd = [sys.executable, str(APP), "-m", "hydra/sweeper=bayes", "+space=xy", f"sleep={sleep}",
           f"hydra.sweep.dir={sweep_dir}", f"hydra.sweeper.n_trials={n_trials}", "hydra.sweeper.batch_size=2",
           "hydra.sweeper.seed=0", "hydra.sweeper.plots=false", *LAUNCHER_ARGS[name]]
    with cluster(name) as extra_env:
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "HYDRA_FULL_ERROR": "1", **extra_env}
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: the sweep failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    with open(sweep_dir / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    completed = sum(r["status"] == "completed" for r in rows)
    ideal = n_trials * sleep / 2
    return {"wall_s": wall, "completed": completed, "trials_per_min": 60 * completed / wall,
            "overhead_per_round_s": (wall - ideal) / (n_trials / 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--sleep", type=float, default=2.0)
    parser.add_argument("--launchers", nargs="+", default=list(LAUNCHER_ARGS), choices=list(LAUNCHER_ARGS))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="hpo-throughput-") as tmp:
        for name in args.launchers:
            results[name] = measure(name, args.trials, args.sleep, Path(tmp))
            print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    ideal = 60 * 2 / args.sleep
    print(f"| launcher | wall time of {args.trials} trials | trials per minute | overhead per round of 2 |")
    print("| --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['wall_s']:.0f} s | {r['trials_per_min']:.1f} | {r['overhead_per_round_s']:.1f} s |")
    print(f"| (2 workers, no overhead) | {args.trials * args.sleep / 2:.0f} s | {ideal:.0f} | 0 |")


if __name__ == "__main__":
    main()
