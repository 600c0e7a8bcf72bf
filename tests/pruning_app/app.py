"""A task for the pruning channel tests: reports x + 1/step at every step, and stops when told.

Curves are parallel, so at every step trials rank by x alone, which makes the pruner's
decisions easy to work out by hand."""

import time

import hydra
from omegaconf import DictConfig

import hpo_sweeper


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> object:
    value = float("nan")
    for step in range(1, cfg.steps + 1):
        value = cfg.x + 1.0 / step
        hpo_sweeper.report({"loss": value} if cfg.as_dict else value, step=step)
        if hpo_sweeper.should_prune():
            raise hpo_sweeper.TrialPruned(f"pruned at step {step}")
        time.sleep(cfg.sleep)
    return {"loss": value} if cfg.as_dict else value


if __name__ == "__main__":
    main()
