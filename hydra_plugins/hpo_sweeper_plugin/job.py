"""The job side of a Hydra sweep: what runs inside each job, and what a job gives back.

``TimedTask`` wraps the task function so that each job marks its start and writes its
own record (start time, duration, return value or error) beside the sweep the moment it
ends (``hpo_sweeper.job_records``): a resumed sweep recovers results of jobs that
finished after the sweep process died, and tells a job that died from one that never
started. ``job_result`` turns Hydra's ``JobReturn`` into the library's ``JobResult``.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.types import TaskFunction
from omegaconf import DictConfig

from hpo_sweeper.drivers import JobResult
from hpo_sweeper.job_records import (
    JobRecord,
    clear_job_started,
    read_job_record,
    write_job_record,
    write_job_started,
)
from hpo_sweeper.trials import TrialPruned

__all__ = ["TimedTask", "job_result"]


class TimedTask:
    """The task function, writing its job's start marker and record; the return value itself
    is left untouched for callbacks and launchers. Picklable (a module-level class), so it
    travels to joblib/submitit/ray workers.

    The job finds its sweep dir and number in Hydra's own config (``HydraConfig``), never
    in a global of the sweeper process, so it works wherever the launcher runs it.
    """

    def __init__(self, task_function: TaskFunction) -> None:
        self.task_function = task_function
        self.__wrapped__ = task_function
        self.__name__ = getattr(task_function, "__name__", "task")

    def __call__(self, cfg: DictConfig) -> Any:
        import time

        started = time.time()
        _mark_started()
        try:
            returned = self.task_function(cfg)
        except SystemExit as e:
            # Hydra's launchers catch Exception only: sys.exit() in a task would end the whole
            # sweep. Here it fails the trial, like any other error.
            error = RuntimeError(f"the task called sys.exit({e.code!r})")
            _record(JobRecord(started, time.time() - started, error=error_text(error)))
            raise error from e
        except TrialPruned:
            # Stopped on purpose by the pruner: recorded pruned (a resumed sweep never reruns it).
            _record(JobRecord(started, time.time() - started, pruned=True))
            raise
        except KeyboardInterrupt:
            # The user stopped the sweep: the trial did not fail. Left unrecorded and unmarked,
            # a resumed sweep runs it again without counting a death (max_reruns).
            _mark_started(undo=True)
            raise
        except BaseException as e:
            _record(JobRecord(started, time.time() - started, error=error_text(e)))
            raise
        _record(JobRecord(started, time.time() - started, returned=returned))
        return returned


def _mark_started(undo: bool = False) -> None:
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        (clear_job_started if undo else write_job_started)(str(hc.sweep.dir), int(hc.job.num))
    except Exception:
        pass  # not a sweep job (a plain run of the task): nothing to mark


def _record(record: JobRecord) -> None:
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        write_job_record(str(hc.sweep.dir), int(hc.job.num), record)
    except Exception:
        pass  # a record is a help to resume, never a reason to fail the job


def error_text(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip()


def job_result(r: JobReturn, sweep_dir: Path, number: int) -> JobResult:
    """Hydra's ``JobReturn`` as a ``JobResult``, timed by the job's own record."""
    job_dir = None
    try:
        job_dir = str(r.hydra_cfg.hydra.runtime.output_dir)  # type: ignore[union-attr]
    except Exception:
        pass
    record = read_job_record(sweep_dir, number)
    common: dict[str, Any] = {
        "job_dir": job_dir,
        "started_at": record.started_at if record else None,
        "duration_s": record.duration_s if record else None,
    }
    if r.status == JobStatus.COMPLETED:
        return JobResult(returned=r.return_value, **common)
    exc = r._return_value
    if isinstance(exc, TrialPruned):
        return JobResult(pruned=True, **common)
    text = error_text(exc) if isinstance(exc, BaseException) else f"job status {r.status.name}: {exc!r}"
    return JobResult(error=text, **common)
