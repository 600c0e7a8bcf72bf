"""Sweeps with and without pruning, replayed on precomputed learning curves (curves.py) with a pool
of asynchronous workers, ours against Optuna's pruners.

Every trial takes one time unit per epoch (boosting stage); a pool of ``workers`` runs trials side
by side and a worker takes the next trial the moment its trial ends, so trials reach rungs in a
staggered order and ASHA decides with whatever the rung holds at that moment: the asynchrony is the
real one. Events that fall on the same instant are handled in a fixed order, and our reports carry
the event's sequence number as their time, so every method sees the same arrival order.

A proposed configuration is looked up by its nearest neighbour in the task's pool (numbers scaled
to [0, 1], log scale where the space has one; a different choice counts as distance 1), the way
tabular benchmarks answer points that are not in the table. A curve that turns NaN diverged: the
trial fails at that epoch, as train.py's does.

Methods (all with the same budget of epochs, min_resource 1, reduction_factor 3, max_resource = the
task's full budget):
- ``random``, ``random+median``, ``random+asha``, ``random+hyperband``: random search with our pruners;
- ``optuna-tpe``, ``optuna-tpe+sha``, ``optuna-tpe+hyperband``: Optuna's TPESampler with its
  SuccessiveHalvingPruner / HyperbandPruner (same min_resource, reduction_factor, max_resource);
- ``optuna-random+sha``: Optuna's SHA on the very configurations ``random+asha`` draws (enqueued),
  a check that both take the same decisions;
- ``optuna-tpe+sha-default``, ``optuna-tpe+hyperband-default``: Optuna's pruners with its own defaults.

Every method gets the same budget: the epochs of a no-pruning sweep of ``n_trials`` trials; it
starts trials until the budget is spent. Measured per sweep, from its trace of (epochs spent, best
final value so far): the quality (final value of the best trial that ran the full budget) within
the whole budget and within a third of it, the epochs it took to reach the quality that the
no-pruning sweep reached with the whole budget, and the wall time (time units) to reach it.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.pruning.curves import sample
from hpo_sweeper.pruning import Curve, PrunerSettings, Report, create_pruner

HERE = Path(__file__).resolve().parent


@dataclass
class Task:
    name: str
    space: dict[str, Any]
    configs: list[dict[str, Any]]
    curves: np.ndarray  # (n_configs, steps), NaN after divergence
    steps: int
    _encoded: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._encoded = np.array([self.encode(c) for c in self.configs])

    @classmethod
    def load(cls, name: str) -> Task:
        data = json.loads((HERE / "curves" / f"{name}.json").read_text())
        space = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) for k, v in data["space"].items()}
        return cls(name, space, data["configs"], np.array(data["curves"], dtype=float), int(data["steps"]))

    def encode(self, config: dict[str, Any]) -> np.ndarray:
        out: list[float] = []
        for name, spec in self.space.items():
            x = config[name]
            if spec[0] == "choice":
                out.extend(1.0 if x == option else 0.0 for option in spec[1])
                continue
            _, low, high, log = spec
            out.append((math.log(x) - math.log(low)) / (math.log(high) - math.log(low)) if log
                       else (x - low) / (high - low))
        return np.array(out)

    def lookup(self, config: dict[str, Any]) -> int:
        d = np.sum((self._encoded - self.encode(config)) ** 2, axis=1)
        return int(np.argmin(d))


@dataclass
class Outcome:
    #: (epochs spent so far, best full-budget value so far, simulated wall time) at every trial
    #: that ran the full budget
    trace: list[tuple[int, float, float]] = field(default_factory=list)
    n_trials: int = 0
    epochs: int = 0
    wall: float = 0.0
    best: float = math.inf  # best final value among trials that ran the full budget
    n_pruned: int = 0
    n_completed: int = 0
    decisions: list[tuple[int, int]] = field(default_factory=list)  # (trial, pruned at step)
    configs: list[dict[str, Any]] = field(default_factory=list)


class Sweep:
    """One method's side of the simulation: propose, hear a report, say prune or go on, hear the end."""

    def propose(self, number: int) -> dict[str, Any]:
        raise NotImplementedError

    def report(self, number: int, step: int, value: float, time: float) -> bool:
        raise NotImplementedError

    def end(self, number: int, value: float | None, pruned: bool) -> None:
        pass


class OurSweep(Sweep):
    """Random search with one of our pruners."""

    def __init__(self, task: Task, pruner: str, seed: int, min_resource: int = 1, reduction_factor: int = 3) -> None:
        self.task, self.rng = task, np.random.default_rng(seed)
        self.settings = PrunerSettings.from_mapping({
            "type": pruner, "max_resource": task.steps, "min_resource": min_resource,
            "reduction_factor": reduction_factor, "warmup_steps": min_resource})
        self.pruner = create_pruner(self.settings, "minimize")
        self.reports: dict[int, list[Report]] = {}

    def propose(self, number: int) -> dict[str, Any]:
        return sample(self.task.space, self.rng)

    def curves(self) -> dict[int, Curve]:
        return {t: Curve(tuple(r)) for t, r in self.reports.items()}

    def report(self, number: int, step: int, value: float, time: float) -> bool:
        self.reports.setdefault(number, []).append(Report(step, value, time))
        return self.pruner.should_prune(self.curves(), number, step)


