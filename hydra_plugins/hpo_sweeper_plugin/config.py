"""Structured configs of the sweepers, registered under ``hydra/sweeper``.

(No ``from __future__ import annotations`` here: OmegaConf reads the real types.)

Fields common to all three sweepers live in ``SweeperConf``; each sweeper adds
its own. Types that OmegaConf cannot express are stated in comments.
"""


from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

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
class PrunerConf:
    # none | median | asha | hyperband (README "Pruning").
    type: str = "none"
    # asha/hyperband: the first rung's step.
    min_resource: int = 1
    # asha/hyperband: the full budget in steps (null: asha no cap, hyperband inferred from the steps seen).
    max_resource: Optional[int] = None
    # asha/hyperband: 1/reduction_factor of a rung goes on to the next.
    reduction_factor: int = 3
    # asha: the first rung is at min_resource * reduction_factor ** min_early_stopping_rate.
    min_early_stopping_rate: int = 0
    # median: no pruning below this step.
    warmup_steps: int = 0
    # median: trials numbered below this are never pruned.
    n_startup_trials: int = 5
    # median: judge only with at least this many earlier trials at the same step.
    min_trials: int = 1
    # median: judge every this many steps after the warm-up.
    interval_steps: int = 1


# --- the blocks of other sweepers, with their keys and no defaults (null: not set) ----------------
# Typed like hydra-nevergrad-sweeper's and hydra-ax-sweeper's own, so `hydra.sweeper.optim.seed=0`
# composes as it does with them; hpo_sweeper.compat maps what is set.


@dataclass
class NevergradOptimConf:
    optimizer: Optional[str] = None
    budget: Optional[int] = None
    num_workers: Optional[int] = None
    noisy: Optional[bool] = None
    maximize: Optional[bool] = None
    seed: Optional[int] = None
    max_failure_rate: Optional[float] = None


@dataclass
class AxExperimentConf:
    name: Optional[str] = None
    objective_name: Optional[str] = None
    minimize: Optional[bool] = None
    parameter_constraints: Optional[List[str]] = None
    outcome_constraints: Optional[List[str]] = None
    status_quo: Optional[Dict[str, Any]] = None


@dataclass
class AxEarlyStopConf:
    minimize: Optional[bool] = None
    max_epochs_without_improvement: Optional[int] = None
    epsilon: Optional[float] = None


@dataclass
class AxClientConf:
    verbose_logging: Optional[bool] = None
    random_seed: Optional[int] = None


@dataclass
class AxConfigConf:
    max_trials: Optional[int] = None
    early_stop: AxEarlyStopConf = field(default_factory=AxEarlyStopConf)
    experiment: AxExperimentConf = field(default_factory=AxExperimentConf)
    client: AxClientConf = field(default_factory=AxClientConf)
    # Ax's dict form ({type: range, bounds: [a, b]}, {type: choice, values}, {type: fixed, value}) or our grammar.
    params: Optional[Dict[str, Any]] = None
    is_noisy: Optional[bool] = None


