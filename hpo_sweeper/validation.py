"""One way to check a setting: its type, its range or its choices, with an error that names it.

Every setting of every sweeper, engine and pruner is checked through these helpers,
so that a bad value always reads the same way, "<name> must be <what>, got <value>",
before any job runs. ``bool`` is refused where a number is asked: YAML's ``true``
would otherwise pass as 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

from hpo_sweeper.errors import HpoSweeperError

__all__ = ["SettingError", "check_bool", "check_choice", "check_int", "check_number", "check_text"]

T = TypeVar("T")


class SettingError(HpoSweeperError, ValueError):
    """A setting has the wrong type, is out of range or is not one of its choices."""


def _fail(error: type[Exception], name: str, what: str, value: Any) -> Exception:
    return error(f"{name} must be {what}, got {value!r}")


def check_int(
    name: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
    error: type[Exception] = SettingError,
) -> int | None:
    """An integer in [low, high] (either end open when None); None only with ``allow_none``."""
    if value is None and allow_none:
        return None
    what = "an integer" + _bounds(low, high)
    if allow_none:
        what += " or null"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(error, name, what, value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(error, name, what, value)
    return value


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    error: type[Exception] = SettingError,
) -> float | None:
    """A finite number in the range given (ends closed unless ``*_open``); returned as float."""
    if value is None and allow_none:
        return None
    what = "a finite number" + _bounds(low, high, low_open, high_open)
    if allow_none:
        what += " or null"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(error, name, what, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise _fail(error, name, what, value)
    if high is not None and (value > high or (high_open and value == high)):
        raise _fail(error, name, what, value)
    return float(value)


def check_choice(
    name: str, value: Any, allowed: Iterable[T], *, error: type[Exception] = SettingError
) -> T:
    """One of ``allowed`` (compared by equality; a bool never equals 0 or 1 here)."""
    choices = list(allowed)
    for c in choices:
        if type(value) is type(c) and value == c:
            return c
    raise error(f"{name} must be one of {choices}, got {value!r}")


def check_bool(name: str, value: Any, *, error: type[Exception] = SettingError) -> bool:
    if not isinstance(value, bool):
        raise _fail(error, name, "true or false", value)
    return value


def check_text(
    name: str, value: Any, *, allow_none: bool = False, error: type[Exception] = SettingError
) -> str | None:
    """A non-empty string (after stripping spaces)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(error, name, "a non-empty string" + (" or null" if allow_none else ""), value)
    return value


def _bounds(low: float | None, high: float | None, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""
