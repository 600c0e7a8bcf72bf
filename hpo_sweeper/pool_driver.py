"""Asynchronous launches: one blocking ``launch`` call per trial, from a small thread pool.

Hydra's launchers only know ``launch(batch) -> results``, blocking until the whole batch
ends. Calling it with a batch of one from ``max_concurrent`` threads turns any launcher whose
jobs run outside this process (joblib's loky workers, submitit's processes or cluster jobs)
into an asynchronous pool: the moment one trial's call returns, the loop records it, tells
the optimiser and proposes the next with the others pending. The threads only wait on the
launcher; every record is written by the loop, in the main thread.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator
from typing import Any

from hpo_sweeper.drivers import Abandoned, Driver, Event, Finished, JobResult, LaunchFailed, Started
from hpo_sweeper.trials import Trial

__all__ = ["PoolDriver"]

LaunchOne = Callable[[Trial], JobResult]


class PoolDriver(Driver):
    """Up to ``max_concurrent`` trials in flight, each through its own ``launch(trial)`` call."""

    def __init__(
        self,
        launch: LaunchOne,
        max_concurrent: int,
        *,
        started: Callable[[Trial], bool] | None = None,
        recover: Callable[[Trial], JobResult | None] | None = None,
        validate: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.launch, self.max_concurrent = launch, max_concurrent
        self._started, self._recover, self._validate = started, recover, validate
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_concurrent,
                                                           thread_name_prefix="hpo-launch")
        self._futures: dict[concurrent.futures.Future[JobResult], Trial] = {}
        self._new: list[Trial] = []

    def capacity(self) -> int:
        return self.max_concurrent - len(self._futures)

    def in_flight(self) -> int:
        return len(self._futures)

    def describe(self) -> str:
        return f"asynchronous, max_concurrent={self.max_concurrent}"

    def submit(self, trials: list[Trial]) -> None:
        if len(self._futures) + len(trials) > self.max_concurrent:
            raise RuntimeError(f"{len(trials)} trials submitted with {self.capacity()} free slots")
        for t in trials:
            # As many threads as slots: a submitted trial's launch begins at once, never queued.
            self._futures[self._pool.submit(self._timed_launch, t)] = t
            self._new.append(t)

    def _timed_launch(self, trial: Trial) -> JobResult:
        t0 = time.time()
        result = self.launch(trial)
        if result.started_at is None:  # a job that kept no timing of its own is timed by its call
            result.started_at = t0
        if result.duration_s is None:
            result.duration_s = time.time() - t0
        return result

    def events(self) -> Iterator[Event]:
        for t in self._new:
            # The launch call began when it was submitted; the job's own record (``started``)
            # says, after a kill, whether its process really ran.
            yield Started(t, time.time())
        self._new = []
        if not self._futures:
            return
        try:
            done, _ = concurrent.futures.wait(list(self._futures), return_when=concurrent.futures.FIRST_COMPLETED)
        except KeyboardInterrupt:
            # Unmarked, a resumed sweep runs them again without counting a death (max_reruns).
            for t in list(self._futures.values()):
                yield Abandoned(t)
            raise
        for future in done:
            trial = self._futures.pop(future)
            try:
                result = future.result()
            except Exception as e:  # the launcher gave up on this trial's call (a worker died)
                yield LaunchFailed([trial], e)
            else:
                yield Finished(trial, result)

    def started(self, trial: Trial) -> bool:
        return True if self._started is None else self._started(trial)

    def recover(self, trial: Trial) -> JobResult | None:
        return None if self._recover is None else self._recover(trial)

    def validate(self, params: list[dict[str, Any]]) -> None:
        if self._validate is not None:
            self._validate(params)

    def close(self) -> None:
        # Calls in flight cannot be interrupted from here; their jobs end on their own (or with
        # the signal that stopped the sweep) and leave records a resumed sweep recovers.
        self._pool.shutdown(wait=False, cancel_futures=True)
