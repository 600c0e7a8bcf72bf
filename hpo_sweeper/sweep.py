"""The sweep loop: ask a batch, launch it, record and tell the results.

Knows nothing of Hydra: the caller passes a ``launch`` function that runs a
batch of trials and returns one ``JobResult`` per trial, in order. The Hydra
adapter's ``launch`` turns trials into override lists for Hydra's launcher.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.job_records import bound_text
from hpo_sweeper.objective import ObjectiveError, extract_objective
from hpo_sweeper.optimizers.base import DIRECTIONS, Optimizer
from hpo_sweeper.results import best_trial, write_results
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus

__all__ = ["EarlyStop", "JobResult", "SweepConfigError", "SweepFailed", "SweepRunner", "SweepSettings"]

log = logging.getLogger("hpo_sweeper")

#: Failure-rate checks wait for this many finished trials, so one early crash
#: does not stop a sweep.
MIN_TRIALS_FOR_FAILURE_RATE = 5
#: Rounds of ``ask`` when every proposal repeats a configuration already run or queued:
#: then the (finite or nearly covered) space counts as exhausted.
MAX_ASK_ROUNDS = 50


class SweepConfigError(HpoSweeperError, ValueError):
    """A sweeper setting is invalid; raised before any job runs."""


class SweepFailed(HpoSweeperError, RuntimeError):
    """Too many trials failed; the results files are written before this is raised."""


@dataclass(frozen=True)
class SweepSettings:
    n_trials: int
    batch_size: int = 1
    direction: str = "minimize"
    objective: str | None = None
    max_failure_rate: float = 0.5
    name: str = "sweep"
    #: False (grid): a task that returns no number, with objective null, simply has no
    #: value; True (random, bayes): that trial fails, since there is nothing to optimise.
    require_objective: bool = True
    #: How often a trial whose process died (killed, out of memory, os._exit) runs again;
    #: after that it is recorded failed, so a trial that kills its process cannot loop forever.
    max_reruns: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise SweepConfigError(f"n_trials must be an integer >= 1, got {self.n_trials!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise SweepConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.direction not in DIRECTIONS:
            raise SweepConfigError(f"direction must be one of {list(DIRECTIONS)}, got {self.direction!r}")
        obj = self.objective
        # A key path with an empty part ('metrics..loss', 'loss.') can never match a returned value:
        # refused here rather than failing every trial.
        if obj is not None and (not isinstance(obj, str) or not all(part.strip() for part in obj.split("."))):
            raise SweepConfigError(
                f"objective must be null or a dotted key of non-empty parts such as 'metrics.val_loss', got {obj!r}"
            )
        rate = self.max_failure_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise SweepConfigError(f"max_failure_rate must be a number in [0, 1], got {rate!r}")
        if isinstance(self.max_reruns, bool) or not isinstance(self.max_reruns, int) or self.max_reruns < 0:
            raise SweepConfigError(f"max_reruns must be an integer >= 0, got {self.max_reruns!r}")


@dataclass(frozen=True)
class EarlyStop:
    """Stop early: after ``patience`` trials without an improvement larger than
    ``min_delta``, or once a value at least as good as ``target`` is reached."""

    patience: int | None = None
    min_delta: float = 0.0
    target: float | None = None

    def __post_init__(self) -> None:
        p = self.patience
        if p is not None and (isinstance(p, bool) or not isinstance(p, int) or p < 1):
            raise SweepConfigError(f"early_stop.patience must be null or an integer >= 1, got {p!r}")
        d = self.min_delta
        # nan compares false with everything (no improvement would ever count), inf likewise.
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d < 0:
            raise SweepConfigError(f"early_stop.min_delta must be a finite number >= 0, got {d!r}")
        t = self.target
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)):
            raise SweepConfigError(f"early_stop.target must be null or a finite number, got {t!r}")


@dataclass
class JobResult:
    """What one job gave back: its return value, or the error text when it failed."""

    returned: Any = None
    error: str | None = None
    started_at: float | None = None
    duration_s: float | None = None
    job_dir: str | None = None


Launch = Callable[[list[Trial]], Sequence[JobResult]]
#: Checks that a batch of configurations can become jobs; raises ``SweepConfigError`` if not.
Validate = Callable[[list[dict[str, Any]]], None]
#: Looks for the result of a trial left ``running`` by a dead sweep process.
Recover = Callable[[Trial], "JobResult | None"]
#: Whether a trial's job started (left its start marker); one that did not never ran.
Started = Callable[[Trial], bool]


class SweepRunner:
    """Runs ``settings.n_trials`` trials of ``optimizer`` through ``launch``."""

    def __init__(
        self,
        optimizer: Optimizer,
        settings: SweepSettings,
        launch: Launch,
        *,
        sweep_dir: str | Path,
        trials: TrialLog | None = None,
        enqueue: Sequence[dict[str, Any]] = (),
        warm_start: Sequence[tuple[dict[str, Any], float | None]] = (),
        early_stop: EarlyStop | None = None,
        recover: Recover | None = None,
        validate: Validate | None = None,
        started: Started | None = None,
    ) -> None:
        """
        Args:
            trials: where trials are recorded; a ``TrialStore`` that already holds
                trials resumes that sweep.
            enqueue: configurations to run first (already validated against the space).
            warm_start: (configuration, value) pairs of earlier sweeps, told to the
                optimiser before the first proposal; they do not count as trials.
            recover: finds results of trials a dead process left ``running``.
            started: tells whether a trial's job started; without it every unfinished
                job of a dead process counts as having died (towards ``max_reruns``).
            validate: checks a batch before any of it is recorded or launched, so a
                configuration that cannot become a job stops the sweep with a clear error.
        """
        self.optimizer = optimizer
        self.settings = settings
        self.launch = launch
        self.sweep_dir = Path(sweep_dir)
        self.trials = trials if trials is not None else TrialLog()
        self.early_stop = early_stop or EarlyStop()
        self.recover = recover
        self.validate = validate
        self.started = started
        self.stop_reason: str | None = None
        self._enqueue = list(enqueue)
        self._warm_start = list(warm_start)
        #: Configurations to run before asking the optimiser: reruns, then enqueued trials.
        self._queue: list[dict[str, Any]] = []
        #: Jobs that died together in one batch: each runs alone next, so the one that kills
        #: its worker cannot take healthy batch-mates with it again.
        self._solo: list[dict[str, Any]] = []

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        s = self.settings
        self._prepare()
        while self.stop_reason is None and (remaining := s.n_trials - self.n_finished()) > 0:
            q = min(s.batch_size, remaining)
            if self._solo:
                params = [self._solo.pop(0)]
            else:
                params, self._queue = self._queue[:q], self._queue[q:]
                if len(params) < q:
                    params += self._propose(q - len(params), params)
            if not params:
                self.stop_reason = f"the search space is exhausted after {self.n_finished()} trials"
                log.info("Stopping: %s", self.stop_reason)
                break
            self.run_batch(params)
            self._check_early_stop()
        summary = self.write()
        if self.trials.count(TrialStatus.COMPLETED) == 0 and len(self.trials) > 0:
            raise SweepFailed(f"every trial failed ({len(self.trials)} of {len(self.trials)}); {self._first_errors()}")
        return summary

    def n_finished(self) -> int:
        return self.trials.count(TrialStatus.COMPLETED) + self.trials.count(TrialStatus.FAILED)

    def _prepare(self) -> None:
        """Warm start, then resume: tell earlier results, recover or requeue orphans."""
        if self._warm_start:
            self.optimizer.tell([p for p, _ in self._warm_start], [v for _, v in self._warm_start])
            log.info("Warm start: told the optimizer %d earlier trials", len(self._warm_start))
        previous = list(self.trials)
        if previous:
            self.optimizer.resume(len(previous))
        rerun: list[dict[str, Any]] = []
        for t in previous:
            if t.status is not TrialStatus.RUNNING:
                continue
            found = self.recover(t) if self.recover else None
            if found is not None:
                self._finish(t, found, t.started_at or time.time(), 0.0)
                log.info("Recovered the result of trial %d, finished after the last save", t.number)
            elif self._rerun_or_fail(t, "the sweep process died while this trial ran") is None:
                # Its process died with the sweep: run the configuration again under a new number.
                rerun.append(t.params)
        done = [t for t in self.trials if t.status is not TrialStatus.RUNNING]
        if done:
            self.optimizer.tell([t.params for t in done], [t.value for t in done])
        if previous:  # said even when every earlier trial runs again (none had finished)
            log.info(
                "Resuming: %d trials finished earlier (%d completed, %d failed), %d to run again",
                len(done), self.trials.count(TrialStatus.COMPLETED), self.trials.count(TrialStatus.FAILED), len(rerun),
            )
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
        if self.started is None or self.started(trial):
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
        self.trials.remove(trial.number)
        return None

    def _key(self, params: dict[str, Any]) -> Any:
        try:
            return self.optimizer.space.key(params)
        except (KeyError, TypeError):  # a trial of an earlier space (allow_space_change)
            return None

    def _taken_keys(self, *more: Sequence[dict[str, Any]]) -> set[Any]:
        """Identities of every configuration recorded or queued: none may be handed out again."""
        pending = [t.params for t in self.trials] + self._queue + self._solo
        keys = {self._key(p) for group in (pending, *more) for p in group}
        keys.discard(None)
        return keys

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

    def run_batch(self, params: list[dict[str, Any]]) -> list[Trial]:
        if self.validate is not None:
            self.validate(params)
        start = self.trials.next_number()
        batch = [Trial(number=start + i, params=p) for i, p in enumerate(params)]
        for t in batch:
            self.trials.add(t)
        self.write()  # the results files list the batch as running while it runs
        t0 = time.time()
        try:
            results = list(self.launch(batch))
        except Exception as e:
            finished = self._after_launcher_error(batch, e, t0)
        else:
            if len(results) != len(batch):
                raise RuntimeError(f"the launcher returned {len(results)} results for a batch of {len(batch)}")
            elapsed = time.time() - t0
            finished = [self._finish(t, r, t0, elapsed) for t, r in zip(batch, results)]
        self.optimizer.tell([t.params for t in finished], [t.value for t in finished])
        for t in finished:
            self._log_trial(t)
        self.write()
        self._check_failure_rate()
        return finished

    def _after_launcher_error(self, batch: list[Trial], e: Exception, t0: float) -> list[Trial]:
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
            found = self.recover(t) if self.recover else None
            if found is not None:
                finished.append(self._finish(t, found, t0, time.time() - t0))
            elif self.started is not None and not self.started(t):
                not_started.append(t)
            else:
                died.append(t)
        if not finished and not died:
            for t in batch:  # none of them ran: nothing to record
                self.trials.remove(t.number)
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
            self.trials.remove(t.number)
        self._queue = [t.params for t in not_started] + self._queue
        if rerun or not_started:
            log.info("Trials %s died and run again, each alone; trials %s never started and run again",
                     rerun, [t.number for t in not_started])
        return finished

    def _finish(self, trial: Trial, result: JobResult, t0: float, elapsed: float) -> Trial:
        value: float | None = None
        error = bound_text(result.error)
        if error is None and not self._has_no_objective(result.returned):
            try:
                value = extract_objective(result.returned, self.settings.objective)
            except ObjectiveError as e:
                error = bound_text(str(e))
        done = trial.replace(
            status=TrialStatus.COMPLETED if error is None else TrialStatus.FAILED,
            value=value,
            error=error,
            started_at=result.started_at if result.started_at is not None else t0,
            duration_s=result.duration_s if result.duration_s is not None else elapsed,
            job_dir=result.job_dir,
        )
        self.trials.update(done)
        return done

    def _has_no_objective(self, returned: Any) -> bool:
        if self.settings.require_objective or self.settings.objective is not None:
            return False
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
            log.info("trial %d/%d value=%s %s", t.number, self.settings.n_trials, _fmt(t.value), best_text)
        else:
            log.warning("trial %d/%d failed: %s %s", t.number, self.settings.n_trials, _oneline(t.error), best_text)

    def write(self) -> dict[str, Any]:
        extra = {"stop_reason": self.stop_reason} if self.stop_reason else None
        return write_results(
            self.sweep_dir,
            list(self.trials),
            self.optimizer.space.names,
            name=self.settings.name,
            direction=self.settings.direction,
            objective=self.settings.objective,
            extra=extra,
        )

    def _check_early_stop(self) -> None:
        rule, best = self.early_stop, self.best()
        if best is None or self.stop_reason is not None:
            return
        sign = -1.0 if self.settings.direction == "maximize" else 1.0
        if rule.target is not None and sign * best.value <= sign * rule.target:  # type: ignore[operator]
            self.stop_reason = f"early stop: trial {best.number} reached the target {rule.target} (value {best.value})"
        elif rule.patience is not None:
            finished = [t for t in self.trials if t.status is not TrialStatus.RUNNING]
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
        finished = failed + self.trials.count(TrialStatus.COMPLETED)
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
        return "errors: " + "; ".join(errors[:k]) + more + f". See {self.sweep_dir / 'trials.csv'}"


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