def search_space(task: Task) -> Any:
    """The task's space as our SearchSpace (the Optuna dict form of ``SearchSpace.from_config``)."""
    from hpo_sweeper.space import SearchSpace

    specs: dict[str, Any] = {}
    for name, spec in task.space.items():
        if spec[0] == "choice":
            specs[name] = {"type": "categorical", "choices": list(spec[1])}
        else:
            specs[name] = {"type": spec[0], "low": spec[1], "high": spec[2], "log": bool(spec[3])}
    return SearchSpace.from_config(specs)


class BayesSweep(OurSweep):
    """Our ``bayes`` sweeper (JAX GP engine) with one of our pruners, fed as in a real sweep.

    As hpo_sweeper/sweep.py wires it: the optimiser's ``model_source`` is model_feed's, over every
    trial's curve so far and the trials that failed; ``feed`` picks what it fits
    (hpo_sweeper/pruning/model_feed.py: ``bohb``, BOHB's one budget with ``n_dims + 2``
    observations; ``rank``, every trial scored by the rung it reached and its rank there;
    ``fidelity``, one GP over (hyperparameters, log step) proposing at the full budget). A pruned
    or diverged trial is told as a failure (value None), as the sweep loop tells it. Four workers
    ask one configuration at a time while others run: the optimiser's pending points are the
    running trials (qEI fantasies), as in an async sweep. The model learns from the configuration
    it proposed; the value is its nearest neighbour's in the table (the same rule as for Optuna's
    TPE, whose trial params are also its proposals).
    """

    def __init__(self, task: Task, pruner: str, seed: int, min_resource: int = 1, reduction_factor: int = 3,
                 feed: str | None = None, random_fraction: float | None = None) -> None:
        super().__init__(task, pruner, seed, min_resource, reduction_factor)
        from hpo_sweeper.optimizers.bayes import BayesOptimizer
        from hpo_sweeper.pruning.model_data import model_observations
        from hpo_sweeper.pruning.model_feed import DEFAULT_FEED, RANDOM_FRACTION, feed_rows

        self.optimizer = BayesOptimizer(search_space(task), seed=seed, backend="jax")
        if pruner != "none":  # as sweep.py sets it with a pruner
            self.optimizer.random_fraction = RANDOM_FRACTION if random_fraction is None else random_fraction
        self.params: dict[int, dict[str, Any]] = {}
        self.failed: set[int] = set()
        self.feed = feed or DEFAULT_FEED
        #: (trials proposed so far, the budget the bohb feed fitted at or None, the trials fitted)
        self.fits: list[tuple[int, int | None, list[int]]] = []
        n_dims = len(task.space)

        def source() -> list[tuple[Any, ...]] | None:
            if self.settings.type.value == "none":
                return None  # no pruner: plain BO on the told final values (sweep.py sets no source)
            curves = self.curves()
            rows = feed_rows(self.feed, curves, self.settings, "minimize", n_dims, failed=self.failed)
            step = model_observations(curves, self.settings, min_observations=n_dims + 2).step \
                if self.feed == "bohb" else None
            self.fits.append((len(self.params), step, sorted({n for n, *_ in rows or ()})))
            return [(self.params[n], *rest) for n, *rest in rows] if rows else None

        self.optimizer.model_source = source

    def propose(self, number: int) -> dict[str, Any]:
        params = self.params[number] = self.optimizer.ask(1)[0]
        return params

    def end(self, number: int, value: float | None, pruned: bool) -> None:
        if value is None and not pruned:
            self.failed.add(number)
        self.optimizer.tell([self.params[number]], [value])


class OptunaSweep(Sweep):
    def __init__(self, task: Task, sampler: str, pruner: str, seed: int, min_resource: int = 1,
                 reduction_factor: int = 3, enqueue: list[dict[str, Any]] | None = None) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.task, self.optuna = task, optuna
        pruners = {
            "none": optuna.pruners.NopPruner(),
            "median": optuna.pruners.MedianPruner(n_warmup_steps=min_resource),
            # Optuna's own defaults (SHA: min_resource "auto", reduction_factor 4; Hyperband: max "auto")
            "sha-default": optuna.pruners.SuccessiveHalvingPruner(),
            "hyperband-default": optuna.pruners.HyperbandPruner(),
            "sha": optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource,
                                                         reduction_factor=reduction_factor),
            "hyperband": optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=task.steps,
                                                        reduction_factor=reduction_factor),
        }
        samplers = {"tpe": lambda: optuna.samplers.TPESampler(seed=seed),
                    "random": lambda: optuna.samplers.RandomSampler(seed=seed)}
        self.study = optuna.create_study(study_name=f"bench-{seed}", sampler=samplers[sampler](),
                                         pruner=pruners[pruner])
        for params in enqueue or []:
            self.study.enqueue_trial(params)
        self.trials: dict[int, Any] = {}

    def propose(self, number: int) -> dict[str, Any]:
        trial = self.trials[number] = self.study.ask()
        out: dict[str, Any] = {}
        for name, spec in self.task.space.items():
            if spec[0] == "choice":
                out[name] = trial.suggest_categorical(name, list(spec[1]))
            elif spec[0] == "int":
                out[name] = trial.suggest_int(name, spec[1], spec[2], log=spec[3])
            else:
                out[name] = trial.suggest_float(name, spec[1], spec[2], log=spec[3])
        return out

    def report(self, number: int, step: int, value: float, time: float) -> bool:
        trial = self.trials[number]
        trial.report(value, step)
        return bool(trial.should_prune())

    def end(self, number: int, value: float | None, pruned: bool) -> None:
        state = self.optuna.trial.TrialState
        if pruned:
            self.study.tell(self.trials[number], state=state.PRUNED)
        elif value is None:
            self.study.tell(self.trials[number], state=state.FAIL)
        else:
            self.study.tell(self.trials[number], value)


