"""``trials.csv``: the one codec, written by the results and read by warm start and the report.

One row per trial: ``number``, one column per parameter (``params.<key>`` where a key is one
of the trial columns), ``value``, ``status``, ``last_step`` (only in a sweep whose trials
reported: the last step reached), ``error``, ``duration_s``, ``started_at``. Cells
are written so that they read back to the same value: ``null``, ``true``/``false``, floats by
``repr``. Read with a search space, a cell becomes a value of its parameter's type (a
categorical's own choice, an int, a float) or is dropped; read without one, its type is guessed.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.space import Kind, Parameter, SearchSpace
from hpo_sweeper.trials import Trial

__all__ = ["TRIAL_COLUMNS", "CsvRow", "TrialsCsvError", "constraint_column", "format_cell", "param_column", "read_rows",
           "to_text"]

#: The trial columns of trials.csv; a parameter of the same name gets the column ``params.<name>``.
TRIAL_COLUMNS = ("number", "value", "status", "error", "duration_s", "started_at", "last_step")
#: A constraint's column is ``constraint.<key>`` (read back as no parameter).
_CONSTRAINT_PREFIX = "constraint."


class TrialsCsvError(HpoSweeperError, ValueError):
    """A file is not a trials.csv, or holds a cell that cannot be read."""


def param_column(name: str) -> str:
    return f"params.{name}" if name in TRIAL_COLUMNS else name


def format_cell(v: Any) -> Any:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return v


def to_text(
    trials: Sequence[Trial],
    param_names: Sequence[str],
    last_steps: Mapping[int, int] | None = None,
    objective_names: Sequence[str] = (),
    constraint_keys: Sequence[str] = (),
) -> str:
    """``last_steps`` (trial number -> the last step it reported): a ``last_step`` column after
    ``status``, written only when some trial reported (a sweep without reports keeps its columns).
    ``objective_names`` (a multi-objective sweep): one more column per objective, at the end;
    ``constraint_keys`` (a constrained sweep): then one column per constraint, ``constraint.<key>``."""
    steps = last_steps or {}
    extra_names = sorted({k for t in trials for k in t.params} - set(param_names))
    names = [*param_names, *extra_names]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["number", *(param_column(n) for n in names), "value", "status",
                     *(["last_step"] if steps else []), "error", "duration_s", "started_at", *objective_names,
                     *(constraint_column(k) for k in constraint_keys)])
    for t in trials:
        writer.writerow([
            t.number,
            *(format_cell(t.params.get(n, "")) for n in names),
            "" if t.value is None else repr(t.value),
            t.status.value,
            *([steps.get(t.number, "")] if steps else []),
            t.error or "",
            "" if t.duration_s is None else f"{t.duration_s:.3f}",
            "" if t.started_at is None else _iso(t.started_at),
            *_vector_cells(t, len(objective_names)),
            *("" if t.constraint_values is None or k not in t.constraint_values else repr(t.constraint_values[k])
              for k in constraint_keys),
        ])
    return buf.getvalue()


def constraint_column(key: str) -> str:
    """The trials.csv column of a constraint: prefixed, so it never takes a parameter's or objective's name."""
    return f"{_CONSTRAINT_PREFIX}{key}"


def _vector_cells(t: Trial, n: int) -> list[str]:
    return [""] * n if t.values is None else [repr(v) for v in t.values]


@dataclass
class CsvRow:
    line: int
    number: int | None
    params: dict[str, Any]
    status: str
    value: float | None  # None when empty, NaN or infinite
    error: str | None


def read_rows(path: Path, space: SearchSpace | None = None) -> Iterator[CsvRow]:
    """The rows of a trials.csv. Raises ``TrialsCsvError`` naming the file (and line) when it is
    not UTF-8 CSV with a ``value`` column, or a value is not a number."""
    by_column = {param_column(p.name): p for p in space.params} if space is not None else None
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "value" not in reader.fieldnames:
                raise TrialsCsvError(f"{path} is not a trials.csv: it has no 'value' column "
                                     f"(columns: {reader.fieldnames})")
            for row in reader:
                params: dict[str, Any] = {}
                for column, cell in row.items():
                    if column is None or cell is None:
                        continue
                    if by_column is None:
                        if column not in TRIAL_COLUMNS and not column.startswith(_CONSTRAINT_PREFIX):
                            params[column.removeprefix("params.")] = _guess(cell)
                    elif column in by_column:
                        parsed = _parse_cell(by_column[column], cell)
                        if parsed is not _BAD:
                            params[by_column[column].name] = parsed
                yield CsvRow(reader.line_num, _int_or_none(row.get("number")), params,
                             row.get("status") or "completed", _value(path, reader.line_num, row.get("value")),
                             row.get("error") or None)
    except UnicodeDecodeError as e:
        raise TrialsCsvError(f"{path} is not UTF-8 text (a binary file?): {e.reason} at byte {e.start}") from None
    except csv.Error as e:
        raise TrialsCsvError(f"{path} is not a CSV file: {e}") from None


def _value(path: Path, line: int, cell: str | None) -> float | None:
    try:
        value = float(cell) if cell not in (None, "") else None
    except ValueError:
        raise TrialsCsvError(f"{path} line {line}: the value {cell!r} is not a number") from None
    return value if value is not None and math.isfinite(value) else None


def _int_or_none(cell: str | None) -> int | None:
    try:
        return int(cell) if cell else None
    except ValueError:
        return None


_BAD = object()


def _parse_cell(p: Parameter, cell: str) -> Any:
    """Invert ``format_cell``: csv text back to a typed value of ``p``."""
    if p.kind is Kind.CATEGORICAL:
        for c in p.choices:
            if str(format_cell(c)) == cell:
                return c
        return _BAD
    try:
        return int(cell) if p.kind is Kind.INT else float(cell)
    except ValueError:
        return _BAD


def _guess(cell: str) -> Any:
    if cell == "null":
        return None
    if cell in ("true", "false"):
        return cell == "true"
    for cast in (int, float):
        try:
            return cast(cell)
        except ValueError:
            pass
    return cell


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")
