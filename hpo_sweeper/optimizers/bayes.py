"""Gaussian-process Bayesian optimisation, engine-agnostic.

This front owns everything the two engines share: the space-filling initial
design, the direction, failed trials (``on_failure``), pending points of a batch
and the guarantee that a proposal is never a repeat. An engine only answers:
"given these observations (minimised) and these pending points, propose n new
configurations" (``hpo_sweeper.engines.base.Engine``).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_sweeper.optimizers.base import Optimizer, OptimizerError
from hpo_sweeper.optimizers.random_search import SAMPLERS, UnitCubeSampler, equal_level_cells
from hpo_sweeper.space import SearchSpace

__all__ = ["ACQ_FUNCS", "BACKENDS", "BayesOptimizer", "default_initial_points"]

log = logging.getLogger("hpo_sweeper")

#: backend -> "module:class" of its engine; imported only when chosen.
BACKENDS: dict[str, str] = {
    "skopt": "hpo_sweeper.engines.skopt_engine:SkoptEngine",
    "jax": "hpo_sweeper.engines.jax_gp.engine:JaxEngine",
}
#: Engines whose first suggestion compiles programs (worth warming up in the background).
COMPILING_BACKENDS = frozenset({"jax"})
ACQ_FUNCS = ("EI", "PI", "LCB", "UCB", "gp_hedge")
ON_FAILURE = ("worst", "ignore")
BATCH_STRATEGIES = ("cl_min", "cl_mean", "cl_max")


def default_initial_points(n_dims: int, n_trials: int | None) -> int:
    """Space-filling trials before the GP is used: 2 per dimension, 5 to 20, and at
    most a third of a known budget so small sweeps still get model-guided trials."""
    n = max(5, min(2 * n_dims, 20))
    if n_trials is not None:
        n = min(n, max(3, n_trials // 3))
    return n


class BayesOptimizer(Optimizer):
    """GP-based ask/tell optimiser with a pluggable engine (``backend``)."""

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
        batch_strategy: str = "cl_min",
        n_trials: int | None = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(space, seed=seed, direction=direction)
        _check_choice("backend", backend, tuple(BACKENDS))
        _check_choice("initial_design", initial_design, SAMPLERS)
        _check_choice("acq_func", acq_func, ACQ_FUNCS)
        _check_choice("on_failure", on_failure, ON_FAILURE)
        _check_choice("batch_strategy", batch_strategy, BATCH_STRATEGIES)
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
        self._pending: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._seen: set[tuple[Any, ...]] = set()
        engine_options = dict(engine_options or {})
        if backend == "jax":
            from hpo_sweeper.engines.jax_cache import enable_compilation_cache

            # compilation_cache: a folder, true (default folder) or false.
            enable_compilation_cache(_check_compilation_cache(engine_options.pop("compilation_cache", None)))
        module_name, class_name = BACKENDS[backend].split(":")
        engine_cls = getattr(importlib.import_module(module_name), class_name)
        engine_args = dict(seed=seed, acq_func=acq_func, xi=xi, kappa=kappa, batch_strategy=batch_strategy,
                           **engine_options)
        try:
            self.engine = engine_cls(space, **engine_args)
        except TypeError as e:
            raise OptimizerError(f"bad engine_options for backend {backend!r}: {e}") from None
        self._warmup = _Warmup(engine_cls, space, engine_args) if backend in COMPILING_BACKENDS else None

    # --- ask ----------------------------------------------------------------------------------

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        # Results told so far (an earlier run, a warm start) count toward the initial design.
        n_design = min(n, max(0, self.n_initial_points - max(self._n_design_used, len(self.history))))
        X, y = self._observations()
        if len(y) < 2:  # a GP needs at least two finite results; keep filling the space
            n_design = n
        if n_design:
            self._n_design_used += n_design
            design = self.space.from_unit(equal_level_cells(self.space, self._design.draw(n_design)))
            out += self._unique(design, n_design)
            if self._warmup is not None and len(out) == n:
                # The GP is not needed yet: compile its programs while the design trials run.
                self._warmup.start(n)
        if len(out) < n:
            if self._warmup is not None:
                self._warmup.join()
            pending = list(self._pending.values()) + out
            proposals = self.engine.suggest(X, y, n - len(out), pending)
            out += self._unique(proposals, n - len(out))
        for p in out:
            self._pending[self.space.key(p)] = p
        return out

    def _unique(self, proposals: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
        """Keep proposals not seen before; replace repeats by unseen random points."""
        out = []
        for p in proposals:
            k = self.space.key(p)
            if k not in self._seen:
                self._seen.add(k)
                out.append(p)
        tries = 0
        while len(out) < n and tries < 200:
            tries += 1
            p = self.space.from_unit(equal_level_cells(self.space, self._fallback_rng.random((1, len(self.space)))))[0]
            k = self.space.key(p)
            if k not in self._seen:
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

    def _observations(self) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Told configurations and their values, minimised, with failures handled."""
        ok = [(p, self.to_minimize(v)) for p, v in self.history if v is not None]
        points = [p for p, _ in ok]
        values = [v for _, v in ok]
        if self.on_failure == "worst" and values:
            worst = max(values)
            failed = [p for p, v in self.history if v is None]
            points += failed
            values += [worst] * len(failed)
        return points, np.asarray(values, dtype=float)


class _Warmup:
    """Compiles an engine's programs in a background thread, once.

    A JAX engine compiles its fit and acquisition programs on first use: seconds of
    work that would delay the first model-guided batch. While the initial design
    runs (in launcher workers, or in this process's main thread) the sweeper is
    otherwise idle, so a throwaway engine suggests once on made-up data: the
    compiled programs are cached by JAX and shared with the real engine. The real
    engine's state and random stream are untouched, so results do not change.
    """

    def __init__(self, engine_cls: Any, space: SearchSpace, engine_args: dict[str, Any]) -> None:
        self.engine_cls, self.space, self.engine_args = engine_cls, space, engine_args
        self.thread: threading.Thread | None = None

    def start(self, batch_size: int) -> None:
        if self.thread is None:
            # Not a daemon: the interpreter must wait for it at exit. A daemon thread still inside
            # XLA's compiler when Python finalises aborts the process (SIGABRT, exit 134) after a
            # sweep that succeeded; compilation cannot be cancelled, so exit waits for it instead.
            self.thread = threading.Thread(target=self._run, args=(batch_size,), name="hpo-gp-warmup", daemon=False)
            self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def _run(self, batch_size: int) -> None:
        try:
            rng = np.random.default_rng(0)
            points = self.space.from_unit(rng.random((3, len(self.space))))
            engine = self.engine_cls(self.space, **self.engine_args)
            engine.suggest(points, rng.random(3), batch_size, [])
        except Exception as e:
            log.debug("GP warm-up failed: %s", e)


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
