"""Gaussian-process Bayesian optimisation, engine-agnostic.

This front owns everything the two engines share: the space-filling initial
design, the direction, failed trials (``on_failure``), pending points of a batch
and the guarantee that a proposal is never a repeat. It encodes every told trial and
every pending point to GP features once (``SearchSpace.to_features``), and decodes
each proposal once. An engine only answers, over arrays and an explicit state: "given
these observations (minimised) and these pending points, propose q new feature rows"
(``hpo_sweeper.engines.base``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from hpo_sweeper.engines.base import ENGINE_MODULES, Engine, load_engine
from hpo_sweeper.optimizers.base import Optimizer, OptimizerError
from hpo_sweeper.optimizers.random_search import SAMPLERS, UnitCubeSampler, equal_level_cells
from hpo_sweeper.space import FeatureLayout, Kind, SearchSpace

__all__ = ["ACQ_FUNCS", "BACKENDS", "BayesOptimizer", "default_initial_points"]

log = logging.getLogger("hpo_sweeper")

#: backend -> the module of its engine (``init``/``suggest``); imported only when chosen.
BACKENDS: dict[str, str] = ENGINE_MODULES
#: Engines whose first suggestion compiles programs (worth warming up in the background).
COMPILING_BACKENDS = frozenset({"jax"})
ACQ_FUNCS = ("EI", "PI", "LCB", "UCB", "gp_hedge")
ON_FAILURE = ("worst", "ignore")
#: While the background warm-up still compiles when the design is used up: "design" proposes
#: further design points (the design sequence continued) until it is done, instead of waiting;
#: "wait" waits, so that the proposals of a seed never depend on how fast the machine compiled;
#: "auto" (the default) is "wait" for a seeded sweep (a seed promises the same trials on any
#: machine at any load) and "design" otherwise.
COMPILE_WAIT = ("auto", "design", "wait")
#: "qei": fantasies of the pending points (jax engine; skopt reads it as cl_min); "cl_*": a constant lie
BATCH_STRATEGIES = ("qei", "cl_min", "cl_mean", "cl_max")


def default_initial_points(n_dims: int, n_trials: int | None) -> int:
    """Space-filling trials before the GP is used: 2 per dimension, 5 to 20, and at
    most a third of a known budget so small sweeps still get model-guided trials."""
    n = max(5, min(2 * n_dims, 20))
    if n_trials is not None:
        n = min(n, max(3, n_trials // 3))
    return n


class BayesOptimizer(Optimizer):
    """GP-based ask/tell optimiser with a pluggable engine (``backend``)."""

    # With direction a list (issue #16) the JAX backend proposes by LogEHVI, one GP per objective
    # (engines/jax_gp/multiobjective.py); the skopt backend refuses it by name.
    supports_multi_objective = True

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int | None = None,
        direction: str = "minimize",
        backend: str = "jax",
        n_initial_points: int | None = None,
        initial_design: str = "sobol",
        acq_func: str = "EI",
        xi: float = 0.01,
        kappa: float = 1.96,
        on_failure: str = "worst",
        batch_strategy: str = "qei",
        n_trials: int | None = None,
        engine_options: Mapping[str, Any] | None = None,
        constraints: Mapping[str, Any] | None = None,
        constraints_oom: str = "failed",
        ref_point: Sequence[float] | None = None,
        compile_wait: str = "auto",
    ) -> None:
        super().__init__(space, seed=seed, direction=direction)
        _check_choice("backend", backend, tuple(BACKENDS))
        if self.n_objectives > 1 and backend != "jax":
            raise OptimizerError(f"backend={backend!r} cannot run a multi-objective sweep (direction={direction!r}): "
                                 "use backend=jax, whose LogEHVI models each objective")
        from hpo_sweeper.constraints import OOM_CHOICES, model_bounds, parse_constraints

        _check_choice("constraints_oom", constraints_oom, OOM_CHOICES)
        #: (k, 2) [lower, upper] of each modelled constraint column; None: an unconstrained model.
        self._constraint_bounds: np.ndarray | None = None
        if constraints or constraints_oom == "infeasible":
            self._constraint_bounds = model_bounds(parse_constraints(constraints, error=OptimizerError),
                                                   constraints_oom == "infeasible")
            if backend != "jax":
                raise OptimizerError(f"backend={backend!r} cannot model constraints (constraints or "
                                     "constraints_oom=infeasible): use backend=jax, which weights its acquisition by "
                                     "each constraint's probability of feasibility")
        if ref_point is not None and (self.n_objectives == 1 or len(ref_point) != self.n_objectives):
            raise OptimizerError(f"ref_point must hold one number per objective ({self.n_objectives}), got "
                                 f"{list(ref_point)!r}")
        #: the hypervolume reference point, minimised (a maximised objective's entry negated)
        self._ref_point = None if ref_point is None else np.array(
            [d.to_minimize(float(v)) for d, v in zip(self.directions, ref_point)])
        self._mo_state: Any = None
        _check_choice("initial_design", initial_design, SAMPLERS)
        _check_choice("acq_func", acq_func, ACQ_FUNCS)
        _check_choice("on_failure", on_failure, ON_FAILURE)
        _check_choice("batch_strategy", batch_strategy, BATCH_STRATEGIES)
        _check_choice("compile_wait", compile_wait, COMPILE_WAIT)
        self.compile_wait = compile_wait
        self._design_while_compiling = compile_wait == "design" or (compile_wait == "auto" and seed is None)
        #: design points proposed beyond n_initial_points while the warm-up was compiling
        self._n_extra_design = 0
        if n_initial_points is not None and (
            isinstance(n_initial_points, bool) or not isinstance(n_initial_points, int) or n_initial_points < 1
        ):
            raise OptimizerError(f"n_initial_points must be an integer >= 1, got {n_initial_points!r}")
        for name, value in (("xi", xi), ("kappa", kappa)):
            # inf would ignore the model altogether (nan: no ordering at all): a changed meaning.
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise OptimizerError(f"{name} must be a finite number >= 0, got {value!r}")
        self.backend = backend
        self.on_failure = on_failure
        self.n_initial_points = (
            n_initial_points if n_initial_points is not None else default_initial_points(len(space), n_trials)
        )
        self._design = UnitCubeSampler(len(space), initial_design, seed, budget=self.n_initial_points)
        self._fallback_rng = np.random.default_rng(None if seed is None else seed + 7919)
        self._n_design_used = 0
        #: proposed, not yet told: space key -> (configuration, its feature row)
        self._pending: dict[tuple[Any, ...], tuple[dict[str, Any], np.ndarray]] = {}
        self._seen: set[tuple[Any, ...]] = set()
        #: feature row of each told trial, in tell order (encoded once: ``_encoded_history``)
        self._told_features = np.zeros((0, space.layout.n_features))
        self._told_values = np.zeros(0)
        #: With a pruner (set by the sweep, hpo_sweeper/pruning/model_feed.py): what the model fits
        #: instead of the told history, (configuration, value) pairs, or (configuration, value,
        #: fidelity) triples for a multi-fidelity model (fidelity in [0, 1], 1 = the full budget:
        #: the GP gets it as one more feature, and proposes at 1); None when there is nothing to
        #: fit yet (then the told history, pruned trials as failures).
        self.model_source: Callable[[], list[tuple[Any, ...]] | None] | None = None
        self._fidelity_state: Any = None  # the engine over the features + the fidelity column
        #: With a pruner (set by the sweep, model_feed.RANDOM_FRACTION): this share of the proposals
        #: after the initial design is drawn at random, evenly interleaved (every 1/fraction-th), as
        #: BOHB does; a pruned random trial costs little and keeps the model from staying in one place.
        self.random_fraction = 0.0
        self._n_interleaved = 0
        self._interleave_rng = np.random.default_rng(None if seed is None else seed + 104729)
        engine_options = dict(engine_options or {})
        if backend == "jax":
            from hpo_sweeper.engines.jax_cache import enable_compilation_cache

            # compilation_cache: a folder, true (default folder) or false.
            enable_compilation_cache(_check_compilation_cache(engine_options.pop("compilation_cache", None)))
        self.engine: Engine = load_engine(backend)
        # The engine's random streams: the seed, or fresh entropy (drawn once: reproducible within a run).
        entropy = seed if seed is not None else np.random.SeedSequence().entropy
        self._entropy = int(entropy) % (2**63)  # type: ignore[arg-type]
        try:
            self.engine_config = self.engine.make_config(
                seed=self._entropy, acq_func=acq_func, xi=xi, kappa=kappa, batch_strategy=batch_strategy,
                **engine_options,
            )
        except TypeError as e:
            raise OptimizerError(f"bad engine_options for backend {backend!r}: {e}") from None
        self.engine_state: Any = self.engine.init(space.layout, self.engine_config)
        self._engine_calls = 0
        self._warmup = _Warmup(self.engine, space, self.engine_config) if (
            backend in COMPILING_BACKENDS and self.n_objectives == 1 and self._constraint_bounds is None
        ) else None  # it compiles the unconstrained 1-objective GP

    # --- ask ----------------------------------------------------------------------------------

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        # Results told so far (an earlier run, a warm start) count toward the initial design.
        n_design = min(n, max(0, self.n_initial_points - max(self._n_design_used, len(self.history))))
        joint = self.n_objectives > 1 or self._constraint_bounds is not None
        X, y, C = self._joint_observations() if joint else (*self._observations(), None)
        if len(y) < 2:  # a GP needs at least two finite results; keep filling the space
            n_design = n
        elif n_design < n and self._still_compiling():
            # Issue #20: the first model-guided trial waited 11-22 s for the compiler on a loaded
            # machine. A design point now is worth more than an idle worker; the warm-up keeps going.
            # Not capped: at load 12 the compile outlasted n_initial_points extra instant trials
            # (benchmarks/notes/issue20_scale.md); the compile time itself bounds the extra design.
            extra = n - n_design
            if self._n_extra_design == 0:
                log.info("GP programs still compiling: proposing initial-design points instead of waiting")
            self._n_extra_design += extra
            n_design += extra
        if n_design:
            self._n_design_used += n_design
            design = self.space.from_unit(equal_level_cells(self.space, self._design.draw(n_design)))
            out += self._unique(design, n_design)
            if self._warmup is not None and len(out) == n:
                # The GP is not needed yet: compile its programs while the design trials run.
                self._warmup.start(n)
        if len(out) < n and self.random_fraction > 0:
            slots = range(self._n_interleaved, self._n_interleaved + n - len(out))
            self._n_interleaved += len(slots)
            rf = self.random_fraction
            n_random = sum(math.floor((i + 1) * rf) > math.floor(i * rf) for i in slots)
            if n_random:
                U = self._interleave_rng.random((n_random, len(self.space)))
                out += self._unique(self.space.from_unit(equal_level_cells(self.space, U)), n_random)
        if len(out) < n:
            if self._warmup is not None:
                self._warmup.join()
            X_pending = np.concatenate(
                [np.array([row for _, row in self._pending.values()]).reshape(-1, self.space.layout.n_features),
                 self.space.to_features(out)]
            )
            fidelity = not joint and X.shape[1] == self.space.layout.n_features + 1
            if joint:
                from hpo_sweeper.engines.jax_gp.multiobjective import suggest_multiobjective

                # One GP per objective and constraint (multiobjective.py); with one objective its
                # exact 1-d LogEHVI is LogEI at the best feasible value, times P(feasible).
                # The state counts the calls, so the same seed gives a fresh stream each call.
                X_new, self._mo_state = suggest_multiobjective(
                    X, y, self._entropy % 2**31, q=n - len(out), X_pending=X_pending, state=self._mo_state,
                    C=C, constraint_bounds=self._constraint_bounds, ref_point=self._ref_point,
                    snap=self._snap_joint,
                )
            elif fidelity:
                # Multi-fidelity rows: pending points and proposals sit at the full budget (fidelity 1,
                # the layout's only level of that column), then the column is dropped.
                if self._fidelity_state is None:
                    self._fidelity_state = self.engine.init(_with_fidelity(self.space.layout), self.engine_config)
                X_pending = np.column_stack([X_pending, np.ones(len(X_pending))])
                X_new, self._fidelity_state = self.engine.suggest(
                    self._fidelity_state, X, y, X_pending, n - len(out), (self._entropy, self._engine_calls)
                )
                X_new = X_new[:, :-1]
            else:
                X_new, self.engine_state = self.engine.suggest(
                    self.engine_state, X, y, X_pending, n - len(out), (self._entropy, self._engine_calls)
                )
            self._engine_calls += 1
            out += self._unique(self.space.from_features(X_new), n - len(out))
        for p, row in zip(out, self.space.to_features(out)):
            self._pending[self.space.key(p)] = (p, row)
        return out

    @property
    def _snap_joint(self) -> Any:
        """The multi-objective / constrained acquisition is scored only at configurations the
        sweep can run (integers, levels, one category; conditional branches pruned) where the
        space has any: on the example app's integer width and depth this took the hypervolume gap
        from 3.01 to 0.70 (benchmarks/notes/issue16_multiobjective_hypervolume.md, section 5).
        A continuous space keeps the relaxed search (None), whose proposals it cannot change."""
        layout = self.space.layout
        discrete = (bool(np.any(layout.n_levels > 0)) or bool(layout.categorical) or bool(layout.inactive)
                    or any(k is not Kind.FLOAT for k in layout.kind))
        return self.space.snap_features if discrete else None

    def _still_compiling(self) -> bool:
        return self._design_while_compiling and self._warmup is not None and self._warmup.busy()

    def _unique(self, proposals: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
        """Keep proposals not seen before; replace repeats by unseen random points."""
        out = []
        for p in proposals:
            k = self.space.key(p)
            if k not in self._seen and not self.space.is_forbidden(p):
                self._seen.add(k)
                out.append(p)
        tries = 0
        while len(out) < n and tries < 200:
            tries += 1
            p = self.space.from_unit(equal_level_cells(self.space, self._fallback_rng.random((1, len(self.space)))))[0]
            k = self.space.key(p)
            if k not in self._seen and not self.space.is_forbidden(p):
                self._seen.add(k)
                out.append(p)
        if len(out) < n and self.space.is_finite():
            # Small finite spaces: enumerate what is left rather than hope to hit it at random.
            # Lazily, a chunk at a time: the grid of a large finite space is never listed.
            from hpo_sweeper.optimizers.grid import GridSearch

            grid = GridSearch(self.space, n_trials=self.space.cardinality())
            while len(out) < n and (chunk := grid.ask(256)):
                for p in chunk:
                    k = self.space.key(p)
                    if k not in self._seen and len(out) < n:
                        self._seen.add(k)
                        out.append(p)
        return out

    def resume(self, n_proposed: int) -> None:
        n = min(n_proposed, max(0, self.n_initial_points - self._n_design_used))
        self._design.skip(n)
        self._n_design_used += n

    # --- tell ---------------------------------------------------------------------------------

    def _observe(self, params: dict[str, Any], value: float | None) -> None:
        k = self.space.key(params)
        self._pending.pop(k, None)
        self._seen.add(k)

    def _encoded_history(self) -> tuple[np.ndarray, np.ndarray]:
        """``X: (len(history), D)`` features of every told trial and ``v: (len(history),)`` their
        values, minimised, NaN where failed. Each trial is encoded once: the ones told since
        the last call, in one vectorised ``to_features``."""
        new = self.history[len(self._told_values):]
        if new:
            X_new = self.space.to_features([p for p, _ in new])
            v_new = np.array([math.nan if v is None else self.to_minimize(v) for _, v in new], dtype=float)
            self._told_features = np.concatenate([self._told_features, X_new])
            self._told_values = np.concatenate([self._told_values, v_new])
        return self._told_features, self._told_values

    def _joint_observations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """For the one-GP-per-output model: ``X: (n, D)`` features, ``Y: (n, m)`` values, minimised,
        and (constrained) ``C: (n, k)`` constraint values of the trials it learns from.

        Those are the trials with values (feasible or not) and, in a constrained sweep, the ones that
        crashed out of memory (constraints_oom=infeasible): their values are imputed as the worst seen
        on each objective, their constraint cells as the worst violation (``constraints.model_rows``).
        A failed trial says nothing of either: it is left out, its point stays seen. A told value
        with no constraint record (a Python caller's tell() without ``constraints=``) is left out
        of a constrained model, which cannot judge its feasibility."""
        from hpo_sweeper.constraints import model_rows
        from hpo_sweeper.pareto import to_minimize

        m, bounds = self.n_objectives, self._constraint_bounds
        records = self.constraint_history + [None] * (len(self.history) - len(self.constraint_history))
        rows = [i for i, ((_, v), c) in enumerate(zip(self.history, records))
                if (c is not None or bounds is None) and (v is not None or c is not None)]
        if not rows:
            empty_c = None if bounds is None else np.zeros((0, len(bounds)))
            return np.zeros((0, self.space.layout.n_features)), np.zeros((0, m)), empty_c
        X = self.space.to_features([self.history[i][0] for i in rows])
        raw = [self.history[i][1] for i in rows]
        vec = [None if v is None else ([v] if m == 1 else v) for v in raw]
        directions = self.directions if m > 1 else [self.direction]
        Y = np.full((len(rows), m), np.nan)
        for j, v in enumerate(vec):
            if v is not None:
                Y[j] = to_minimize(np.array([v], dtype=float), directions)[0]
        missing = np.isnan(Y).any(axis=1)
        if missing.any():
            # Worst seen: a crashed trial is no better than any measured one (0 when none is measured).
            Y[missing] = np.nanmax(Y[~missing], axis=0) if (~missing).any() else 0.0
        if bounds is None:
            return X, Y, None
        return X, Y, model_rows([records[i] for i in rows], bounds)

    def _observations(self) -> tuple[np.ndarray, np.ndarray]:
        """``X: (n, D)`` told features and ``y: (n,)`` their values, minimised, with failures
        handled: successes in tell order, then (``on_failure="worst"``) the failures."""
        pairs = self.model_source() if self.model_source is not None else None
        if pairs:
            X_m = self.space.to_features([p[0] for p in pairs])
            if len(pairs[0]) == 3:  # (configuration, value, fidelity): the fidelity is one more feature
                X_m = np.column_stack([X_m, np.array([p[2] for p in pairs], dtype=float)])
            return X_m, np.array([self.to_minimize(p[1]) for p in pairs], dtype=float)
        X, v = self._encoded_history()
        ok = ~np.isnan(v)
        if self.on_failure == "worst" and ok.any():
            rows = np.concatenate([np.flatnonzero(ok), np.flatnonzero(~ok)])
            y = np.concatenate([v[ok], np.full(int((~ok).sum()), np.max(v[ok]))])
            return X[rows], y
        return X[ok], v[ok]


class _Warmup:
    """Compiles an engine's programs in a background thread, once.

    A JAX engine compiles its fit and acquisition programs on first use: seconds of
    work that would delay the first model-guided batch. While the initial design
    runs (in launcher workers, or in this process's main thread) the sweeper is
    otherwise idle, so a throwaway engine state suggests once on made-up data: the
    compiled programs are cached by JAX and shared with the real engine. The real
    engine's state and random streams are untouched, so results do not change.
    """

    def __init__(self, engine: Engine, space: SearchSpace, config: Any) -> None:
        self.engine, self.space, self.config = engine, space, config
        self.thread: threading.Thread | None = None

    def start(self, batch_size: int) -> None:
        if self.thread is None:
            # Not a daemon: the interpreter must wait for it at exit. A daemon thread still inside
            # XLA's compiler when Python finalises aborts the process (SIGABRT, exit 134) after a
            # sweep that succeeded; compilation cannot be cancelled, so exit waits for it instead.
            self.thread = threading.Thread(target=self._run, args=(batch_size,), name="hpo-gp-warmup", daemon=False)
            self.thread.start()

    def busy(self) -> bool:
        """Started and not finished (a failed warm-up is finished too)."""
        return self.thread is not None and self.thread.is_alive()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def _run(self, batch_size: int) -> None:
        try:
            rng = np.random.default_rng(0)
            layout = self.space.layout
            X = self.space.to_features(self.space.from_unit(rng.random((3, len(self.space)))))
            state = self.engine.init(layout, self.config)
            self.engine.suggest(state, X, rng.random(3), np.zeros((0, layout.n_features)), batch_size, (0, 0))
        except Exception as e:
            log.debug("GP warm-up failed: %s", e)


def _with_fidelity(layout: FeatureLayout) -> FeatureLayout:
    """``layout`` and one more numeric column, the fidelity, whose only level is 1.0: every
    candidate the engine draws or refines snaps to the full budget (``snap_to_levels``), while the
    observations keep their own fidelities."""
    D, n_num = layout.n_features, len(layout.numeric)
    levels = np.full((n_num + 1, max(2, layout.levels.shape[1])), np.inf)
    levels[:n_num, : layout.levels.shape[1]] = layout.levels
    levels[n_num, 0] = 1.0
    return dataclasses.replace(
        layout, n_features=D + 1, numeric=(*layout.numeric, D), numeric_levels=(*layout.numeric_levels, np.ones(1)),
        levels=levels, n_levels=np.append(layout.n_levels, 1).astype(layout.n_levels.dtype))


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise OptimizerError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _check_compilation_cache(value: Any) -> str | os.PathLike[str] | bool | None:
    """The jax engine option ``compilation_cache``: a folder path, true, false or null.

    A number (``compilation_cache=5``) is none of them; the cache code would silently skip it."""
    if value is None or isinstance(value, (bool, os.PathLike)) or (isinstance(value, str) and value.strip()):
        return value
    raise OptimizerError(
        "engine option compilation_cache must be a folder path, true or false, "
        f"got {value!r} (quote a folder whose name is a number: compilation_cache='5')"
    )