@dataclass
class SweeperConf:
    _target_: str = ""
    # Nested blocks with a _target_ (an Optuna sampler) are settings to translate, not objects to build.
    _recursive_: bool = False
    # The hydra/sweeper/sampler group (Optuna's samplers) is empty unless a config selects an option.
    defaults: List[Any] = field(default_factory=lambda: ["_self_", {"sampler": None}])
    # Total number of trials (grid: a cap on the grid size; null runs the whole grid).
    n_trials: Optional[int] = 20
    # Trials handed to the launcher per launch() call; null: the whole grid (grid), the launcher's
    # workers (random: its trials are independent), 1 (bayes).
    batch_size: Optional[int] = None
    # Seed of the optimiser; null draws one and records it so a resumed sweep reuses it.
    seed: Optional[int] = None
    # minimize | maximize, or a list of them (Any: Optuna's multi-objective form; a Pareto front).
    direction: Any = "minimize"
    # null: the task returns the number (a tuple with a list direction); else a dotted key into its
    # returned dict/dataclass (Any: a list of keys, one per direction).
    objective: Any = None
    # The search space: {key: grammar string | {type, low, high, log, step, choices} | list | value}.
    # An empty dict, not null, so that `hydra.sweeper.params={...}` and `+hydra.sweeper.params.x=...`
    # compose on the command line (OmegaConf cannot merge a dict into a null node); {} and null mean the same.
    params: Optional[Dict[str, Any]] = field(default_factory=dict)
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
    # batch | async: async launches one trial per launcher call, a new one the moment one ends
    # (joblib and submitit launchers; README "Asynchronous sweeps").
    schedule: str = "batch"
    # async: trials in flight at most; null: the launcher's n_jobs / array_parallelism, else batch_size.
    max_concurrent: Optional[int] = None
    # Resume even if settings that change what the stored trials mean (sweeper, direction,
    # objective, pass-through overrides, optimiser options) differ from the stored ones.
    allow_settings_change: bool = False
    # Stop bad trials early from the values their jobs report (hpo_sweeper.report).
    pruner: PrunerConf = field(default_factory=PrunerConf)
    # Bounds on keys of the returned dict, e.g. {metrics.memory_gb: {max: 40}}: a trial outside them is
    # infeasible, never the best (README "Constraints"). Any: checked by hpo_sweeper.constraints by name.
    constraints: Dict[str, Any] = field(default_factory=dict)
    # failed | infeasible: what a trial that crashed out of memory counts as.
    constraints_oom: str = "failed"
    # Multi-objective: the hypervolume reference point, one number per objective in its own units;
    # null: the worst feasible value + 10 % of the range. (Any: checked by name, not by OmegaConf.)
    ref_point: Optional[Any] = None

    # --- keys of other sweepers, mapped to the settings above by hpo_sweeper.compat -------------
    # hydra-optuna-sweeper: an Optuna sampler block ({_target_: optuna.samplers.TPESampler, seed, ...});
    # for random also its own sampler name (Any: str or mapping).
    sampler: Any = None
    # hydra-optuna-sweeper: the sweep's name (recorded in the store and results).
    study_name: Optional[str] = None
    # hydra-optuna-sweeper: -> batch_size.
    n_jobs: Optional[int] = None
    # hydra-optuna-sweeper: refused (a Python function shaping the space).
    custom_search_space: Optional[str] = None
    # hydra-optuna-sweeper (its multi-objective example): its own default sequence only; else refused.
    experiment_sequence: Optional[str] = None
    # hydra-optuna-sweeper (deprecated there): -> params.
    search_space: Optional[Dict[str, Any]] = None
    # Hydra's basic sweeper and hydra-ax-sweeper: -> batch_size.
    max_batch_size: Optional[int] = None
    # hydra-nevergrad-sweeper: {optimizer, budget, num_workers, noisy, maximize, seed, max_failure_rate}.
    optim: NevergradOptimConf = field(default_factory=NevergradOptimConf)
    # hydra-nevergrad-sweeper (deprecated there): -> params.
    parametrization: Optional[Dict[str, Any]] = None
    # hydra-ax-sweeper: {max_trials, experiment, early_stop, client, params, is_noisy}.
    ax_config: AxConfigConf = field(default_factory=AxConfigConf)


@dataclass
class GridSweeperConf(SweeperConf):
    _target_: str = f"{_PLUGIN}.GridSweeper"
    n_trials: Optional[int] = None
    # Values taken from each interval() (log-spaced on a log scale).
    grid_points: int = 5


@dataclass
class RandomSweeperConf(SweeperConf):
    _target_: str = f"{_PLUGIN}.RandomSweeper"
    # random | sobol | halton | lhs (Any: an Optuna sampler block is accepted too, see SweeperConf)
    sampler: Any = "random"


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
    # Pending points and batches: qei (fantasies; the skopt engine reads it as cl_min) | cl_min | cl_mean | cl_max.
    batch_strategy: str = "qei"
    # design: while the GP's programs still compile when the design ends, propose more design points
    # instead of waiting; wait: wait (proposals then never depend on load); auto: wait when a seed is set
    # (a seed promises the same trials at any load), design otherwise.
    compile_wait: str = "auto"
    # Engine-specific knobs, passed to the chosen backend (e.g. {device: gpu, dtype: float32}).
    engine: Dict[str, Any] = field(default_factory=dict)


# --- hydra/sweeper/sampler: hydra-optuna-sweeper's sampler configs, unchanged ---------------------
# So that `override hydra/sweeper/sampler: tpe` in an Optuna config still composes with our
# sweepers. The blocks keep Optuna's _target_ and options (as in hydra-optuna-sweeper 1.3); they are
# never instantiated: hpo_sweeper.compat.optuna maps each to our settings and says how.


@dataclass
class TPESamplerConf:
    _target_: str = "optuna.samplers.TPESampler"
    seed: Optional[int] = None
    consider_prior: Optional[bool] = None
    prior_weight: Optional[float] = None
    consider_magic_clip: Optional[bool] = None
    consider_endpoints: Optional[bool] = None
    n_startup_trials: int = 10
    n_ei_candidates: int = 24
    multivariate: bool = False
    warn_independent_sampling: Optional[bool] = None


