"""A task for the SLURM tests: sleeps, then returns a quadratic of x; a job whose x is above
``hang_above`` sleeps for an hour instead, to be cancelled by the test or ended by SLURM's time limit."""

import time

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    hangs = cfg.hang_above is not None and cfg.x > cfg.hang_above
    time.sleep(3600 if hangs else cfg.sleep)
    return (cfg.x - 0.3) ** 2


if __name__ == "__main__":
    main()
