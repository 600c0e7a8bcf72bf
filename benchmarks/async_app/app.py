"""Task of the async-utilisation benchmark: sleeps 0.5-3 s, a duration drawn from a hash of its
configuration (so every sweeper sees the same duration for the same point, and durations vary
from job to job), records when it ran, returns a quadratic with minimum 0 at (0.3, -0.2)."""

import hashlib
import json
import os
import time

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

MIN_S, MAX_S = 0.5, 3.0


def duration(x: float, y: float) -> float:
    u = int.from_bytes(hashlib.sha256(f"{x:.12g},{y:.12g}".encode()).digest()[:8], "big") / 2**64
    return MIN_S + (MAX_S - MIN_S) * u


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    start = time.time()
    x, y = float(cfg.x), float(cfg.y)
    time.sleep(duration(x, y))
    os.makedirs(cfg.trace_dir, exist_ok=True)
    num = HydraConfig.get().job.num
    with open(os.path.join(cfg.trace_dir, f"{num}.json"), "w") as f:
        json.dump({"num": num, "start": start, "end": time.time()}, f)
    return (x - 0.3) ** 2 + (y + 0.2) ** 2


if __name__ == "__main__":
    main()