@dataclass
class GPSamplerConf:
    _target_: str = "optuna.samplers.GPSampler"
    seed: Optional[int] = None
    independent_sampler: Optional[Any] = None
    n_startup_trials: int = 10
    deterministic_objective: bool = False
    constraints_func: Optional[Any] = None
    warn_independent_sampling: bool = True


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: Optional[int] = None


@dataclass
class GridSamplerConf:
    _target_: str = "optuna.samplers.GridSampler"
    # Optuna's search_space is filled from params at run time.
    _partial_: bool = True


@dataclass
class QMCSamplerConf:
    _target_: str = "optuna.samplers.QMCSampler"
    seed: Optional[int] = None
    # sobol | halton
    qmc_type: str = "sobol"
    scramble: bool = False
    independent_sampler: Optional[Any] = None
    warn_asynchronous_seeding: bool = True
    warn_independent_sampling: bool = True


@dataclass
class CmaEsSamplerConf:
    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: Optional[int] = None
    x0: Optional[Dict[str, Any]] = None
    sigma0: Optional[float] = None
    independent_sampler: Optional[Any] = None
    warn_independent_sampling: bool = True
    consider_pruned_trials: bool = False
    restart_strategy: Optional[Any] = None
    inc_popsize: int = 2
    use_separable_cma: bool = False
    source_trials: Optional[Any] = None


@dataclass
class NSGAIISamplerConf:
    _target_: str = "optuna.samplers.NSGAIISampler"
    seed: Optional[int] = None
    population_size: int = 50
    mutation_prob: Optional[float] = None
    crossover_prob: float = 0.9
    swapping_prob: float = 0.5
    constraints_func: Optional[Any] = None


@dataclass
class MOTPESamplerConf:
    _target_: str = "optuna.samplers.MOTPESampler"
    seed: Optional[int] = None
    consider_prior: bool = True
    prior_weight: float = 1.0
    consider_magic_clip: bool = True
    consider_endpoints: bool = True
    n_startup_trials: int = 10
    n_ehvi_candidates: int = 24


OPTUNA_SAMPLER_CONFS = {
    "tpe": TPESamplerConf, "gp": GPSamplerConf, "random": RandomSamplerConf, "grid": GridSamplerConf,
    "qmc": QMCSamplerConf, "cmaes": CmaEsSamplerConf, "nsgaii": NSGAIISamplerConf, "motpe": MOTPESamplerConf,
}

SWEEPER_CONFS = {"grid": GridSweeperConf, "random": RandomSweeperConf, "bayes": BayesSweeperConf}

_cs = ConfigStore.instance()


def _stored(group: str, name: str) -> bool:
    """Whether the ConfigStore holds our node already. Hydra's plugin scan executes this module
    again at every ``Plugins`` set-up, which a job of joblib, submitit or Ray does once per job
    (``Singleton.set_state``), with the ConfigStore of the sweep that holds these nodes: built
    again, they cost tens of milliseconds between one job's end and the next one's start.
    After such a second run the stored nodes keep the classes of the first, and this module's names
    the new ones: the launchers pickle with cloudpickle, which then pickles a class by value, so
    nothing depends on the two being the same object."""
    entry: Any = _cs.repo
    for part in group.split("/"):
        entry = entry.get(part) if isinstance(entry, dict) else None
    node = entry.get(f"{name}.yaml") if isinstance(entry, dict) else None
    return getattr(node, "provider", None) == "hpo_sweeper"


for _name, _node in OPTUNA_SAMPLER_CONFS.items():
    if not _stored("hydra/sweeper/sampler", _name):
        _cs.store(group="hydra/sweeper/sampler", name=_name, node=_node, provider="hpo_sweeper")


def _sweeper_node(conf: type) -> DictConfig:
    """The sweeper's structured config, its ``params`` open to new keys.

    Hydra composes in struct mode, where a plain override ``hydra.sweeper.params={x: ...}`` merges
    into the existing mapping and refuses every key not there yet. The search space is an open
    mapping of config keys (no key is a typo of another), so struct mode guards nothing in it."""
    node = OmegaConf.structured(conf)
    OmegaConf.set_struct(node.params, False)
    OmegaConf.set_struct(node.constraints, False)  # keys of the returned dict, like params' config keys
    return node


for _name, _conf in SWEEPER_CONFS.items():
    if not _stored("hydra/sweeper", _name):
        _cs.store(group="hydra/sweeper", name=_name, node=_sweeper_node(_conf), provider="hpo_sweeper")
