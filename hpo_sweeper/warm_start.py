"""Earlier results that seed a new sweep: ``warm_start`` and ``enqueue``.

``warm_start`` paths may name a trial store (``trials.db``), a sweep directory
holding one (or a ``trials.csv``), or a ``trials.csv`` file. Trials whose
configuration fits the current space are kept; the rest are skipped with a count
in the log.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.space import Kind, Parameter, SearchSpace, SearchSpaceError

__all__ = ["WarmStartError", "load_warm_start", "validate_enqueued"]

log = logging.getLogger("hpo_sweeper")


class WarmStartError(HpoSweeperError, ValueError):
    """A warm-start source or an enqueued trial is unusable."""


def validate_enqueued(space: SearchSpace, points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise WarmStartError(f"enqueue[{i}] must be a mapping of parameter values, got {point!r}")
        try:
            out.append(space.validate(dict(point)))
        except SearchSpaceError as e:
            raise WarmStartError(f"enqueue[{i}] does not fit the search space: {e}") from None
    return out


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
                return path / name
        raise WarmStartError(f"warm_start: {path} holds neither trials.db nor trials.csv")
    if not path.exists():
        raise WarmStartError(f"warm_start: {path} does not exist")
    return path


def _from_store(path: Path) -> list[tuple[dict[str, Any], str, float | None]]:
    from hpo_sweeper.store import load_trials

    trials, _ = load_trials(path)
    return [(t.params, t.status.value, t.value) for t in trials]


def _from_csv(path: Path, space: SearchSpace) -> list[tuple[dict[str, Any], str, float | None]]:
    from hpo_sweeper.results import param_column

    by_name = {param_column(p.name): p for p in space.params}
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            params: dict[str, Any] = {}
            for name, cell in row.items():
                if name in by_name:
                    parsed = _parse_cell(by_name[name], cell)
                    if parsed is not _BAD:
                        params[by_name[name].name] = parsed
            value = float(row["value"]) if row.get("value") not in (None, "") else None
            if value is not None and not math.isfinite(value):
                value = None
            rows.append((params, row.get("status", "completed"), value))
    return rows


_BAD = object()


def _parse_cell(p: Parameter, cell: str | None) -> Any:
    """Invert ``results._cell``: csv text back to a typed value of ``p``."""
    if cell is None:
        return _BAD
    if p.kind is Kind.CATEGORICAL:
        from hpo_sweeper.results import _cell

        for c in p.choices:
            if str(_cell(c)) == cell:
                return c
        return _BAD
    try:
        return int(cell) if p.kind is Kind.INT else float(cell)
    except ValueError:
        return _BAD
