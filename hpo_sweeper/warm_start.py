"""Earlier results that seed a new sweep: ``warm_start`` and ``enqueue``.

``warm_start`` paths may name a trial store (``trials.db``), a sweep directory
holding one (or a ``trials.csv``), or a ``trials.csv`` file. Trials whose
configuration fits the current space are kept; the rest are skipped with a count
in the log. Sources are read with bounds: only regular files, at most
``MAX_CSV_BYTES`` of CSV (a store has its own bounds, see ``store``), and a file
that is not UTF-8 text, not CSV or holds a value that is not a number is a named
error, never a traceback or an endless read (``warm_start=[/dev/zero]``).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.space import SearchSpace, SearchSpaceError

__all__ = ["WarmStartError", "load_warm_start", "validate_enqueued"]

log = logging.getLogger("hpo_sweeper")

#: A trials.csv row is well under 1 kB: 256 MiB is hundreds of thousands of trials.
MAX_CSV_BYTES = 256 * 1024**2


class WarmStartError(HpoSweeperError, ValueError):
    """A warm-start source or an enqueued trial is unusable."""


def validate_enqueued(space: SearchSpace, points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The enqueued points, validated; a point given twice is an error (it would run once
    only, since no configuration runs twice, so the list would not mean what it says)."""
    out = []
    first: dict[Any, int] = {}
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise WarmStartError(f"enqueue[{i}] must be a mapping of parameter values, got {point!r}")
        try:
            valid = space.validate(dict(point))
        except SearchSpaceError as e:
            raise WarmStartError(f"enqueue[{i}] does not fit the search space: {e}") from None
        key = _identity(space, valid)
        if key in first:
            raise WarmStartError(f"enqueue[{i}] repeats enqueue[{first[key]}] ({dict(point)}); give each trial once")
        first[key] = i
        out.append(valid)
    return out


def _identity(space: SearchSpace, point: Mapping[str, Any]) -> Any:
    try:
        return space.key(point)
    except TypeError:  # an unhashable value: compare by canonical JSON
        return json.dumps([point[n] for n in space.names], sort_keys=True, default=repr)


def load_warm_start(
    paths: Sequence[str | os.PathLike[str]], space: SearchSpace
) -> list[tuple[dict[str, Any], float | None]]:
    """(configuration, value) of every usable finished trial in ``paths``."""
    out: list[tuple[dict[str, Any], float | None]] = []
    for raw in paths:
        path = _resolve(Path(raw))
        rows = _from_store(path) if path.suffix == ".db" else _from_csv(path, space)
        kept = 0
        for params, status, value in rows:
            if status not in ("completed", "failed"):
                continue
            try:
                point = space.validate({n: params[n] for n in space.names if n in params})
            except SearchSpaceError:
                continue
            out.append((point, value if status == "completed" else None))
            kept += 1
        log.info("Warm start from %s: %d of %d trials fit the search space", path, kept, len(rows))
    return out


def _resolve(path: Path) -> Path:
    if path.is_dir():
        for name in ("trials.db", "trials.csv"):
            if (path / name).exists():
                return _regular(path / name)
        raise WarmStartError(f"warm_start: {path} holds neither trials.db nor trials.csv")
    if not path.exists():
        raise WarmStartError(f"warm_start: {path} does not exist")
    return _regular(path)


def _regular(path: Path) -> Path:
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise WarmStartError(f"warm_start: {path} is not a regular file (a device or pipe?); give a trials.db, "
                             "a trials.csv or a sweep dir")
    return path


def _from_store(path: Path) -> list[tuple[dict[str, Any], str, float | None]]:
    from hpo_sweeper.store import StoreError, load_trials

    try:
        trials, _ = load_trials(path)
    except StoreError as e:
        raise WarmStartError(f"warm_start: {e}") from None
    return [(t.params, t.status.value, t.value) for t in trials]


def _from_csv(path: Path, space: SearchSpace) -> list[tuple[dict[str, Any], str, float | None]]:
    from hpo_sweeper.trials_csv import TrialsCsvError, read_rows

    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise WarmStartError(f"warm_start: {path} has {size} bytes, more than a trials.csv would ({MAX_CSV_BYTES})")
    try:
        return [(row.params, row.status, row.value) for row in read_rows(path, space)]
    except TrialsCsvError as e:
        raise WarmStartError(f"warm_start: {e}") from None
