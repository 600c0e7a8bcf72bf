"""A tiny Hydra app for the sweeper's integration tests.

The task is a quadratic in ``x``, ``y`` (plus small terms in ``a`` and the ``group``
option), minimal at x=0.3, y=-0.2. On demand it raises (``fail_jobs``, ``fail_all``),
returns NaN (``nan_jobs``), or wraps its value in another shape (``ret``: a number of
any kind, a dict, a nested dict, a DictConfig, a dataclass, an object with attributes).
With ``marker_dir`` set, every job first writes the config it received to
``<marker_dir>/job<N>.json``, so a test can see that a job ran and what it got.

    python tests/apps/quadratic/app.py -m hydra/sweeper=random +search_space=quad
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf


@dataclasses.dataclass
class Metrics:
    loss: float
    accuracy: float


@dataclasses.dataclass
class Result:
    metrics: Metrics
    epochs: int = 3


class Attributes:
    """A plain object whose attribute holds the objective."""

    def __init__(self, loss: float) -> None:
        self.loss = loss
        self.note = "not a number"


def quadratic(x: float, y: float, a: float = 0, offset: float = 0.0) -> float:
    return (x - 0.3) ** 2 + (y + 0.2) ** 2 + 0.01 * a + offset


def wrap(value: float, ret: str) -> Any:
    """``value`` in the shape ``ret`` names (the matching objective key in comments)."""
    if ret == "float":
        return float(value)
    if ret == "int":
        return int(round(value * 1000))
    if ret == "numpy":
        import numpy as np

        return np.float32(value)
    if ret == "numpy0d":
        import numpy as np

        return np.array(value)
    if ret == "jax":
        import jax.numpy as jnp

        return jnp.asarray(value, dtype=jnp.float32)
    if ret == "dict":  # objective: loss
        return {"loss": value, "accuracy": 1.0 - value}
    if ret == "nested":  # objective: metrics.val.loss
        return {"metrics": {"val": {"loss": value, "accuracy": 0.5}, "train": {"loss": 0.0}}, "epochs": 3}
    if ret == "dictconfig":  # objective: metrics.loss
        return OmegaConf.create({"metrics": {"loss": value, "accuracy": 0.5}})
    if ret == "dataclass":  # objective: metrics.loss
        return Result(metrics=Metrics(loss=value, accuracy=0.5))
    if ret == "attribute":  # objective: loss
        return Attributes(value)
    if ret == "bool":
        return True
    raise ValueError(f"unknown ret={ret!r}")


def task(cfg: DictConfig) -> Any:
    job = HydraConfig.get().job.num
    if cfg.get("marker_dir"):
        out = Path(cfg.marker_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"job{job}.json").write_text(json.dumps(OmegaConf.to_container(cfg, resolve=False)))
    if cfg.get("fail_all") or job in cfg.get("fail_jobs", []):
        raise RuntimeError(f"boom: job {job} was told to fail")
    if job in cfg.get("nan_jobs", []):
        return wrap(float("nan"), cfg.ret)
    group = cfg.get("group") or {}
    return wrap(quadratic(cfg.x, cfg.y, cfg.a, group.get("offset", 0.0)), cfg.ret)


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> Any:
    return task(cfg)


if __name__ == "__main__":
    main()
