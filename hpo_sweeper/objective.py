"""Turn whatever a training task returned into the number being optimised."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from hpo_sweeper.errors import HpoSweeperError

__all__ = ["ObjectiveError", "extract_objective"]


class ObjectiveError(HpoSweeperError, ValueError):
    """The task's return value holds no usable objective; the trial fails with this text."""


def extract_objective(returned: Any, key: str | None) -> float:
    """The objective value of a task's return value.

    Args:
        returned: a float, int, numpy or JAX scalar, or (with ``key``) a mapping,
            DictConfig, dataclass or object holding one.
        key: None when ``returned`` is the number itself; else a dotted path such as
            ``metrics.val_loss``.

    Raises:
        ObjectiveError: no number at ``key`` (the message names the keys that were
            there), or the value is NaN or infinite.
    """
    value = returned
    if key:
        walked: list[str] = []
        for part in key.split("."):
            value = _child(value, part, walked, key)
            walked.append(part)
    number = _to_float(value, key)
    if not math.isfinite(number):
        raise ObjectiveError(f"objective {key or 'value'} is {number}")
    return number


def _child(obj: Any, part: str, walked: list[str], key: str) -> Any:
    where = ".".join(walked) or "the returned value"
    if isinstance(obj, Mapping) or (hasattr(obj, "keys") and hasattr(obj, "__getitem__")):
        if part in obj:
            return obj[part]
        keys = sorted(map(str, obj.keys()))
        raise ObjectiveError(f"objective key '{key}': '{part}' not found in {where}; keys there: {keys}")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = [f.name for f in dataclasses.fields(obj)]
        if part in fields:
            return getattr(obj, part)
        raise ObjectiveError(f"objective key '{key}': '{part}' not found in {where}; fields there: {sorted(fields)}")
    if hasattr(obj, part) and not callable(getattr(obj, part)):
        return getattr(obj, part)
    raise ObjectiveError(
        f"objective key '{key}': cannot look up '{part}' in {where} of type {type(obj).__name__} "
        f"(the task returned {_short(obj)})"
    )


def _to_float(value: Any, key: str | None) -> float:
    # numpy and JAX bools (0-d arrays of dtype bool) convert to 1.0 / 0.0 just as silently.
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", None) == "b":
        raise ObjectiveError(f"objective {key or 'value'} is a bool ({value}), not a number")
    if getattr(getattr(value, "dtype", None), "kind", None) == "O" and getattr(value, "size", 0) == 1:
        value = value.item()  # a 0-d object array: judge what it holds
    # float("0.5") is 0.5, but a task that returns text has a bug (a formatted log line, a
    # wrong key): counting it would optimise whatever the text happens to say.
    if isinstance(value, (str, bytes)) or getattr(getattr(value, "dtype", None), "kind", None) in ("U", "S"):
        what = f"objective {key} is" if key else "the task returned"
        kind = "bytes" if isinstance(value, bytes) else "a string"
        raise ObjectiveError(f"{what} {kind} {_short(value)}, expected a number{_hint(value, key)}")
    try:
        # float() accepts Python numbers and 0-d numpy / JAX arrays (including 1-element ones).
        return float(value)
    except (TypeError, ValueError):
        pass
    raise ObjectiveError(f"objective {key or 'value'} is not a number: {_short(value)}{_hint(value, key)}")


def _hint(value: Any, key: str | None) -> str:
    hint = " (set hydra.sweeper.objective to the key of the number to optimise)" if not key else ""
    if isinstance(value, Mapping):
        hint += f"; keys there: {sorted(map(str, value.keys()))}"
    return hint


def _short(obj: Any, limit: int = 200) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."
