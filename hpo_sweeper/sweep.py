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

from hpo_sweeper.objective import ObjectiveError, extract_objective
from hpo_sweeper.optimizers.base import DIRECTIONS, Optimizer
from hpo_sweeper.results import best_trial, write_results
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus

__all__ = ["JobResult", "SweepConfigError", "SweepFailed", "SweepRunner", "SweepSettings"]

log = logging.getLogger("hpo_sweeper")

#: Failure-rate checks wait for this many finished trials, so one early crash
#: does not stop a sweep.
MIN_TRIALS_FOR_FAILURE_RATE = 5


class SweepConfigError(ValueError):
    """A sweeper setting is invalid; raised before any job runs."""


class SweepFailed(RuntimeError):
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


@dataclass
class JobResult:
    """What one job gave back: its return value, or the error text when it failed."""

    returned: Any = None
    error: str | None = None
    started_at: float | None = None
    duration_s: float | None = None
    job_dir: str | None = None


Launch = Callable[[list[Trial]], Sequence[JobResult]]


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
    ) -> None:
        self.optimizer = optimizer
        self.settings = settings
        self.launch = launch
        self.sweep_dir = Path(sweep_dir)
        self.trials = trials if trials is not None else TrialLog()
        self.stop_reason: str | None = None

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        s = self.settings
        while (remaining := s.n_trials - len(self.trials)) > 0:
            params = self.optimizer.ask(min(s.batch_size, remaining))
            if not params:
                self.stop_reason = f"the search space is exhausted after {len(self.trials)} trials"
                log.info("Stopping: %s", self.stop_reason)
                break
            self.run_batch(params)
        summary = self.write()
        if self.trials.count(TrialStatus.COMPLETED) == 0 and len(self.trials) > 0:
            raise SweepFailed(f"every trial failed ({len(self.trials)} of {len(self.trials)}); {self._first_errors()}")
        return summary

    def run_batch(self, params: list[dict[str, Any]]) -> list[Trial]:
        start = self.trials.next_number()
        batch = [Trial(number=start + i, params=p) for i, p in enumerate(params)]
        for t in batch:
            self.trials.add(t)
        t0 = time.time()
        try:
            results = list(self.launch(batch))
        except Exception as e:  # noqa: BLE001 - a launcher crash fails this batch, not the sweep
            log.warning("The launcher failed for trials %d-%d: %s", batch[0].number, batch[-1].number, e)
            results = [JobResult(error=f"launcher error: {type(e).__name__}: {e}") for _ in batch]
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
