"""hydra-optuna-sweeper's settings (``OptunaSweeperConf`` of 1.3) -> ours.

``sampler`` (a block with Optuna's ``_target_``, from ``hydra/sweeper/sampler`` or
written inline), ``study_name``, ``n_jobs``, ``storage`` URLs, a list ``direction``,
``search_space`` (the deprecated alias of ``params``) and ``custom_search_space``.
The sweeper the user chose (``hydra/sweeper=grid|random|bayes``) always decides the
algorithm; a sampler contributes its seed and the options that have an equivalent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo_sweeper.compat.base import LAUNCHER_HINT, CompatError, Mapper, Message, pop_block

#: The keys only the Optuna sweeper has (``n_trials``, ``params``, ... are shared).
OPTUNA_KEYS = ("sampler", "study_name", "n_jobs", "search_space", "custom_search_space", "experiment_sequence")

#: hydra-optuna-sweeper's own default trial sequence (its multi-objective example names it).
_OPTUNA_SEQUENCE = "hydra_plugins.hydra_optuna_sweeper._impl.OptunaExperimentSequence"

#: Optuna's sampler -> (the sweeper that is its equivalent, its options at their defaults in
#: hydra-optuna-sweeper's configs). An option away from its default and without a mapping is warned about.
SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "TPESampler": ("bayes", {
        "seed": None, "consider_prior": None, "prior_weight": None, "consider_magic_clip": None,
        "consider_endpoints": None, "n_startup_trials": 10, "n_ei_candidates": 24, "multivariate": False,
        "warn_independent_sampling": None,
    }),
    "GPSampler": ("bayes", {
        "seed": None, "independent_sampler": None, "n_startup_trials": 10, "deterministic_objective": False,
        "constraints_func": None, "warn_independent_sampling": True,
    }),
    "RandomSampler": ("random", {"seed": None}),
    "QMCSampler": ("random", {
        "seed": None, "qmc_type": "sobol", "scramble": False, "independent_sampler": None,
        "warn_asynchronous_seeding": True, "warn_independent_sampling": True,
    }),
    "GridSampler": ("grid", {"search_space": None, "seed": None}),
    "CmaEsSampler": ("bayes", {
        "seed": None, "x0": None, "sigma0": None, "independent_sampler": None, "warn_independent_sampling": True,
        "consider_pruned_trials": False, "restart_strategy": None, "inc_popsize": 2, "use_separable_cma": False,
        "source_trials": None, "n_startup_trials": 1,
    }),
    "NSGAIISampler": ("bayes", {
        "seed": None, "population_size": 50, "mutation_prob": None, "crossover_prob": 0.9, "swapping_prob": 0.5,
        "constraints_func": None,
    }),
    "MOTPESampler": ("bayes", {
        "seed": None, "consider_prior": True, "prior_weight": 1.0, "consider_magic_clip": True,
        "consider_endpoints": True, "n_startup_trials": 10, "n_ehvi_candidates": 24,
    }),
}

#: Options of a sampler that have an equivalent, per sweeper: sampler option -> our setting.
_OPTION_MAP: dict[str, dict[str, str]] = {
    "bayes": {"seed": "seed", "n_startup_trials": "n_initial_points", "qmc_type": "initial_design"},
    "random": {"seed": "seed", "qmc_type": "sampler"},
    "grid": {},
}
_RANDOM_SAMPLERS = ("random", "sobol", "halton", "lhs")


def translate(
    kind: str, settings: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Message]]:
    m = Mapper(settings, defaults)
    s = m.settings
    carries_optuna_keys = any(s.get(k) is not None and not _ours(k, s.get(k)) for k in OPTUNA_KEYS)

    if s.get("custom_search_space") is not None:
        raise CompatError(
            f"custom_search_space={s['custom_search_space']!r} (hydra-optuna-sweeper) is not supported: the search "
            "space is declared in params only: write a parameter that exists only for some values of another with "
            "`when:` (e.g. `optim.momentum: {type: float, low: 0.5, high: 0.99, when: {optim.name: sgd}}`, README "
            "\"Conditional parameters\") and combinations never to try under `forbidden:`"
        )
    s.pop("custom_search_space", None)

    sequence = s.pop("experiment_sequence", None)
    if sequence is not None and sequence != _OPTUNA_SEQUENCE:
        raise CompatError(f"experiment_sequence={sequence!r} (hydra-optuna-sweeper) is not supported: the sweeper's "
                          "own loop proposes the trials; remove it")
    if sequence is not None:
        m.info(f"experiment_sequence={sequence!r}: the sweeper's own loop proposes the trials (the same order)")

    search_space = s.pop("search_space", None)
    if search_space is not None:
        if s.get("params"):
            raise CompatError("both params and search_space are set: search_space is the deprecated name of params; "
                              "keep params only")
        m.warn("search_space is deprecated (as in hydra-optuna-sweeper): rename it to params")
        s["params"] = search_space

    direction = s.get("direction")
    if isinstance(direction, (list, tuple)):
        # One direction is a single-objective sweep; several pass through: a multi-objective sweep.
        names = [getattr(d, "name", d) for d in direction]
        if len(names) == 1:
            s["direction"] = names[0]
            m.mapped.append(f"direction={list(direction)!r} -> direction={names[0]!r}")
        else:
            s["direction"] = names
            m.info(f"direction={names!r}: a multi-objective sweep; its Pareto front is written as solutions: in "
                   "optimization_results.yaml, as the Optuna sweeper does")
    if s.get("direction") is not None and not isinstance(s["direction"], (str, list)):
        s["direction"] = getattr(s["direction"], "name", s["direction"])  # Optuna's Direction enum

    storage = s.get("storage")
    if isinstance(storage, str) and "://" in storage:
        s["storage"] = None
        m.fill("storage", _sqlite_path(storage), "storage")

    study_name = s.pop("study_name", None)
    if study_name is not None:
        m.fill("name", str(study_name), "study_name")

    n_jobs = s.pop("n_jobs", None)
    if n_jobs is not None:
        m.fill("batch_size", n_jobs, "n_jobs")
        m.info(f"n_jobs={n_jobs!r} sets batch_size, the trials handed to the launcher at once; {LAUNCHER_HINT}")

    sampler = s.get("sampler")
    if isinstance(sampler, str) or sampler is None:
        if sampler is not None and kind != "random":
            raise CompatError(
                f"sampler={sampler!r} is a setting of hydra/sweeper=random ({' | '.join(_RANDOM_SAMPLERS)})"
                + ("; bayes has initial_design for its first trials" if kind == "bayes" else "")
            )
        if kind == "random" and sampler is None:
            s["sampler"] = defaults.get("sampler")
        elif sampler is None:
            s.pop("sampler", None)
    else:
        _map_sampler(kind, pop_block(s, "sampler") or {}, m)
        if kind == "random":
            s.setdefault("sampler", defaults.get("sampler"))

    if carries_optuna_keys and _has_range(s.get("params")):
        m.info("range(a, b) excludes b here, as in Hydra's override grammar; hydra-optuna-sweeper included b")
    m.summary("hydra-optuna-sweeper")
    return s, m.messages


def _ours(key: str, value: Any) -> bool:
    """random's own ``sampler: sobol`` is not an Optuna key."""
    return key == "sampler" and isinstance(value, str)


