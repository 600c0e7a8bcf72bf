"""Structured configs of the sweepers, registered under ``hydra/sweeper``.

(No ``from __future__ import annotations`` here: OmegaConf reads the real types.)

Fields common to all three sweepers live in ``SweeperConf``; each sweeper adds
its own. Types that OmegaConf cannot express are stated in comments.
"""


from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore

_PLUGIN = "hydra_plugins.hpo_sweeper_plugin.sweepers"


@dataclass
class EarlyStopConf:
    # Stop after this many trials without an improvement larger than min_delta (null: never).
    patience: Optional[int] = None
    # Smallest change of the best value that counts as an improvement.
    min_delta: float = 0.0
    # Stop once a value at least this good is reached (null: never).
    target: Optional[float] = None


@dataclass
class SweeperConf:
    _target_: str = ""
    # Total number of trials (grid: a cap on the grid size; null runs the whole grid).
    n_trials: Optional[int] = 20
    # Trials handed to the launcher per launch() call: set it to at least the launcher's workers.
    batch_size: int = 1
    # Seed of the optimiser; null draws one and records it so a resumed sweep reuses it.
    seed: Optional[int] = None
    # minimize | maximize
    direction: str = "minimize"
    # null: the task returns the number; else a dotted key into its returned dict/dataclass.
    objective: Optional[str] = None
    # The search space: {key: grammar string | {type, low, high, log, step, choices} | list | value}.
    params: Optional[Dict[str, Any]] = None
    # Stop with an error when more than this fraction of finished trials failed (after 5).
    max_failure_rate: float = 0.5
    # Trial store (SQLite); null: <hydra.sweep.dir>/trials.db.
    storage: Optional[str] = None
    # Resume even if the search space changed since the store was written.
    allow_space_change: bool = False
    # Earlier stores, sweep dirs or trials.csv files whose trials seed the optimiser.
    warm_start: List[str] = field(default_factory=list)
    # Explicit first trials: a list of {key: value} mappings, validated against the space.
    enqueue: List[Any] = field(default_factory=list)
    early_stop: EarlyStopConf = field(default_factory=EarlyStopConf)
    # Write convergence.png and params.png into the sweep dir when the sweep ends.
    plots: bool = True
    # How often a trial whose process died (killed, out of memory, os._exit) runs again before it
    # is recorded failed.
    max_reruns: int = 1
    # Resume even if settings that change what the stored trials mean (sweeper, direction,
    # objective, pass-through overrides, optimiser options) differ from the stored ones.
    allow_settings_change: bool = False


@dataclass
class GridSweeperConf(SweeperConf):
    _target_: str = f"{_PLUGIN}.GridSweeper"
    n_trials: Optional[int] = None
    # Values taken from each interval() (log-spaced on a log scale).
    grid_points: int = 5


@dataclass
class RandomSweeperConf(SweeperConf):
    _target_: str = f"{_PLUGIN}.RandomSweeper"
    # random | sobol | halton | lhs
    sampler: str = "random"


@dataclass
class BayesSweeperConf(SweeperConf):
    _target_: str = f"{_PLUGIN}.BayesSweeper"
    # skopt | jax: which Gaussian-process engine.
    backend: str = "jax"
    # Space-filling trials before the GP is used; null: 2 per dimension, 5 to 20.
    n_initial_points: Optional[int] = None
    # random | sobol | halton | lhs
    initial_design: str = "sobol"
    # EI | PI | LCB | UCB | gp_hedge
    acq_func: str = "EI"
    # Exploration margin of EI/PI.
    xi: float = 0.01
    # Exploration weight of LCB/UCB.
    kappa: float = 1.96
    # worst: a failed trial is told the worst value seen so far; ignore: left out of the model.
    on_failure: str = "worst"
    # Constant liar for batches: cl_min | cl_mean | cl_max.
    batch_strategy: str = "cl_min"
    # Engine-specific knobs, passed to the chosen backend (e.g. {device: gpu, dtype: float32}).
    engine: Dict[str, Any] = field(default_factory=dict)


_cs = ConfigStore.instance()
_cs.store(group="hydra/sweeper", name="grid", node=GridSweeperConf, provider="hpo_sweeper")
_cs.store(group="hydra/sweeper", name="random", node=RandomSweeperConf, provider="hpo_sweeper")
_cs.store(group="hydra/sweeper", name="bayes", node=BayesSweeperConf, provider="hpo_sweeper")
