"""Hydra's override grammar <-> search-space parameters.

Two pure functions carry the whole translation, both table-tested:

* ``parse_spec(name, spec)`` turns a value of ``hydra.sweeper.params`` (grammar
  string, Optuna-style dict, list or scalar) into a ``Parameter`` or a ``Fixed``.
* ``parse_override(line)`` turns one command-line override into a ``Parameter``,
  a ``Fixed`` or a ``Passthrough`` (deletions, additions, anything not searched).

``encode_value`` writes a value back as override text that Hydra parses to the
same value (strings with spaces, quotes or commas, bools, null, exponent floats).

The parser is hydra-core's own, so every spelling Hydra accepts is accepted here.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_sweeper.space import Kind, Parameter, SearchSpaceError

__all__ = ["Fixed", "Passthrough", "encode_override", "encode_value", "parse_override", "parse_spec"]


@dataclass(frozen=True)
class Fixed:
    """A parameter with one value, passed to every trial."""

    name: str
    value: Any


@dataclass(frozen=True)
class Passthrough:
    """An override that is not searched: handed to every job exactly as written."""

    key: str
    text: str


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


_CHOICE_CALL = re.compile(r"^\s*choice\s*\((.*)\)\s*$", re.DOTALL)
_DICT_KEYS = {"type", "low", "high", "log", "step", "choices"}
#: Tags of a sweep that mean something here. Hydra's grammar accepts any tag, so a typo
#: (``tag(lgo, interval(1, 100))``) would silently give a linear scale: refused instead.
KNOWN_TAGS = ("log",)


def parse_spec(name: str, spec: Any, config_loader: Any = None) -> Parameter | Fixed:
    """Parse one entry of a search-space mapping (``config_loader``: see ``parse_override``)."""
    spec = _plain(spec)
    if isinstance(spec, Mapping):
        return _from_dict(name, spec)
    if isinstance(spec, (list, tuple)):
        return Parameter(name, Kind.CATEGORICAL, choices=tuple(_plain(v) for v in spec))
    if isinstance(spec, str):
        if "=" in name:
            # "a=b=interval(0, 1)" would parse as key 'a': name the key as written.
            raise SearchSpaceError(f"parameter '{name}': a key cannot contain '=' (Hydra's override grammar "
                                   "splits key and value there)")
        parsed = parse_override(f"{name}={spec}", config_loader)
        if isinstance(parsed, Passthrough):  # cannot happen for "name=value", but be explicit
            raise SearchSpaceError(f"parameter '{name}': cannot parse {spec!r}")
        return parsed
    return Fixed(name, _plain(spec))


def parse_override(line: str, config_loader: Any = None) -> Parameter | Fixed | Passthrough:
    """Parse one override line (``key=value``) into what the sweeper does with it.

    ``config_loader`` is Hydra's (``hydra_context.config_loader``): with it, ``glob(*)``
    becomes a choice among the options of a config group, as with Hydra's basic sweeper.
    """
    from hydra.errors import HydraException

    key = line.split("=", 1)[0].strip()
    try:
        override = _parser().parse_override(line)
    except HydraException as e:
        # hydra's choice() refuses null; its comma form accepts it, so retry in that form.
        value = line.split("=", 1)[1] if "=" in line else ""
        m = _CHOICE_CALL.match(value)
        if not m or not m.group(1).strip():
            raise SearchSpaceError(f"parameter '{key}': {_hydra_message(e)}") from None
        try:
            override = _parser().parse_override(f"{key}={m.group(1)}")
        except HydraException as e2:
            raise SearchSpaceError(f"parameter '{key}': {_hydra_message(e2)}") from None
        if not override.is_sweep_override():  # choice(x): a single choice
            return Parameter(key, Kind.CATEGORICAL, choices=(_plain(override.value()),))

    if not override.key_or_group:
        # Hydra's parser reads "=1,2" as the key '': a job config cannot hold it.
        raise SearchSpaceError(f"override {line!r}: the key before '=' is empty")
    # What Hydra's parse_overrides does: glob() lists a config group's options through the loader.
    override.config_loader = config_loader
    # The key keeps its prefix (+a, ++a, group@pkg): it is written back verbatim.
    name = override.get_key_element()
    if not override.is_sweep_override():
        if override.is_delete() or override.is_add() or override.is_force_add() or override.package:
            return Passthrough(override.key_or_group, line)
        return Fixed(name, _plain(override.value()))
    if override.is_delete():
        # "~key=1,2" deletes key only where its value is 1 (or 2): every job but at most one
        # would fail to compose. A deletion takes one value, or none.
        raise SearchSpaceError(
            f"parameter '{override.key_or_group}': {line!r} sweeps a deletion; a deletion (~) cannot be swept: "
            f"write ~{override.key_or_group} (or ~{override.key_or_group}=<its value>)"
        )
    value = override.value()
    unknown = sorted(set(getattr(value, "tags", None) or ()) - set(KNOWN_TAGS))
    if unknown:
        raise SearchSpaceError(
            f"parameter '{name}': unknown tag{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"in {line.split('=', 1)[1].strip()!r}; the tags allowed are {', '.join(map(repr, KNOWN_TAGS))}"
        )
    if override.is_choice_sweep():
        return Parameter(name, Kind.CATEGORICAL, choices=_choices(name, override, value))
    if override.is_interval_sweep():
        is_int = isinstance(value.start, int) and isinstance(value.end, int)
        if is_int:
            _check_int_cast(name, line, (value.start, value.end), "bounds")
        return Parameter(
            name,
            Kind.INT if is_int else Kind.FLOAT,
            low=value.start,
            high=value.end,
            log="log" in value.tags,
        )
    if override.is_range_sweep():
        if all(isinstance(v, int) for v in (value.start, value.stop, value.step)):
            _check_int_cast(name, line, (value.start, value.stop, value.step), "start, stop and step")
        return _from_range(name, value.start, value.stop, value.step, "log" in value.tags)
    raise SearchSpaceError(f"parameter '{name}': unsupported sweep {line!r}")


def _choices(name: str, override: Any, value: Any) -> tuple[Any, ...]:
    """The values of a choice sweep, as Hydra's basic sweeper enumerates them: lists and dicts
    are values like any other; ``glob()`` lists the config group's options."""
    if _is_glob(value):
        if override.config_loader is None:
            raise SearchSpaceError(
                f"parameter '{name}': glob() lists the options of a config group, which needs Hydra's config "
                "loader: use it in hydra.sweeper.params or on the command line of a Hydra sweep"
            )
        options = tuple(override.sweep_string_iterator())
        if not options:
            written = (override.input_line or "").split("=", 1)[-1]
            raise SearchSpaceError(f"parameter '{name}': {written} matches no option of the config group "
                                   f"'{override.key_or_group}'")
        return options
    nested = [v for v in value.list if type(v).__name__ == "ChoiceSweep" or _is_glob(v)]
    if nested:
        raise SearchSpaceError(
            f"parameter '{name}': a choice() or glob() inside a choice is not supported (Hydra's basic sweeper "
            "refuses it too); list the values in one choice: choice(a, b, c)"
        )
    return tuple(_plain(v) for v in value.list)