def simulate(task: Task, sweep: Sweep, budget: int, workers: int) -> Outcome:
    """Run until ``budget`` epochs are spent: no trial starts after that, running ones finish."""
    out = Outcome()
    events: list[tuple[float, int, int, int, int]] = []  # (time, seq, trial, step, config index)
    seq = 0

    def start(number: int, now: float) -> None:
        nonlocal seq
        config = sweep.propose(number)
        out.configs.append(config)
        heapq.heappush(events, (now + 1.0, seq, number, 1, task.lookup(config)))
        seq += 1

    started = 0
    while started < workers:
        start(started, 0.0)
        started += 1
    while events:
        now, order, number, step, index = heapq.heappop(events)
        out.epochs += 1
        value = float(task.curves[index, step - 1])
        ended = True
        if math.isnan(value):
            sweep.end(number, None, pruned=False)
        elif sweep.report(number, step, value, float(order)):
            sweep.end(number, None, pruned=True)
            out.n_pruned += 1
            out.decisions.append((number, step))
        elif step == task.steps:
            sweep.end(number, value, pruned=False)
            out.n_completed += 1
            out.best = min(out.best, value)
            out.trace.append((out.epochs, out.best, now))
        else:
            heapq.heappush(events, (now + 1.0, seq, number, step + 1, index))
            seq += 1
            ended = False
        out.wall = max(out.wall, now)
        if ended and out.epochs < budget:
            start(started, now)
            started += 1
    out.n_trials = started
    return out


def best_within(out: Outcome, epochs: float) -> float:
    """The best full-budget value found with at most ``epochs`` spent (inf when none)."""
    return min((best for spent, best, _ in out.trace if spent <= epochs), default=math.inf)


METHODS: dict[str, Callable[..., Sweep]] = {
    "random": lambda task, seed, r, eta=3: OurSweep(task, "none", seed, r),
    "random+median": lambda task, seed, r, eta=3: OurSweep(task, "median", seed, r),
    "random+asha": lambda task, seed, r, eta=3: OurSweep(task, "asha", seed, r, eta),
    "random+hyperband": lambda task, seed, r, eta=3: OurSweep(task, "hyperband", seed, r, eta),
    "bayes": lambda task, seed, r, eta=3: BayesSweep(task, "none", seed, r),
    "bayes+asha": lambda task, seed, r, eta=3: BayesSweep(task, "asha", seed, r, eta),
    "bayes+hyperband": lambda task, seed, r, eta=3: BayesSweep(task, "hyperband", seed, r, eta),
    # the candidate feeds, named: bayes[<feed>]+<pruner> (bayes+X uses model_feed.DEFAULT_FEED)
    # bayes[<feed>,<random fraction>]+X
    **{f"bayes[{feed},{rf}]+{p}": (lambda feed, p, rf: lambda task, seed, r, eta=3: BayesSweep(
        task, p, seed, r, eta, feed=feed, random_fraction=float(Fraction(rf))))(feed, p, rf)
       for feed in ("bohb", "rank", "fidelity") for p in ("asha", "hyperband") for rf in ("0", "1/3", "1/2")},
    "optuna-tpe": lambda task, seed, r, eta=3: OptunaSweep(task, "tpe", "none", seed, r, eta),
    "optuna-tpe+median": lambda task, seed, r, eta=3: OptunaSweep(task, "tpe", "median", seed, r, eta),
    "optuna-tpe+sha": lambda task, seed, r, eta=3: OptunaSweep(task, "tpe", "sha", seed, r, eta),
    "optuna-tpe+hyperband": lambda task, seed, r, eta=3: OptunaSweep(task, "tpe", "hyperband", seed, r, eta),
    "optuna-tpe+sha-default": lambda task, seed, r, eta=3: OptunaSweep(task, "tpe", "sha-default", seed, r, eta),
    "optuna-tpe+hyperband-default": lambda task, seed, r, eta=3: OptunaSweep(task, "tpe", "hyperband-default", seed, r, eta),
}
