"""A slow quadratic for the durability tests: each trial sleeps ``sleep`` seconds.

``fail_above``: trials with a larger x raise. ``die_at``: the trial with this x kills
its own process (SIGKILL), as a task that runs out of memory would.
"""

import os
import signal
import time

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    if cfg.die_at is not None and cfg.x == cfg.die_at:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(cfg.sleep)
    if cfg.fail_above is not None and cfg.x > cfg.fail_above:
        raise RuntimeError(f"x={cfg.x} is above {cfg.fail_above}")
    return (cfg.x - 0.3) ** 2 + 0.01 * cfg.y


if __name__ == "__main__":
    main()
