"""A task for the launcher tests: sleeps, then returns a quadratic of x, or crashes
its own worker process when x is above ``crash_above``."""

import os
import signal
import time

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


def rendezvous(folder: str, group_size: int, timeout_s: float = 120.0) -> None:
    """Wait until every job of this job's group (job numbers in blocks of ``group_size``) has
    started. Jobs of one batch can only all arrive if they run at the same time, so a launcher
    that ran them one after another fails the job here: concurrency proven without timing."""
    num = HydraConfig.get().job.num
    group = os.path.join(folder, str(num // group_size))
    os.makedirs(group, exist_ok=True)
    open(os.path.join(group, str(num)), "w").close()
    deadline = time.monotonic() + timeout_s
    while len(os.listdir(group)) < group_size:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(os.listdir(group))} of {group_size} batch-mates started")
        time.sleep(0.05)


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    if cfg.rendezvous_dir is not None:
        rendezvous(cfg.rendezvous_dir, cfg.rendezvous_size)
    time.sleep(cfg.sleep)
    if cfg.crash_above is not None and cfg.x > cfg.crash_above:
        if cfg.crash == "exit":
            os._exit(3)  # the worker process dies without a Python exception
        if cfg.crash == "kill":
            os.kill(os.getpid(), signal.SIGKILL)  # killed from outside, as by the OOM killer
        raise RuntimeError(f"x={cfg.x} crashed")
    return (cfg.x - 0.3) ** 2


if __name__ == "__main__":
    main()
