"""Trivial Hydra task for the end-to-end benchmark: returns a number at once (or after
``sleep`` seconds, for the joblib speed-up measurement).

    python benchmarks/e2e_app/app.py -m hydra/sweeper=random +space=xy hydra.sweeper.n_trials=30
"""

import time

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    if cfg.sleep:
        time.sleep(float(cfg.sleep))
    return (float(cfg.x) - 0.3) ** 2 + (float(cfg.y) + 0.2) ** 2


if __name__ == "__main__":
    main()