def _map_sampler(kind: str, block: dict[str, Any], m: Mapper) -> None:
    target = block.pop("_target_", None)
    block.pop("_partial_", None)
    name = str(target).rsplit(".", 1)[-1] if target else None
    if name not in SAMPLERS:
        m.warn(f"sampler _target_={target!r} is not an Optuna sampler known here: ignored, {kind} runs as selected"
               + (f"; its options {sorted(block)} are ignored too" if block else ""))
        if "seed" in block and block["seed"] is not None:
            m.fill("seed", block["seed"], "sampler.seed")
        return
    equivalent, known = SAMPLERS[name]
    if equivalent == kind and (kind != "bayes" or name == "GPSampler"):
        m.info(f"Optuna's {name} -> hydra/sweeper={kind}, its equivalent here")
    elif equivalent == kind:
        m.info(f"Optuna's {name} is not available here: bayes runs its Gaussian-process model in its place")
    elif kind == "bayes":
        m.info(f"Optuna's {name}: its equivalent is hydra/sweeper={equivalent}; running bayes, as selected")
    else:
        m.info(f"Optuna's {name} is not used: hydra/sweeper={kind} "
               + ("samples at random" if kind == "random" else "runs the whole grid"))

    option_map = _OPTION_MAP[kind]
    ignored_here: list[str] = []
    for key, value in block.items():
        if key in option_map and value is not None:
            m.fill(option_map[key], value, f"sampler.{key}")
        elif key in known and value == known[key]:
            continue  # at Optuna's default: nothing was asked for
        elif key in ("seed", "n_startup_trials", "qmc_type"):
            ignored_here.append(f"{key}={value!r}")  # meaningful for another sweeper, not this one
        else:
            m.warn(f"sampler.{key}={value!r} ({name}) has no equivalent here: ignored")
    if ignored_here:
        m.info(f"sampler options {', '.join(ignored_here)} do not apply to hydra/sweeper={kind}: ignored")


def _sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and len(url) > len(prefix):
        return url[len(prefix):]  # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
    raise CompatError(
        f"storage={url!r}: only SQLite files are supported, as a path or as a sqlite:///path.db URL "
        "(the trial store is a SQLite file of hpo_sweeper's own format)"
    )


def _has_range(params: Any) -> bool:
    return isinstance(params, Mapping) and any(isinstance(v, str) and "range(" in v for v in params.values())
