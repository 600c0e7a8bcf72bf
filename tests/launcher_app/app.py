"""A task for the launcher tests: sleeps, then returns a quadratic of x, or crashes
its own worker process when x is above ``crash_above``."""

import os
import signal
import time

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
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