def _from_range(name: str, start: float, stop: float, step: float, log: bool) -> Parameter:
    """Hydra's range(start, stop, step) excludes stop, like Python's range.

    Its first and last values and their count are computed, not listed:
    ``range(0, 10**9)`` costs no more than ``range(0, 3)``."""
    if log:
        raise SearchSpaceError(f"parameter '{name}': range() cannot be log-scaled; use tag(log, int(interval(a, b)))")
    if step == 0:
        raise SearchSpaceError(f"parameter '{name}': range() step must not be 0")
    is_int = all(isinstance(v, int) for v in (start, stop, step))
    # Exact for ints; for floats the 1e-12 keeps float noise from adding a level past stop.
    n = -((start - stop) // step) if is_int else math.ceil((stop - start) / step - 1e-12)
    if n <= 0:
        raise SearchSpaceError(f"parameter '{name}': range({start}, {stop}, {step}) is empty")
    first, last = start, start + (n - 1) * step
    if n == 1:
        return Parameter(name, Kind.CATEGORICAL, choices=(first,))
    low, high = min(first, last), max(first, last)
    return Parameter(
        name,
        Kind.INT if is_int else Kind.FLOAT,
        # float noise (0.1 * 3 = 0.30000000000000004) dropped at 12 significant digits, as
        # Parameter._cast does; decimal places would turn range(1e-14, 1e-13, 1e-14) into 0.
        low=low if is_int else float(f"{low:.12g}"),
        high=high if is_int else float(f"{high:.12g}"),
        step=abs(step),
    )


#: hydra-core's int() cast inside an override value (the value of a sweep holds numbers only).
_INT_CAST = re.compile(r"\bint\s*\(")


def _check_int_cast(name: str, line: str, numbers: tuple[int, ...], what: str) -> None:
    """Refuse ``int(interval(1.5, 2.5))``: Hydra's int() truncates it to [1, 2] without a word.

    The parsed override only holds the truncated numbers, so the value is parsed again with
    float() in place of int() to see what was written."""
    value_text = line.split("=", 1)[1]
    if not _INT_CAST.search(value_text):
        return
    try:
        written = _parser().parse_override(f"{name}={_INT_CAST.sub('float(', value_text)}").value()
    except Exception:
        return
    attrs = ("start", "end") if len(numbers) == 2 else ("start", "stop", "step")
    originals = [getattr(written, a, None) for a in attrs]
    if any(not isinstance(o, (int, float)) or o != n for o, n in zip(originals, numbers)):
        raise SearchSpaceError(
            f"parameter '{name}': {value_text.strip()}: {what} are not integers "
            f"(int() would silently truncate them to {list(numbers)}); write integers"
        )


def _from_dict(name: str, spec: Mapping[str, Any]) -> Parameter:
    """The Optuna-style dict form; every key is checked, and the error names the parameter."""
    where = f"parameter '{name}'"
    unknown = sorted(set(map(str, spec)) - _DICT_KEYS)
    if unknown:
        raise SearchSpaceError(f"{where}: unknown keys {unknown}; allowed: {sorted(_DICT_KEYS)}")
    kind_name = spec.get("type")
    if kind_name is None:
        kind_name = "categorical" if "choices" in spec else None
    kinds = {"float": Kind.FLOAT, "int": Kind.INT, "categorical": Kind.CATEGORICAL}
    if not isinstance(kind_name, str) or kind_name not in kinds:
        raise SearchSpaceError(f"{where}: unknown type {kind_name!r}; expected one of {sorted(kinds)}")
    kind = kinds[kind_name]
    log = spec.get("log", False)
    if not isinstance(log, bool):
        # bool('false') is True: a quoted 'false' would silently become a log scale.
        raise SearchSpaceError(f"{where}: 'log' must be true or false (unquoted), got {log!r}")
    if kind is Kind.CATEGORICAL:
        misplaced = sorted(k for k in ("low", "high", "step") if spec.get(k) is not None)
        if log:
            misplaced.append("log")
        if misplaced:
            raise SearchSpaceError(f"{where}: {misplaced} do not apply to a categorical parameter")
        choices = spec.get("choices")
        if not isinstance(choices, (list, tuple)) or len(choices) == 0:
            raise SearchSpaceError(f"{where}: a categorical needs a non-empty list of choices, got {choices!r}")
        return Parameter(name, kind, choices=tuple(_plain(c) for c in choices))
    if spec.get("choices") is not None:
        raise SearchSpaceError(f"{where}: 'choices' does not apply to a {kind_name} parameter; use type: categorical")
    for bound in ("low", "high"):
        if spec.get(bound) is None:
            raise SearchSpaceError(f"{where}: a {kind_name} parameter needs '{bound}'")
        if not _is_number(spec[bound]):
            raise SearchSpaceError(f"{where}: '{bound}' must be a number, got {spec[bound]!r}")
    step = spec.get("step")
    if step is not None and (not _is_number(step) or not step > 0):
        raise SearchSpaceError(f"{where}: 'step' must be a number > 0, got {step!r}")
    if kind is Kind.INT and step == 1:
        step = None  # the default for ints; keeps grid semantics of a plain int interval
    return Parameter(name, kind, low=spec["low"], high=spec["high"], log=log, step=step)


# --- encoding values back to override text -----------------------------------------------------


def encode_override(name: str, value: Any) -> str:
    return f"{name}={encode_value(value)}"


def encode_value(value: Any) -> str:
    """Override text that Hydra's parser reads back as ``value``."""
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest round-trip form, exponent when needed: 1e-05
    if isinstance(value, str):
        if _reads_back(value):
            return value
        return _quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{encode_value(str(k))}:{encode_value(v)}" for k, v in value.items()) + "}"
    raise SearchSpaceError(f"cannot encode {value!r} of type {type(value).__name__} as an override value")


