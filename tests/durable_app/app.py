"""A slow quadratic for the durability tests: each trial sleeps ``sleep`` seconds."""

import time

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    time.sleep(cfg.sleep)
    if cfg.fail_above is not None and cfg.x > cfg.fail_above:
        raise RuntimeError(f"x={cfg.x} is above {cfg.fail_above}")
    return (cfg.x - 0.3) ** 2 + 0.01 * cfg.y


if __name__ == "__main__":
    main()
