"""The sweep loop, written around trial events.

Each turn: propose as many trials as the driver takes (reruns and enqueued trials
first, then the optimiser, which holds every trial asked and not yet told as a
pending point), record them ``running``, hand them to the driver, and consume the
events it yields: ``Started`` (recorded at once), ``Reported`` (an intermediate
value), ``Finished`` (recorded, told to the optimiser, logged) and ``LaunchFailed``.
After each group of events the failure rate and the early-stop rule are judged, and
the results files are rewritten (throttled: see ``RESULTS_INTERVAL_S``). A batch launch and an asynchronous pool are
two drivers of this one loop (``hpo_sweeper.drivers``).

Knows nothing of Hydra, nor of where its store lives: ``hpo_sweeper.Sweep`` opens
and reconciles the store, then runs this loop over it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpo_sweeper.constraints import is_out_of_memory, model_record, read_constraint_values, violated
from hpo_sweeper.drivers import Abandoned, Driver, Event, Finished, JobResult, LaunchFailed, Reported, Started
from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.job_records import bound_text
from hpo_sweeper.objective import ObjectiveError, extract_objective
from hpo_sweeper.objectives import extract_values
from hpo_sweeper.optimizers.base import Optimizer
from hpo_sweeper.pruning.ingest import CurveIngest
from hpo_sweeper.results import best_trial, write_results
from hpo_sweeper.settings import EarlyStop, SweepSettings
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus

__all__ = ["SweepFailed", "SweepLoop"]

log = logging.getLogger("hpo_sweeper")

#: Failure-rate checks wait for this many finished trials, so one early crash
#: does not stop a sweep.
MIN_TRIALS_FOR_FAILURE_RATE = 5
#: Rounds of ``ask`` when every proposal repeats a configuration already run or queued:
#: then the (finite or nearly covered) space counts as exhausted.
MAX_ASK_ROUNDS = 50
#: The results files (optimization_results.yaml, trials.csv) are rewritten in full, O(n) in
#: the trials, so after every event a sweep of fast trials would spend O(n^2) on them (issue
#: #20). While events come faster than this many seconds apart they are rewritten at most this
#: often; when they come slower (trials that take longer), after every event as before; always at
#: the end. The store is written at every event regardless: the files may lag it by this much,
#: never lose what it holds.
RESULTS_INTERVAL_S = 2.0


class SweepFailed(HpoSweeperError, RuntimeError):
    """Too many trials failed; the results files are written before this is raised."""


class SweepLoop:
    """Runs trials of ``optimizer`` through ``driver`` until ``n_trials`` have finished."""

    def __init__(
        self,
        optimizer: Optimizer,
        driver: Driver,
        *,
        n_trials: int,
        settings: SweepSettings | None = None,
        name: str = "sweep",
        require_objective: bool = True,
        sweep_dir: str | Path | None = None,
        trials: TrialLog | None = None,
        enqueue: Sequence[dict[str, Any]] = (),
        warm_start: Sequence[tuple[dict[str, Any], float | None]] = (),
    ) -> None:
        """
        Args:
            n_trials: finished trials (completed, failed or pruned) to reach.
            require_objective: False (grid): a task that returns no number, with objective
                null, simply has no value; True: that trial fails, as there is nothing to optimise.
            sweep_dir: where the results files are written; None writes none.
            trials: where trials are recorded; a ``TrialStore`` that already holds
                trials resumes that sweep.
            enqueue: configurations to run first (already validated against the space).
            warm_start: (configuration, value) pairs of earlier sweeps, told to the
                optimiser before the first proposal; they do not count as trials.
        """
        self.optimizer = optimizer
        self.driver = driver
        self.n_trials = n_trials
        self.settings = settings or SweepSettings()
        self.name = name
        self.require_objective = require_objective
        self.sweep_dir = None if sweep_dir is None else Path(sweep_dir)
        self.trials = trials if trials is not None else TrialLog()
        self.early_stop: EarlyStop = self.settings.early_stop
        self.stop_reason: str | None = None
        self._enqueue = list(enqueue)
        self._warm_start = list(warm_start)
        #: Configurations to run before asking the optimiser: reruns, then enqueued trials.
        self._queue: list[dict[str, Any]] = []
        #: Jobs that died together in one batch: each runs alone next, so the one that kills
        #: its worker cannot take healthy batch-mates with it again.
        self._solo: list[dict[str, Any]] = []
        #: Identities of the recorded trials' configurations, kept as trials are added and removed
        #: (rebuilding it on every ask was O(n) per trial).
        self._recorded_keys: dict[int, Any] = {}
        self._key_counts: dict[Any, int] = {}
        #: When the results files were last written, and how long the driver last kept the loop
        #: waiting for the jobs (a submit, or the wait for the next event).
        self._last_write = -math.inf
        self._last_wait = 0.0
        #: Intermediate values from the jobs' report files into the store (issue #14).
        self.curves = CurveIngest(self.sweep_dir, self.trials)
        self._constraints = self.settings.constraint_list
        #: Whether trials can be infeasible (constraints, or out-of-memory crashes counted so).
        self._constrained = bool(self._constraints) or self.settings.oom_infeasible

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self._prepare()
        try:
            while self.stop_reason is None:
                in_flight = self.driver.in_flight()
                remaining = self.n_trials - self.trials.n_finished() - in_flight
                if remaining > 0 and self.driver.capacity() > 0:
                    params = self._next_params(min(self.driver.capacity(), remaining), in_flight)
                    if params:
                        self._start(params)
                    elif in_flight == 0 and not self._solo:
                        self.stop_reason = f"the search space is exhausted after {self.trials.n_finished()} trials"
                        log.info("Stopping: %s", self.stop_reason)
                        break
                if self.driver.in_flight() == 0:
                    if remaining <= 0:
                        break
                    continue
                self._consume(self.driver.events())
            # Stopped early with trials still running (an asynchronous driver): their results
            # are recorded too, rather than left "running" in the store.
            while self.driver.in_flight() > 0:
                self._consume(self.driver.events())
        finally:
            self.driver.close()
        summary = self.write()
        if self._constrained and not self.trials.count(TrialStatus.COMPLETED) and \
                self.trials.count(TrialStatus.INFEASIBLE):
            # A result, not a failure: the constraints cannot be met where the sweep looked.
            log.warning("No trial was feasible: all %d that ran broke a constraint%s (optimization_results.yaml "
                        "has no best); loosen the constraints or the search space",
                        self.trials.count(TrialStatus.INFEASIBLE),
                        " or ran out of memory" if self.settings.oom_infeasible else "")
        if len(self.trials) > 0 and not any(
                t.status in (TrialStatus.COMPLETED, TrialStatus.PRUNED, TrialStatus.INFEASIBLE) for t in self.trials):
            raise SweepFailed(f"every trial failed ({len(self.trials)} of {len(self.trials)}); {self._first_errors()}")
        return summary

    def n_finished(self) -> int:
        return self.trials.n_finished()

    def _next_params(self, q: int, in_flight: int) -> list[dict[str, Any]]:
        if self._solo:
            # A trial that may kill its worker runs with nothing beside it.
            return [self._solo.pop(0)] if in_flight == 0 else []
        params, self._queue = self._queue[:q], self._queue[q:]
        if len(params) < q:
            params += self._propose(q - len(params), params)
        return params

    def _start(self, params: list[dict[str, Any]]) -> list[Trial]:
        self.driver.validate(params)
        start = self.trials.next_number()
        batch = [Trial(number=start + i, params=p) for i, p in enumerate(params)]
        for t in batch:
            self.trials.add(t)
            self._count_key(t)
        self._write_soon()  # the results files list the trials as running while they run
        started = time.monotonic()
        self.driver.submit(batch)
        self._last_wait = time.monotonic() - started
        return batch

    def _consume(self, events: Any) -> None:
        finished: list[Trial] = []
        for event in self._timed(events):
            finished += self._handle(event)
        if finished:
            self._tell(finished)
            for t in finished:
                self._log_trial(t)
        self._write_soon()
        self._check_failure_rate()
        self._check_early_stop()

    def _handle(self, event: Event) -> list[Trial]:
        """Record one event; returns the trials it finished (to tell the optimiser)."""
        if isinstance(event, Started):
            current = self._current(event.trial)
            self.trials.update(current.replace(started_at=event.at))
            return []
        if isinstance(event, Reported):
            # Intermediate values are the pruners' input (issue #14); nothing decides on them yet.
            log.debug("trial %d reported %r at step %d", event.trial.number, event.value, event.step)
            return []
        if isinstance(event, Finished):
            return [self._finish(self._current(event.trial), event.result)]
        if isinstance(event, LaunchFailed):
            return self._after_launcher_error(event.trials, event.error)
        if isinstance(event, Abandoned):
            current = self._current(event.trial)
            self.trials.update(current.replace(started_at=None))
            return []
        raise TypeError(f"unknown trial event {event!r}")

    def _current(self, trial: Trial) -> Trial:
        """The recorded state of ``trial`` (events carry the trial as it was submitted)."""
        return self.trials.get(trial.number) or trial

    # --- resume ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Warm start, then resume: tell earlier results, recover or requeue orphans."""
        if self._warm_start:
            self.optimizer.tell([p for p, _ in self._warm_start], [v for _, v in self._warm_start])
            log.info("Warm start: told the optimizer %d earlier trials", len(self._warm_start))
        previous = list(self.trials)
        if previous:
            self.optimizer.resume(len(previous))
            # Reports appended after the last save (a job that went on while the sweep was dead).
            self.curves.ingest(t.number for t in previous)
        rerun: list[dict[str, Any]] = []
        for t in previous:
            if t.status is not TrialStatus.RUNNING:
                continue
            found = self.driver.recover(t)
            if found is not None:
                if found.started_at is None:
                    found.started_at = t.started_at or time.time()
                if found.duration_s is None:
                    found.duration_s = 0.0
                self._finish(t, found)
                log.info("Recovered the result of trial %d, finished after the last save", t.number)
            elif self._rerun_or_fail(t, "the sweep process died while this trial ran") is None:
                # Its process died with the sweep: run the configuration again under a new number.
                rerun.append(t.params)
        done = [t for t in self.trials if t.status is not TrialStatus.RUNNING]
        if done:
            self._tell(done)
        if previous:  # said even when every earlier trial runs again (none had finished)
            log.info(
                "Resuming: %d trials finished earlier (%d completed, %d failed%s%s), %d to run again",
                len(done), self.trials.count(TrialStatus.COMPLETED), self.trials.count(TrialStatus.FAILED),
                f", {n} pruned" if (n := self.trials.count(TrialStatus.PRUNED)) else "",
                f", {n} infeasible" if (n := self.trials.count(TrialStatus.INFEASIBLE)) else "", len(rerun),
            )
        for t in self.trials:
            self._count_key(t)
        # Each configuration is queued once, and never one that is already recorded.
        taken = self._taken_keys()
        for p in [*rerun, *self._enqueue]:
            k = self._key(p)
            if k is None or k not in taken:
                taken.add(k)
                self._queue.append(p)
        # A sweep that stopped early stops again at once, with the same reason (the rule looks
        # only at the recorded trials), rather than running one more batch on every rerun.
        self._check_early_stop()

    def _rerun_or_fail(self, trial: Trial, cause: str) -> Trial | None:
        """A trial whose job died: removed to run again (None), or failed after ``max_reruns``.

        A job that never started is simply run again. One that started and died counts
        one death of its configuration (kept in the store, so it survives the sweep's own
        death); past ``max_reruns`` deaths it is recorded failed under its own number.
        """
        if self.driver.started(trial):
            deaths = dict(self.trials.get_meta("deaths") or {})
            key = _death_key(self.optimizer.space.names, trial.params)
            deaths[key] = deaths.get(key, 0) + 1
            self.trials.set_meta("deaths", deaths)
            if deaths[key] > self.settings.max_reruns:
                failed = trial.replace(
                    status=TrialStatus.FAILED,
                    error=(
                        f"{cause}, {_times(deaths[key])}; it is not run again (max_reruns="
                        f"{self.settings.max_reruns}). Does the task kill its process or run out of memory?"
                    ),
                    duration_s=trial.duration_s if trial.duration_s is not None else 0.0,
                )
                self.trials.update(failed)
                log.warning("Trial %d: %s", trial.number, failed.error)
                return failed
        self._remove(trial.number)
        return None

    # --- proposals ------------------------------------------------------------------------

    def _key(self, params: dict[str, Any]) -> Any:
        try:
            return self.optimizer.space.key(params)
        except (KeyError, TypeError):  # a trial of an earlier space (allow_space_change)
            return None

    def _count_key(self, trial: Trial) -> None:
        k = self._recorded_keys[trial.number] = self._key(trial.params)
        if k is not None:
            self._key_counts[k] = self._key_counts.get(k, 0) + 1

    def _remove(self, number: int) -> None:
        """Removes a trial from the store (it runs again under a new number) and from the keys."""
        self.trials.remove(number)
        k = self._recorded_keys.pop(number, None)
        if k is not None:
            self._key_counts[k] -= 1
            if not self._key_counts[k]:
                del self._key_counts[k]

    def _taken_keys(self, *more: Sequence[dict[str, Any]]) -> _Taken:
        """Identities of every configuration recorded or queued: none may be handed out again."""
        extra = {self._key(p) for group in (self._queue, self._solo, *more) for p in group}
        extra.discard(None)
        return _Taken(self._key_counts, extra)

    def _propose(self, n: int, chosen: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Up to ``n`` new configurations from the optimiser, none recorded or queued already.

        The optimisers do not know of queued trials (reruns, enqueued ones), so a proposal
        may repeat one; it is dropped and the optimiser asked again, a bounded number of times.
        """
        space = self.optimizer.space
        taken = self._taken_keys(chosen)
        size = space.cardinality() if space.is_finite() else None
        out: list[dict[str, Any]] = []
        for _ in range(MAX_ASK_ROUNDS):
            if size is not None and len(taken) >= size:
                break  # every configuration of a finite space is taken
            proposals = self.optimizer.ask(n - len(out))
            if not proposals:
                break  # a finite design is exhausted
            for p in proposals:
                k = self._key(p)
                if k not in taken:
                    taken.add(k)
                    out.append(p)
            if len(out) >= n:
                break
        return out

    # --- finishing ------------------------------------------------------------------------

    def _after_launcher_error(self, batch: list[Trial], e: Exception) -> list[Trial]:
        """A worker process died (killed, out of memory, os._exit) and the launcher gave up on
        the whole batch (joblib's loky then kills every worker of the pool).

        Jobs that finished left records: their results count. Jobs that never started did not
        fail: they run again. Jobs that started and never finished died, the crashing one or
        healthy batch-mates killed with the pool; one cannot tell which, so each runs again
        alone (counting towards ``max_reruns``), and only the one that dies alone fails.
        """
        log.warning("The launcher failed for trials %d-%d: %s: %s", batch[0].number, batch[-1].number,
                    type(e).__name__, e)
        finished, not_started, died = [], [], []
        for t in batch:
            found = self.driver.recover(t)
            if found is not None:
                if found.started_at is None:
                    found.started_at = time.time()
                finished.append(self._finish(t, found))
            elif not self.driver.started(t):
                not_started.append(t)
            else:
                died.append(t)
        if not finished and not died:
            for t in batch:  # none of them ran: nothing to record
                self._remove(t.number)
            self.write()
            raise SweepFailed(
                f"the launcher failed before any job of trials {batch[0].number}-{batch[-1].number} started: "
                f"{type(e).__name__}: {e}"
            )
        cause = f"the worker process died while this trial ran ({type(e).__name__})"
        rerun = []
        for t in died:
            failed = self._rerun_or_fail(t, cause)
            if failed is None:
                self._solo.append(t.params)
                rerun.append(t.number)
            else:
                finished.append(failed)
        for t in not_started:
            self._remove(t.number)
        self._queue = [t.params for t in not_started] + self._queue
        if rerun or not_started:
            log.info("Trials %s died and run again, each alone; trials %s never started and run again",
                     rerun, [t.number for t in not_started])
        return finished

    def _finish(self, trial: Trial, result: JobResult) -> Trial:
        value: float | None = None
        values: list[float] | None = None
        measured: dict[str, float] | None = None
        error = bound_text(result.error)
        if result.pruned:
            status = TrialStatus.PRUNED
        else:
            if error is None and not self._has_no_objective(result.returned):
                try:
                    if self.settings.multi_objective:
                        values = extract_values(result.returned, self.settings.objective, len(self.settings.direction))
                    else:
                        value = extract_objective(result.returned, self.settings.objective)  # type: ignore[arg-type]
                    if self._constraints:
                        measured = read_constraint_values(result.returned, self._constraints)
                except ObjectiveError as e:
                    error = bound_text(str(e))
                    value, values = None, None
            status = TrialStatus.COMPLETED if error is None else TrialStatus.FAILED
            if measured is not None and (broken := violated(measured, self._constraints)):
                status, error = TrialStatus.INFEASIBLE, bound_text("infeasible: " + "; ".join(broken))
            elif status is TrialStatus.FAILED and self.settings.oom_infeasible and is_out_of_memory(error):
                status = TrialStatus.INFEASIBLE  # constraints_oom=infeasible: the error text stays as the reason
        done = trial.replace(
            status=status,
            value=value,
            values=values,
            constraint_values=measured,
            error=error,
            started_at=result.started_at if result.started_at is not None else trial.started_at,
            duration_s=result.duration_s,
            job_dir=result.job_dir,
        )
        self.trials.update(done)
        self.curves.ingest([done.number])
        return done

    def _has_no_objective(self, returned: Any) -> bool:
        if self.require_objective or self.settings.objective is not None or self.settings.multi_objective:
            return False  # a list direction says the task returns its values (a grid too)
        try:
            float(returned)
            return False
        except (TypeError, ValueError):
            return True

    # --- reporting ------------------------------------------------------------------------

    def best(self) -> Trial | None:
        return best_trial(self.trials, self.settings.direction)

    def _log_trial(self, t: Trial) -> None:
        best = self.best()
        best_text = f"best={_fmt(best.value)} (trial {best.number})" if best else "best=none"
        if t.status is TrialStatus.COMPLETED:
            shown = _fmt(t.value) if t.values is None else "[" + ", ".join(map(_fmt, t.values)) + "]"
            log.info("trial %d/%d value=%s %s", t.number, self.n_trials, shown, best_text)
        elif t.status is TrialStatus.PRUNED:
            log.info("trial %d/%d pruned %s", t.number, self.n_trials, best_text)
        elif t.status is TrialStatus.INFEASIBLE:
            log.info("trial %d/%d infeasible (%s) %s", t.number, self.n_trials, _oneline(t.error), best_text)
        else:
            log.warning("trial %d/%d failed: %s %s", t.number, self.n_trials, _oneline(t.error), best_text)

    def _timed(self, events: Any) -> Any:
        """The driver's events, adding the time spent waiting for each to ``_last_wait`` (which the
        next ``_start`` resets to the time its submit waits)."""
        it = iter(events)
        while True:
            started = time.monotonic()
            event = next(it, None)  # events are never None
            self._last_wait += time.monotonic() - started
            if event is None:
                return
            yield event

    def _write_soon(self) -> None:
        """Rewrites the results files unless they were written less than ``RESULTS_INTERVAL_S``
        ago and the jobs last kept the loop waiting less than that (see ``RESULTS_INTERVAL_S``)."""
        if time.monotonic() - self._last_write >= RESULTS_INTERVAL_S or self._last_wait >= RESULTS_INTERVAL_S:
            self.write()

    def write(self) -> dict[str, Any]:
        self._last_write = time.monotonic()
        extra = {"stop_reason": self.stop_reason} if self.stop_reason else None
        return write_results(
            self.sweep_dir,
            list(self.trials),
            self.optimizer.space.names,
            name=self.name,
            direction=self.settings.direction,
            objective=self.settings.objective,
            extra=extra,
            last_steps=self.curves.last_steps(),
            constraints=list(self.settings.constraints) if self._constrained else None,
            ref_point=self.settings.ref_point,
        )

    def _tell(self, trials: Sequence[Trial]) -> None:
        """Tell the optimiser these finished trials (with what they say of the constraints)."""
        params, told = [t.params for t in trials], [_told(t) for t in trials]
        if not self._constrained:
            self.optimizer.tell(params, told)
            return
        records = [model_record(t, self._constraints, self.settings.oom_infeasible) for t in trials]
        self.optimizer.tell(params, told, constraints=records)

    def _check_early_stop(self) -> None:
        rule, best = self.early_stop, self.best()
        if best is None or self.stop_reason is not None:
            return
        sign = self.settings.direction_enum.sign
        if rule.target is not None and sign * best.value <= sign * rule.target:  # type: ignore[operator]
            self.stop_reason = f"early stop: trial {best.number} reached the target {rule.target} (value {best.value})"
        elif rule.patience is not None:
            finished = [t for t in self.trials if t.finished]
            best_so_far, last_gain = math.inf, -1
            for i, t in enumerate(finished):
                if t.value is not None and sign * t.value < best_so_far - rule.min_delta:
                    last_gain = i
                if t.value is not None:
                    best_so_far = min(best_so_far, sign * t.value)
            without = len(finished) - 1 - last_gain
            if last_gain >= 0 and without >= rule.patience:
                self.stop_reason = (
                    f"early stop: {without} trials without an improvement larger than {rule.min_delta} "
                    f"(patience {rule.patience}); best is trial {best.number}"
                )
        if self.stop_reason:
            log.info("Stopping: %s", self.stop_reason)

    def _check_failure_rate(self) -> None:
        failed = self.trials.count(TrialStatus.FAILED)
        # Pruned trials finished without failing: they count in the denominator only.
        finished = self.trials.n_finished()
        if finished >= MIN_TRIALS_FOR_FAILURE_RATE and failed / finished > self.settings.max_failure_rate:
            self.stop_reason = (
                f"{failed} of {finished} finished trials failed, more than max_failure_rate="
                f"{self.settings.max_failure_rate}"
            )
            self.write()
            raise SweepFailed(f"stopping the sweep: {self.stop_reason}; {self._first_errors()}")

    def _first_errors(self, k: int = 3) -> str:
        errors = [f"trial {t.number}: {_oneline(t.error)}" for t in self.trials if t.status is TrialStatus.FAILED]
        more = f" (and {len(errors) - k} more)" if len(errors) > k else ""
        where = f". See {self.sweep_dir / 'trials.csv'}" if self.sweep_dir is not None else ""
        return "errors: " + "; ".join(errors[:k]) + more + where


class _Taken:
    """The recorded configurations' keys (shared, not copied) and a few more of this ask's."""

    def __init__(self, recorded: dict[Any, int], extra: set[Any]) -> None:
        self.recorded, self.extra = recorded, extra - recorded.keys()

    def __contains__(self, key: Any) -> bool:
        return key in self.recorded or key in self.extra

    def __len__(self) -> int:
        return len(self.recorded) + len(self.extra)

    def add(self, key: Any) -> None:
        if key is not None and key not in self.recorded:
            self.extra.add(key)


def _fmt(v: float | None) -> str:
    if v is None:
        return "none"
    return f"{v:.6g}" if math.isfinite(v) else str(v)


def _oneline(text: str | None, limit: int = 300) -> str:
    """The line of an error text that says what happened.

    An exception's text starts with ``Type: message``; what follows is detail (OmegaConf adds
    ``full_key: w`` and ``object_type=dict``). A traceback ends with that line instead.
    """
    if not text:
        return ""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    s = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return s if len(s) <= limit else s[:limit] + "..."


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _death_key(names: Sequence[str], params: dict[str, Any]) -> str:
    """A configuration's identity as text, for the store's count of deaths per configuration."""
    return json.dumps([params.get(n) for n in names], default=repr)


def _told(t: Trial) -> Any:
    """What the optimiser is told of a trial: its value, or its vector in a multi-objective sweep."""
    return t.values if t.values is not None else t.value