#: In a quoted override value a backslash is literal, except in a run of backslashes
#: that ends at a quote or at the end of the value: such a run is written doubled.
_QUOTE_ESCAPES = re.compile(r"(\\*)('|\Z)")


def _quote(text: str) -> str:
    """``text`` as a single-quoted override value (hydra's rules for escapes in quotes)."""
    return "'" + _QUOTE_ESCAPES.sub(lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), text) + "'"


@functools.lru_cache(maxsize=4096)
def _reads_back(text: str) -> bool:
    """Does an unquoted string parse back to itself, as a plain string?"""
    if text == "" or any(c.isspace() for c in text):
        return False  # hydra would read "x y" back, but quoting it matches what users type
    try:
        override = _parser().parse_override(f"k={text}")
    except Exception:
        return False
    if override.is_sweep_override():
        return False
    v = override.value()
    return isinstance(v, str) and v == text


# --- helpers ----------------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    """Plain Python scalars from numpy scalars, QuotedStrings and OmegaConf containers."""
    from hydra.core.override_parser.types import QuotedString

    if isinstance(v, QuotedString):
        return v.text
    if isinstance(v, np.generic):
        return v.item()
    if hasattr(v, "_metadata") and hasattr(v, "_get_node"):  # an OmegaConf container
        from omegaconf import OmegaConf

        return OmegaConf.to_container(v, resolve=True)
    return v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_glob(v: Any) -> bool:
    return type(v).__name__ == "Glob"


def _hydra_message(e: Exception) -> str:
    msg = str(e).strip()
    # hydra's message starts with the full parse error; keep it short and readable.
    return msg.splitlines()[0] if msg else type(e).__name__
