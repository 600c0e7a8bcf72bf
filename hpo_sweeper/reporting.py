"""The task side of pruning: ``report(value, step=...)``, ``should_prune()`` and ``TrialPruned``.

Use it in any Hydra task; outside a sweep it does nothing::

    import hpo_sweeper
    for epoch in range(1, cfg.epochs + 1):
        val_loss = train_one_epoch(...)
        hpo_sweeper.report(val_loss, step=epoch)     # the sweep's objective at this step
        if hpo_sweeper.should_prune():
            raise hpo_sweeper.TrialPruned()          # recorded as pruned, not failed

**How a job finds its trial.** Only through what Hydra gives every job, in whatever process it
runs: ``HydraConfig`` (``hydra.mode``, ``hydra.sweep.dir``, resolved against ``hydra.runtime.cwd``
when relative, and ``hydra.job.num``, which is the trial's number). Nothing is set by the sweeper
process, so this works the same in-process (basic launcher), in joblib and submitit processes, on
Ray workers and on a SLURM node that shares only the sweep dir's filesystem with the sweeper.

**The channel is files in the sweep dir** (layout in :mod:`hpo_sweeper.pruning.channel`): the
sweeper writes ``.hpo_sweeper/pruner.json`` (pruner settings, direction, objective) before any job
starts; each job appends its reports to its own ``.hpo_sweeper/reports/<trial>.jsonl`` and, to
decide, reads every trial's file. Each file has exactly one writer, so no locks are needed, and the
decision is a pure function of what the files hold (hpo_sweeper.pruning), the same in the job and in
the sweeper. It relies only on:

- **append + fsync**: a report is one ``write(2)`` to an ``O_APPEND`` descriptor, then ``fsync``
  and ``close``; readers parse complete lines only, so a torn last line (a crash mid-write) is
  ignored, and a report that returned is on disk.
- **rename**: ``pruner.json`` is written to a temporary file and renamed over, atomically.
- **close-to-open consistency** (what NFS guarantees): a reader that opens a file after its
  writer closed it sees the data written before the close. Readers open every file anew on each
  decision, rather than trusting cached attributes.

No locking, no memory-mapping, no SQLite: SQLite over NFS is not safe (its locks are not), and
neither are ``flock``/``fcntl`` locks on many NFS set-ups. Reports carry the writer's wall-clock
time, used only to order them (who reached a rung first); across nodes, clock skew of a fraction of
a second only reorders near-simultaneous reports.

With no multirun (plain ``python train.py``), or in a sweep whose sweeper wrote no pruner file,
``report`` does nothing and ``should_prune`` returns False.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import os
import time
import warnings
from collections.abc import Iterator
from typing import Any

from hpo_sweeper.objective import ObjectiveError, _child, _to_float
from hpo_sweeper.pruning import Pruner, create_pruner
from hpo_sweeper.pruning.channel import ChannelConfig, CurveReader, append_pruned, append_report, read_pruner_file
from hpo_sweeper.trials import TrialPruned  # the one class: the job wrapper and the loop catch it
from hpo_sweeper.validation import check_int

__all__ = ["TrialPruned", "report", "running_trial", "should_prune"]



@dataclasses.dataclass
class _Sweep:
    config: ChannelConfig | None
    pruner: Pruner | None
    reader: CurveReader


@dataclasses.dataclass
class _Trial:
    sweep_dir: str
    number: int
    sweep: _Sweep
    last_step: int | None = None
    decisions: dict[int, bool] = dataclasses.field(default_factory=dict)


# Per process: a joblib or Ray worker runs many trials one after another, each with its own entry.
_sweeps: dict[str, _Sweep] = {}
_trials: dict[tuple[str, int], _Trial] = {}


def report(value: Any, step: int) -> None:
    """Record the objective at ``step`` for the running trial (steps strictly increasing).

    ``value`` is what the task would return: a number, or (with the sweep's ``objective`` set) a
    dict, DictConfig or dataclass holding it. A NaN or infinite value is recorded as NaN, and the
    pruner stops such a trial at its next decision. A no-op outside a sweep with a pruner.
    """
    trial = _current_trial()
    if trial is None or trial.sweep.config is None:
        return
    check_int("hpo_sweeper.report(step=...)", step, low=0)
    number = _objective(value, trial.sweep.config.objective)
    if trial.last_step is not None and step <= trial.last_step:
        warnings.warn(f"hpo_sweeper.report: step {step} ignored, trial {trial.number} already reported step "
                      f"{trial.last_step} (steps must increase)", stacklevel=2)
        return
    append_report(trial.sweep_dir, trial.number, step, number, time.time())
    trial.last_step = step


def should_prune() -> bool:
    """Whether the pruner stops the running trial at its last reported step.

    Asked again at the same step it gives the same answer. False outside a sweep with a pruner,
    and before the trial's first report.
    """
    trial = _current_trial()
    if trial is None or trial.sweep.pruner is None or trial.last_step is None:
        return False
    step = trial.last_step
    if step not in trial.decisions:
        decision = trial.sweep.pruner.should_prune(trial.sweep.reader.read(), trial.number, step)
        if decision:
            append_pruned(trial.sweep_dir, trial.number, step, time.time())
        trial.decisions[step] = decision
    return trial.decisions[step]


def _current_trial() -> _Trial | None:
    located = _locate()
    if located is None:
        return None
    sweep_dir, number = located
    trial = _trials.get((sweep_dir, number))
    if trial is None:
        sweep = _sweeps.get(sweep_dir)
        if sweep is None:
            config = read_pruner_file(sweep_dir)
            pruner = create_pruner(config.pruner, config.direction) if config is not None else None
            sweep = _sweeps[sweep_dir] = _Sweep(config, pruner, CurveReader(sweep_dir))
        trial = _trials[(sweep_dir, number)] = _Trial(sweep_dir, number, sweep)
    return trial


#: The trial a Python objective runs for (``Sweep.optimize``), set around the call by the driver in
#: the process that runs it. Hydra jobs never use it: they find their trial in HydraConfig.
_running: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar("hpo_sweeper_trial",
                                                                                  default=None)


@contextlib.contextmanager
def running_trial(sweep_dir: str | os.PathLike[str], number: int) -> Iterator[None]:
    """Within this block, ``report``/``should_prune`` are for trial ``number`` of the sweep in ``sweep_dir``."""
    token = _running.set((os.path.normpath(os.path.abspath(sweep_dir)), number))
    try:
        yield
    finally:
        _running.reset(token)


def _locate() -> tuple[str, int] | None:
    """(sweep dir, trial number) of the trial running here: a Python objective's (``running_trial``),
    else the Hydra job's, from HydraConfig; None outside a sweep."""
    running = _running.get()
    if running is not None:
        return running
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode
    except ImportError:  # pragma: no cover - hydra-core is a dependency
        return None
    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN or hc.job.num is None:
        return None
    sweep_dir = str(hc.sweep.dir)
    if not os.path.isabs(sweep_dir):
        sweep_dir = os.path.join(str(hc.runtime.cwd), sweep_dir)
    return os.path.normpath(sweep_dir), int(hc.job.num)


def _objective(value: Any, key: str | None) -> float:
    """The number to record: like the final objective (hpo_sweeper.objective), but NaN is kept."""
    found = value
    if key:
        walked: list[str] = []
        for part in key.split("."):
            found = _child(found, part, walked, key)
            walked.append(part)
    try:
        number = _to_float(found, key)
    except ObjectiveError as e:
        raise ObjectiveError(f"hpo_sweeper.report: {e}") from None
    return number if math.isfinite(number) else math.nan
