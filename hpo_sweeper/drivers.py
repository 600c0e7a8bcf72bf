"""How trials run: drivers, and the trial events they give back to the sweep loop.

The loop (``hpo_sweeper.loop``) proposes trials, records them, and hands them to a
driver (``submit``); then it consumes the events the driver yields (``events``):
``Started``, ``Reported`` (an intermediate value, for pruning), ``Finished``,
``LaunchFailed`` when a launcher gave up on a whole batch, or ``Abandoned`` on Ctrl-C.
A driver says how many more trials it takes now (``capacity``), so one loop serves
every way of running:

* ``BatchDriver``: a ``launch`` callable that runs a batch and returns one
  ``JobResult`` per trial (Hydra's launchers). It takes a batch only when idle, and
  all its events arrive when ``launch`` returns.
* ``InlineDriver``: a Python objective called in this process, one trial at a time.
* ``ExecutorDriver``: a Python objective on any ``concurrent.futures.Executor``-style
  object, up to ``max_concurrent`` trials in flight, a new one the moment one ends.

A driver also knows its jobs' traces: whether a trial's job ``started`` (a job that
never started did not die, so it reruns without counting towards ``max_reruns``),
and whether a job of a dead sweep left its result (``recover``).
"""

from __future__ import annotations

import concurrent.futures
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpo_sweeper.trials import Trial, TrialPruned

__all__ = [
    "Abandoned", "BatchDriver", "Driver", "Event", "ExecutorDriver", "Finished", "InlineDriver", "JobResult",
    "LaunchFailed", "Reported", "Started", "call_objective",
]


@dataclass
class JobResult:
    """What one job gave back: its return value, or the error text when it failed."""

    returned: Any = None
    error: str | None = None
    started_at: float | None = None
    duration_s: float | None = None
    job_dir: str | None = None
    #: The job stopped itself on purpose (``TrialPruned``): recorded pruned, never rerun.
    pruned: bool = False


@dataclass
class Started:
    trial: Trial
    at: float


@dataclass
class Reported:
    """An intermediate value of a running trial (for pruners, issue #14)."""

    trial: Trial
    step: int
    value: Any


@dataclass
class Finished:
    trial: Trial
    result: JobResult


@dataclass
class Abandoned:
    """The user stopped the sweep (Ctrl-C) while this trial ran: it did not fail, nor die."""

    trial: Trial


@dataclass
class LaunchFailed:
    """The launcher raised for a whole batch (a worker process died and took the pool with it)."""

    trials: list[Trial]
    error: Exception


Event = Started | Reported | Finished | LaunchFailed | Abandoned


class Driver(ABC):
    """Runs the trials the loop submits and yields what happens to them."""

    @abstractmethod
    def capacity(self) -> int:
        """How many more trials it takes now (0: wait for events first)."""

    @abstractmethod
    def in_flight(self) -> int:
        """Trials submitted whose ``Finished`` (or ``LaunchFailed``) was not yielded yet."""

    @abstractmethod
    def submit(self, trials: list[Trial]) -> None:
        """Start ``trials`` (already recorded ``running`` in the store)."""

    @abstractmethod
    def events(self) -> Iterator[Event]:
        """Events until at least one trial finished (none when nothing is in flight).

        A generator: the loop records each event before the next is made, so a
        ``Started`` is in the store before the trial's work begins."""

    def describe(self) -> str:
        """How it runs trials, for the sweep's first log line."""
        return type(self).__name__

    def started(self, trial: Trial) -> bool:
        """Whether ``trial``'s job started, for a trial left running by a dead sweep."""
        return trial.started_at is not None

    def recover(self, trial: Trial) -> JobResult | None:
        """The result of a job that finished after the sweep's last save, if it left one."""
        return None

    def validate(self, params: list[dict[str, Any]]) -> None:  # noqa: B027 - optional hook
        """Raise ``SweepConfigError`` if these configurations cannot become jobs."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop what is still running (the sweep stopped with trials in flight)."""


Launch = Callable[[list[Trial]], Sequence[JobResult]]


