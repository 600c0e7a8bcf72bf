"""A task for the async-schedule tests: every job records when it ran and in which process.

Job ``hold_job`` waits until ``hold_for`` other jobs have finished. In batches of
``max_concurrent`` that can never happen (its batch-mates end, but no later job starts before
it does), so the job fails after a timeout; with the async schedule the free slots keep taking
new trials while it waits. Concurrency proven by what ran, not by timing."""

import json
import os
import sys
import time

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

LAUNCHER_APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "launcher_app")
HOLD_TIMEOUT_S = 120.0


def _finished_others(trace_dir: str, num: int) -> int:
    return sum(1 for f in os.listdir(trace_dir) if f.endswith(".json") and f != f"{num}.json")


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    num = HydraConfig.get().job.num
    start = time.time()
    os.makedirs(cfg.trace_dir, exist_ok=True)
    if num < cfg.meet:  # the first jobs wait for each other: they ran at once
        sys.path.insert(0, LAUNCHER_APP)
        from app import rendezvous  # tests/launcher_app/app.py, imported where the job runs

        rendezvous(os.path.join(cfg.trace_dir, "meet"), cfg.meet)
    time.sleep(cfg.sleep)
    if num == cfg.hold_job and cfg.hold_for > 0:
        deadline = time.monotonic() + HOLD_TIMEOUT_S
        while _finished_others(cfg.trace_dir, num) < cfg.hold_for:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {_finished_others(cfg.trace_dir, num)} of {cfg.hold_for} jobs finished "
                                   "while this one ran")
            time.sleep(0.05)
    record = {"num": num, "start": start, "end": time.time(), "pid": os.getpid(), "cwd": os.getcwd(),
              "job_dir": HydraConfig.get().runtime.output_dir}
    tmp = os.path.join(cfg.trace_dir, f".{num}.tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, os.path.join(cfg.trace_dir, f"{num}.json"))
    if num == cfg.crash_job:
        raise RuntimeError(f"job {num} crashed on purpose")
    return (cfg.x - 0.3) ** 2


if __name__ == "__main__":
    main()
