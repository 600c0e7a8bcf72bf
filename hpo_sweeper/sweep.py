"""The sweep loop: ask a batch, launch it, record and tell the results.

Knows nothing of Hydra: the caller passes a ``launch`` function that runs a
batch of trials and returns one ``JobResult`` per trial, in order. The Hydra
adapter's ``launch`` turns trials into override lists for Hydra's launcher.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.objective import ObjectiveError, extract_objective
from hpo_sweeper.optimizers.base import DIRECTIONS, Optimizer
from hpo_sweeper.results import best_trial, write_results
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus

__all__ = ["EarlyStop", "JobResult", "SweepConfigError", "SweepFailed", "SweepRunner", "SweepSettings"]

log = logging.getLogger("hpo_sweeper")

#: Failure-rate checks wait for this many finished trials, so one early crash
#: does not stop a sweep.
MIN_TRIALS_FOR_FAILURE_RATE = 5


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

    def __post_init__(self) -> None:
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise SweepConfigError(f"n_trials must be an integer >= 1, got {self.n_trials!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise SweepConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.direction not in DIRECTIONS:
            raise SweepConfigError(f"direction must be one of {list(DIRECTIONS)}, got {self.direction!r}")
        if self.objective is not None and (not isinstance(self.objective, str) or not self.objective.strip()):
            raise SweepConfigError(f"objective must be null or a dotted key such as 'metrics.val_loss', got {self.objective!r}")
        rate = self.max_failure_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise SweepConfigError(f"max_failure_rate must be a number in [0, 1], got {rate!r}")


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
        if isinstance(self.min_delta, bool) or not isinstance(self.min_delta, (int, float)) or self.min_delta < 0:
            raise SweepConfigError(f"early_stop.min_delta must be a number >= 0, got {self.min_delta!r}")
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
    ) -> None:
        """
        Args:
            trials: where trials are recorded; a ``TrialStore`` that already holds
                trials resumes that sweep.
            enqueue: configurations to run first (already validated against the space).
            warm_start: (configuration, value) pairs of earlier sweeps, told to the
                optimiser before the first proposal; they do not count as trials.
            recover: finds results of trials a dead process left ``running``.
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
        self.stop_reason: str | None = None
        self._enqueue = list(enqueue)
        self._warm_start = list(warm_start)
        self._queue: list[dict[str, Any]] = []

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        s = self.settings
        self._prepare()
        while self.stop_reason is None and (remaining := s.n_trials - self.n_finished()) > 0:
            q = min(s.batch_size, remaining)
            params, self._queue = self._queue[:q], self._queue[q:]
            if len(params) < q:
                params += self.optimizer.ask(q - len(params))
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
            else:
                # Its process died with the sweep: run the configuration again under a new number.
                self.trials.remove(t.number)
                rerun.append(t.params)
        done = [t for t in self.trials if t.status is not TrialStatus.RUNNING]
        if done:
            self.optimizer.tell([t.params for t in done], [t.value for t in done])
            log.info(
                "Resuming: %d trials finished earlier (%d completed, %d failed), %d to run again",
                len(done), self.trials.count(TrialStatus.COMPLETED), self.trials.count(TrialStatus.FAILED), len(rerun),
            )
        space = self.optimizer.space
        seen = {space.key(t.params) for t in self.trials}
        self._queue = rerun + [p for p in self._enqueue if space.key(p) not in seen]

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
        except Exception as e:  # noqa: BLE001 - a launcher crash fails this batch, not the sweep
            # A worker process died (killed, out of memory, os._exit): the launcher gives up on the
            # whole batch. Jobs that did finish left records; the others fail with the launcher's error.
            log.warning("The launcher failed for trials %d-%d: %s", batch[0].number, batch[-1].number, e)
            error = JobResult(error=f"launcher error (the worker process died?): {type(e).__name__}: {e}")
            results = [(self.recover(t) if self.recover else None) or error for t in batch]
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

    def _finish(self, trial: Trial, result: JobResult, t0: float, elapsed: float) -> Trial:
        value: float | None = None
        error = result.error
        if error is None and not self._has_no_objective(result.returned):
            try:
                value = extract_objective(result.returned, self.settings.objective)
            except ObjectiveError as e:
                error = str(e)
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
    if not text:
        return ""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    s = lines[-1] if lines else ""
    return s if len(s) <= limit else s[:limit] + "..."