class BatchDriver(Driver):
    """A batch at a time through ``launch`` (blocking), as Hydra's launchers run jobs."""

    def __init__(
        self,
        launch: Launch,
        batch_size: int,
        *,
        started: Callable[[Trial], bool] | None = None,
        recover: Callable[[Trial], JobResult | None] | None = None,
        validate: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.launch, self.batch_size = launch, batch_size
        self._started, self._recover, self._validate = started, recover, validate
        self._events: list[Event] = []

    def capacity(self) -> int:
        return 0 if self._events else self.batch_size

    def describe(self) -> str:
        return f"batch_size={self.batch_size}"

    def in_flight(self) -> int:
        return sum(len(e.trials) if isinstance(e, LaunchFailed) else 1 for e in self._events)

    def submit(self, trials: list[Trial]) -> None:
        t0 = time.time()
        try:
            results = list(self.launch(trials))
        except Exception as e:
            self._events = [LaunchFailed(trials, e)]
            return
        if len(results) != len(trials):
            raise RuntimeError(f"the launcher returned {len(results)} results for a batch of {len(trials)}")
        elapsed = time.time() - t0
        for t, r in zip(trials, results):
            # A job that kept no timing of its own is timed by its batch.
            if r.started_at is None:
                r.started_at = t0
            if r.duration_s is None:
                r.duration_s = elapsed
            self._events.append(Finished(t, r))

    def events(self) -> Iterator[Event]:
        events, self._events = self._events, []
        yield from events

    def started(self, trial: Trial) -> bool:
        # Without its own trace of starts, every unfinished job of a dead process counts as having died.
        return True if self._started is None else self._started(trial)

    def recover(self, trial: Trial) -> JobResult | None:
        return None if self._recover is None else self._recover(trial)

    def validate(self, params: list[dict[str, Any]]) -> None:
        if self._validate is not None:
            self._validate(params)


Objective = Callable[[dict[str, Any]], Any]


def call_objective(objective: Objective, params: Mapping[str, Any], trial: tuple[str, int] | None = None
                   ) -> JobResult:
    """Run ``objective(params)`` once and say what came of it; never raises but for
    ``KeyboardInterrupt`` and ``SystemExit`` (the user stopping the sweep). Module-level,
    so that process pools can pickle it. ``trial``: (sweep dir, number), for which
    ``hpo_sweeper.report``/``should_prune`` work inside the objective."""
    started = time.time()
    try:
        if trial is None:
            returned = objective(dict(params))
        else:
            from hpo_sweeper.reporting import running_trial

            with running_trial(*trial):
                returned = objective(dict(params))
    except TrialPruned as e:
        return JobResult(error=_error_text(e) if str(e) else None, started_at=started,
                         duration_s=time.time() - started, pruned=True)
    except Exception as e:
        return JobResult(error=_error_text(e), started_at=started, duration_s=time.time() - started)
    return JobResult(returned=returned, started_at=started, duration_s=time.time() - started)


def _channel(sweep_dir: str | None, trial: Trial) -> tuple[str, int] | None:
    return None if sweep_dir is None else (sweep_dir, trial.number)


def _error_text(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip()


class InlineDriver(Driver):
    """The objective called in this process, one trial after another."""

    def __init__(self, objective: Objective, sweep_dir: str | None = None) -> None:
        self.objective = objective
        self.sweep_dir = sweep_dir  # where the objective's reports go (None: no pruning channel)
        self._queue: list[Trial] = []

    def capacity(self) -> int:
        return 0 if self._queue else 1

    def describe(self) -> str:
        return "one trial at a time"

    def in_flight(self) -> int:
        return len(self._queue)

    def submit(self, trials: list[Trial]) -> None:
        self._queue.extend(trials)

    def events(self) -> Iterator[Event]:
        if not self._queue:
            return
        trial = self._queue[0]
        yield Started(trial, time.time())  # recorded before the work: a kill now is a death
        try:
            result = call_objective(self.objective, trial.params, _channel(self.sweep_dir, trial))
        except KeyboardInterrupt:
            # Unmarked, a resumed sweep runs it again without counting a death (max_reruns).
            self._queue.pop(0)
            yield Abandoned(trial)
            raise
        self._queue.pop(0)
        yield Finished(trial, result)


class ExecutorDriver(Driver):
    """The objective on an executor (``submit(fn, *args) -> Future``): a process pool, a
    ``dask.distributed.Client``, submitit's executor. Up to ``max_concurrent`` trials run at
    once; the loop proposes the next one the moment one finishes, with the others pending."""

    def __init__(self, executor: Any, objective: Objective, max_concurrent: int, sweep_dir: str | None = None
                 ) -> None:
        self.executor, self.objective, self.max_concurrent = executor, objective, max_concurrent
        self.sweep_dir = sweep_dir  # where the objective's reports go (None: no pruning channel)
        self._futures: dict[Any, Trial] = {}
        self._announced: set[int] = set()

    def capacity(self) -> int:
        return self.max_concurrent - len(self._futures)

    def describe(self) -> str:
        return f"asynchronous, max_concurrent={self.max_concurrent}"

    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, trials: list[Trial]) -> None:
        for t in trials:
            self._futures[self.executor.submit(call_objective, self.objective, t.params,
                                               _channel(self.sweep_dir, t))] = t

    def events(self) -> Iterator[Event]:
        if not self._futures:
            return
        # Submitted counts as started: a remote worker says nothing before it ends, and a trial
        # that may have run when the sweep died is counted a death (rerun at most max_reruns times).
        for t in [t for t in self._futures.values() if t.number not in self._announced]:
            self._announced.add(t.number)
            yield Started(t, time.time())
        done, _ = concurrent.futures.wait(list(self._futures), return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            trial = self._futures.pop(future)
            self._announced.discard(trial.number)
            try:
                result = future.result()
            except Exception as e:  # the worker itself died (a broken process pool)
                result = JobResult(error=f"the worker running this trial failed: {_error_text(e)}")
            yield Finished(trial, result)

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
