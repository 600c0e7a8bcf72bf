"""Issue #11's bad-input table: every row states what a user gets for one input.

Each row is EITHER a named error before any job (the message holds the words that name the
parameter or setting and the problem; no job ran, no job dir, no results files, the trial store
not created, and files that existed before the row byte-for-byte unchanged) OR accepted with a
stated meaning (a check on what the jobs received and what the results files say).

No row may end in a traceback, a hang or running out of memory. Each row runs the quadratic test
app in-process through Hydra (``Hydra.multirun``, the basic launcher), in a child process of its
own under a memory limit (``RLIMIT_AS``) and a wall-clock limit, and the child reports back what
reached the user: the error's type and message, or success. Jobs leave ``job<N>.json`` in the
row's marker dir (see the app), so the parent sees what ran and with which values.

A few rows also run as real ``python tests/apps/quadratic/app.py -m ...`` processes, to check
what a user sees on the terminal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import resource
import sqlite3
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import APP_FILE, ROOT

#: Address space of one row's child process. Far above what a healthy row needs (JAX reserves about
#: 1.5 GiB of address space when it loads, a row's Hydra run a few hundred MiB more), far below what
#: the blow-ups of issue #11 (a range of 1e9 values, lhs of 1e8 x 200) ask for.
MEMORY_LIMIT = 4 * 2**30
#: Seconds a row may run before it counts as a hang. Generous (a healthy row takes 0.5-5 s on a
#: busy 2-core CI machine): it catches hangs, it is not a speed assertion.
TIME_LIMIT = 60.0


# --- what reached the user ----------------------------------------------------------------------


def is_clear_error(e: BaseException) -> bool:
    """Does a user see this error as a message alone, without a traceback?

    That is exactly Hydra's ``CompactHydraException`` family: Hydra's ``run_and_report`` prints
    such an error as its message (plus the message of an OmegaConf cause), and any other exception
    as a traceback. The family holds our ``SweepError`` (every ``HpoSweeperError`` the sweeper
    raises, wrapped by the plugin) and Hydra's own clear refusals before our sweeper runs:
    ``OverrideParseException`` (an override Hydra cannot parse), ``ConfigCompositionException``
    and ``MissingConfigException`` (a setting of the wrong type, a key not in the sweeper's
    structured config, an unknown config group option). Anything else, an ``HpoSweeperError``
    that escaped unwrapped included, reaches the user as a traceback.
    """
    from hydra.errors import CompactHydraException

    return isinstance(e, CompactHydraException)


def user_message(e: BaseException) -> str:
    """The text Hydra prints for a clear error: its message, and an OmegaConf cause's message."""
    from omegaconf.errors import OmegaConfBaseException

    text = str(e)
    if isinstance(e.__cause__, OmegaConfBaseException):
        text += "\n" + str(e.__cause__)
    return text


@dataclasses.dataclass
class Outcome:
    """What one row did: the child's report plus what it left on disk."""

    report: dict[str, Any]
    sweep_dir: Path
    markers: Path

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """The config each job received, in job-number order."""
        if not self.markers.exists():
            return []
        files = sorted(self.markers.glob("job*.json"), key=lambda p: int(p.stem[3:]))
        return [json.loads(p.read_text()) for p in files]

    def values(self, key: str) -> list[Any]:
        return [job.get(key) for job in self.jobs]

    @property
    def results(self) -> dict[str, Any]:
        return yaml.safe_load((self.sweep_dir / "optimization_results.yaml").read_text())

    @property
    def logs(self) -> str:
        return "\n".join(self.report.get("logs", []))

    def describe(self) -> str:
        r = self.report
        head = f"{r.get('type')}: {r.get('message')}" if not r.get("ok") else "accepted"
        return f"{head}\n--- logs:\n{self.logs}\n--- child output (tail):\n{r.get('output', '')[-3000:]}"


# --- one row ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    id: str
    #: Overrides after ``hydra/sweeper=...``; ``{tmp}`` is the row's own folder.
    overrides: tuple[str, ...]
    #: None: accepted. Else words (case-insensitive) the message must hold.
    error: tuple[str, ...] | None = None
    #: For an accepted row: asserts the stated meaning on the Outcome.
    check: Callable[[Outcome], None] | None = None
    #: A search-space config group file written for this row (``+search_space=row``), YAML.
    space: str | None = None
    #: Writes files the row needs into its folder (warm-start sources, stores, ...).
    prepare: Callable[[Path], None] | None = None
    #: Overrides of a good sweep run into ``{tmp}/sweep`` before the row (for resume rows).
    before: tuple[str, ...] | None = None


ROWS: dict[str, Row] = {}


def _add(kind: str, id: str, overrides: tuple[str, ...], **kw: Any) -> None:
    assert id not in ROWS, id
    defaults = () if kind == "grid" else ("hydra.sweeper.n_trials=2",)  # a later override wins
    ROWS[id] = Row(id, (f"hydra/sweeper={kind}", *defaults, *overrides), **kw)


def grid(id: str, *overrides: str, **kw: Any) -> None:
    _add("grid", id, overrides, **kw)


def rand(id: str, *overrides: str, **kw: Any) -> None:
    _add("random", id, overrides, **kw)


def bayes(id: str, *overrides: str, **kw: Any) -> None:
    _add("bayes", id, overrides, **kw)


# --- checks of stated meanings -------------------------------------------------------------------


def every(*checks: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        for c in checks:
            c(o)

    return check


def ran(n: int) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        assert len(o.jobs) == n, f"{len(o.jobs)} jobs ran, expected {n}"
        assert o.results["n_trials"] == n, o.results

    return check


def got(key: str, expected: list[Any]) -> Callable[[Outcome], None]:
    """The jobs received exactly these values of ``key``, in job order."""

    def check(o: Outcome) -> None:
        values = o.values(key)
        assert values == expected and [type(v) for v in values] == [type(v) for v in expected], values

    return check


def got_set(key: str, expected: list[Any]) -> Callable[[Outcome], None]:
    """The jobs received these values of ``key``, each once, in any order."""

    def check(o: Outcome) -> None:
        values = o.values(key)
        assert sorted(map(json.dumps, values)) == sorted(map(json.dumps, expected)), values

    return check


def each(key: str, predicate: Callable[[Any], bool], what: str) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        values = o.values(key)
        assert values and all(predicate(v) for v in values), f"{key}: {values} (expected {what})"

    return check


def distinct(key: str) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        values = o.values(key)
        assert len(set(map(json.dumps, values))) == len(values), f"{key} repeats: {values}"

    return check


def logged(*words: str) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        for w in words:
            assert w.lower() in o.logs.lower(), f"{w!r} not in the log:\n{o.logs}"

    return check


def results(**expected: Any) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        r = o.results
        for k, v in expected.items():
            assert r.get(k) == v, f"{k}={r.get(k)!r}, expected {v!r}: {r}"

    return check


def got_close(key: str, expected: list[float]) -> Callable[[Outcome], None]:
    """Like ``got``, for floats the grid keeps to 12 significant digits (``Parameter._cast``)."""

    def check(o: Outcome) -> None:
        values = o.values(key)
        assert all(type(v) is float for v in values) and values == pytest.approx(expected, rel=1e-11), values

    return check


def spread(m: int, n: int) -> list[int]:
    """The levels (0-based, in run order) of a one-axis grid of ``m`` levels capped at ``n`` < ``m`` trials.

    Computed from the rule ``optimizers/grid.py`` documents (``spread_indices``), not from a run: on
    one axis the lattice generator is 1, so trial k takes the level ``floor((k + 1/2) * m / n)``, and
    the k are visited in bit-reversed order (van der Corput: 0, then n/2, then n/4 and 3n/4, ...).
    """
    bits = max(1, (n - 1).bit_length())
    order = [int(format(i, f"0{bits}b")[::-1], 2) for i in range(1 << bits)]
    return [(2 * k + 1) * m // (2 * n) for k in order if k < n]


def between(low: float, high: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high


def is_int(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: type(v) is int and low <= v <= high


QUAD = "+search_space=quad"  # x, y in [-2, 2], a int in [0, 10]
ROW_SPACE = "+search_space=row"  # the row's own ``space``

# ==================================================================================================
# The override grammar, on the command line
# ==================================================================================================

# intervals
rand("interval-low-above-high", "x=interval(5, 1)", error=("'x'", "low must be smaller than high"))
rand("interval-low-equals-high", "x=interval(1, 1)", error=("'x'", "low must be smaller than high"))
rand("interval-inf", "x=interval(0, inf)", error=("'x'", "finite"))
rand("interval-minus-inf", "x=interval(-inf, 0)", error=("'x'", "finite"))
rand("interval-nan", "x=interval(nan, 1)", error=("'x'", "finite"))
rand("interval-strings", "x=interval(a, b)", error=("x=interval(a, b)",))
rand("interval-one-bound", "x=interval(1)", error=("x=interval(1)",))
rand("interval-three-bounds", "x=interval(0, 1, 2)", error=("x=interval(0, 1, 2)",))
rand("interval-empty", "x=interval()", error=("x=interval()",))
# Hydra's parser names the text it cannot read, not the key: that is Hydra's own message.
rand("interval-unclosed", "x=interval(0, 1", error=("interval(0, 1",))
rand("interval-ok", "x=interval(0.25, 0.5)", check=every(ran(2), each("x", between(0.25, 0.5), "in [0.25, 0.5]")))
rand("interval-int-bounds-ok", "a=int(interval(2, 4))",
     check=every(ran(2), each("a", is_int(2, 4), "an int in [2, 4]")))
# Hydra's int() truncates 1.5 to 1 and 2.5 to 2: [1, 2] is not what was written (issue #11, 13).
rand("int-interval-fractional-bounds", "a=int(interval(1.5, 2.5))", error=("'a'", "1.5"))
rand("float-interval-of-ints", "x=float(interval(0, 1))",
     check=every(ran(2), each("x", between(0, 1), "a float in [0, 1]")))
grid("interval-grid-points", "x=interval(0, 1)", "hydra.sweeper.grid_points=3", check=got("x", [0.0, 0.5, 1.0]))

# log tags and other tags
rand("log-from-zero", "x=tag(log, interval(0, 1))", error=("'x'", "log scale needs bounds > 0"))
rand("log-negative", "x=tag(log, interval(-1, 1))", error=("'x'", "log scale needs bounds > 0"))
grid("log-int-from-zero", "a=tag(log, int(interval(0, 8)))", error=("'a'", "log scale needs bounds > 0"))
grid("log-grid-ok", "x=tag(log, interval(1, 100))", "hydra.sweeper.grid_points=3", check=got("x", [1.0, 10.0, 100.0]))
rand("log-int-ok", "a=tag(log, int(interval(1, 8)))", check=every(ran(2), each("a", is_int(1, 8), "an int in [1, 8]")))
# A misspelt tag silently gave a linear scale: a changed meaning.
rand("tag-unknown", "x=tag(lgo, interval(1, 100))", error=("'x'", "lgo"))
rand("log-range", "a=tag(log, range(1, 10))", error=("'a'", "range() cannot be log-scaled"))
# Values of 1e-14..1e-11 must stay distinct (issue #11, 16: keys rounded to 12 decimals collapsed them).
bayes("log-tiny-values-stay-distinct", "x=tag(log, interval(1e-14, 1e-11))", "hydra.sweeper.n_trials=12",
      "hydra.sweeper.n_initial_points=12", "hydra.sweeper.batch_size=12", "hydra.sweeper.seed=0",
      check=every(ran(12), distinct("x"), each("x", between(1e-14, 1e-11), "in [1e-14, 1e-11]")))

# ranges
rand("range-empty", "a=range(1, 1)", error=("'a'", "empty"))
rand("range-backwards", "a=range(5, 1)", error=("'a'", "empty"))
rand("range-negative-step-up", "x=range(0, 1, -0.1)", error=("'x'", "empty"))
rand("range-step-zero", "a=range(0, 10, 0)", error=("'a'", "step"))
grid("range-step-ok", "a=range(0, 10, 4)", check=got("a", [0, 4, 8]))
grid("range-float-ok", "x=range(0, 1, 0.25)", check=got("x", [0.0, 0.25, 0.5, 0.75]))
grid("range-backwards-step-ok", "a=range(3, 0, -1)", check=got_set("a", [1, 2, 3]))
grid("range-one-value", "a=range(3, 4)", check=got("a", [3]))
# A billion values must stay lazy (issue #11, 4: the list took more than 3 GB).
rand("range-billion-lazy", "a=range(0, 1000000000)", check=every(ran(2), each("a", is_int(0, 999_999_999), "an int")))
# Capped by n_trials, a grid runs an evenly spread subset (levels 1/6, 5/6 and 3/6 of the way), not its first points.
grid("range-billion-grid-capped", "a=range(0, 1000000000)", "hydra.sweeper.n_trials=3",
     check=got("a", spread(10**9, 3)))

# choices
grid("choice-empty", "value=choice()", error=("value", "empty choice"))
grid("choice-duplicate", "value=choice(a, a)", error=("'value'", "twice"))
grid("choice-unclosed", "value=choice(a, b", error=("choice(a, b",))
grid("choice-comma-form", "value=a,b,c", check=got("value", ["a", "b", "c"]))
grid("choice-mixed-types", "value=choice(1, 2.5, true, abc)", check=got("value", [1, 2.5, True, "abc"]))
grid("choice-null-comma-form", "value=relu,null", check=got("value", ["relu", None]))
grid("choice-single", "value=choice(only)", check=got("value", ["only"]))
rand("choice-random-ok", "value=choice(a, b)", "x=interval(0, 1)", "hydra.sweeper.n_trials=4",
     check=every(ran(4), each("value", lambda v: v in ("a", "b"), "a or b")))
grid("choice-shuffle", "value=shuffle(a, b, c)", check=got_set("value", ["a", "b", "c"]))
grid("choice-sort", "value=sort(3, 1, 2)", check=got("value", [1, 2, 3]))
# Lists and dicts are valid categorical values in Hydra: either supported, or a clear error up front
# (issue #11, 7). Supported here: each job gets the list itself.
grid("choice-list-values", "value=choice(a, [1, 2])", check=got("value", ["a", [1, 2]]))
grid("choice-dict-values", "value=choice({p: 1}, {p: 2})", check=got("value", [{"p": 1}, {"p": 2}]))
# choice(choice(a, b), c): Hydra's grammar accepts it, but gives it no meaning (its basic sweeper
# crashes on it): a named error (issue #11, 7: it was "not JSON serializable").
grid("choice-nested", "value=choice(choice(a, b), c)", error=("'value'",))
grid("choice-of-ranges", "a=choice(range(0, 2), 5)", error=("choice(range(0, 2), 5)",))
# 10,000 levels must start at once (issue #11, 4: pairwise de-duplication took 24 s).
grid("choice-ten-thousand-levels", "value=choice(" + ",".join(map(str, range(10_000))) + ")",
     "hydra.sweeper.n_trials=2", check=got("value", spread(10_000, 2)))  # the levels 2500 and 7500

# config groups
GROUP_X, GROUP_Y = {"name": "x", "offset": 0.0}, {"name": "y", "offset": 1.0}
grid("group-choice-ok", "group=x,y", check=got("group", [GROUP_X, GROUP_Y]))
# Every group option is checked before job 0, not per batch (issue #11, 11).
grid("group-choice-missing-option", "group=choice(x, nonexistent)", error=("nonexistent",))
rand("group-choice-missing-random", "group=choice(x, nonexistent)", "x=interval(0, 1)", "hydra.sweeper.n_trials=4",
     error=("nonexistent",))
# glob() over a config group expands to its options, as with Hydra's basic sweeper.
grid("group-glob", "group=glob(*)", check=got_set("group", [GROUP_X, GROUP_Y]))
grid("group-glob-exclude", "group=glob(*, exclude=y)", check=got("group", [GROUP_X]))
grid("group-glob-nothing", "group=glob(zzz*)", error=("group", "glob"))
grid("value-glob", "value=glob(*)", error=("value", "glob"))

# quoting, odd values, unicode, empty
grid("quoted-comma", "value='a,b',c", check=got("value", ["a,b", "c"]))
grid("quoted-spaces", "value=choice('hello world', \"it's\")", check=got("value", ["hello world", "it's"]))
grid("quoted-equals", "value='x=y',z", check=got("value", ["x=y", "z"]))
grid("quoted-number-stays-string", "value='1','2'", check=got("value", ["1", "2"]))
grid("quoted-null-stays-string", "value='null',null", check=got("value", ["null", None]))
grid("quoted-empty-string", "value='',b", check=got("value", ["", "b"]))
grid("quote-unbalanced", "value='abc", error=("value='abc",))
# Hydra's grammar takes non-ASCII text only quoted.
grid("unicode-values", "value=choice('héllo', '日本語', 'emoji🙂')", check=got("value", ["héllo", "日本語", "emoji🙂"]))
grid("unicode-unquoted", "value=choice(héllo, wörld)", error=("héllo",))
grid("unicode-fixed-value", "a=1,2", "text='wörld'", check=every(got("a", [1, 2]), got("text", ["wörld", "wörld"])))
grid("empty-value-passthrough", "a=1,2", "value=", check=every(got("a", [1, 2]), got("value", ["", ""])))
grid("exponent-floats", "value=1e-5,1.5e+20", check=got("value", [1e-5, 1.5e20]))
grid("inf-nan-values", "value=inf,-inf", check=got("value", [float("inf"), float("-inf")]))

# odd keys
grid("key-typo-swept", "a=1,2", "valeu=3,4", error=("valeu",))
rand("key-typo-searched", QUAD, "xx=interval(0, 1)", error=("xx",))
grid("key-empty", "=1,2", error=("=1",))
grid("key-with-space", "a b=1,2", error=("a b=1,2",))
grid("key-leading-dot", ".a=1,2", error=(".a=1,2",))
grid("key-double-equals", "a==1,2", error=("a",))
grid("key-unicode", "+ключ=1,2", error=("ключ",))
grid("key-added", "+new=1,2", check=got("new", [1, 2]))
grid("key-force-added", "++a=3,4", check=got("a", [3, 4]))
rand("key-added-interval", "+new=interval(0, 1)", check=every(ran(2), each("new", between(0, 1), "in [0, 1]")))
grid("key-deleted", "a=1,2", "~unused",
     check=every(got("a", [1, 2]), lambda o: [j for j in o.jobs if "unused" in j] == []))
grid("key-delete-swept", "~unused=1,2", error=("unused",))
grid("key-nested-new", "+deep.er.key=1,2", check=lambda o: [j["deep"]["er"]["key"] for j in o.jobs] == [1, 2])
# A plain value overrides a searched parameter of the space: it is fixed, not searched.
rand("cli-fixes-a-searched-key", QUAD, "a=7", check=every(ran(2), got("a", [7, 7]), each("x", between(-2, 2), "x")))
rand("cli-narrows-a-searched-key", QUAD, "x=interval(0, 0.1)", check=every(ran(2), each("x", between(0, 0.1), "x")))
rand("random-nothing-to-search", "x=0.5", error=("search space is empty",))
bayes("bayes-nothing-to-search", "x=0.5", error=("search space is empty",))
grid("grid-nothing-to-search", "x=0.5", check=every(ran(1), got("x", [0.5])))

# ==================================================================================================
# The search space in a config file: grammar strings and the dict form
# ==================================================================================================

rand("yaml-interval-low-above-high", "+search_space=bad_interval", error=("'x'", "low must be smaller than high"))
rand("yaml-empty-choice", "+search_space=bad_empty", error=("'value'", "empty choice"))
rand("yaml-unknown-type", "+search_space=bad_type", error=("'x'", "unknown type 'floaty'"))
rand("yaml-log-from-zero", "+search_space=bad_log", error=("'x'", "log scale needs bounds > 0"))
rand("yaml-grammar-ok", ROW_SPACE, space="x: tag(log, interval(0.01, 1))\ny: interval(0, 1)",
     check=every(ran(2), each("x", between(0.01, 1), "x"), each("y", between(0, 1), "y")))
rand("yaml-grammar-garbage", ROW_SPACE, space="x: interval(0, 1",  error=("'x'",))
grid("yaml-plain-list", ROW_SPACE, space="value: [a, b]", check=got("value", ["a", "b"]))
grid("yaml-plain-value", ROW_SPACE, space="value: [a, b]\nx: 0.25", check=got("x", [0.25, 0.25]))
grid("yaml-null-value", ROW_SPACE, space="value: [a, b]\ntext: null", check=got("text", [None, None]))
# Conditional spaces (issue #17): 'when' mistakes are named before any job; a grid over a tree runs
# only its valid combinations, and an inactive key is not passed (the job sees the config's default).
rand("when-unknown-parent", ROW_SPACE, space="value: [a, b]\nx: {type: float, low: 0, high: 1, when: {valu: a}}",
     error=("'x'", "unknown parent 'valu'"))
rand("when-value-parent-cannot-take", ROW_SPACE,
     space="value: [a, b]\nx: {type: float, low: 0, high: 1, when: {value: c}}",
     error=("'x'", "'c' is not a value the parent 'value' can take"))
rand("when-cycle", ROW_SPACE, space="a: {type: int, low: 0, high: 2, when: {value: 1}}\n"
     "value: {type: categorical, choices: [1, 2], when: {a: 1}}", error=("cycle",))
rand("when-fixed-parent", ROW_SPACE, space="value: b\nx: {type: float, low: 0, high: 1, when: {value: b}}",
     error=("'x'", "parent 'value' has a fixed value"))
# A conditional key fixed on the command line keeps its 'when' (README "Conditional parameters"): the
# value goes to the jobs of its branch only, the others see the config's default (0.5).
grid("when-key-fixed-on-command-line-ok", ROW_SPACE, "x=0.25",
     space="value: [a, b]\nx: {type: float, low: 0, high: 1, when: {value: a}}",
     check=every(ran(2), got("value", ["a", "b"]), got("x", [0.25, 0.5])))
rand("forbidden-unknown-key", ROW_SPACE, space="value: [a, b]\nforbidden: [{valu: a}]", error=("forbidden[0]", "'valu'"))
grid("when-grid-valid-combinations-ok", ROW_SPACE,
     space="value: [a, b]\nx: {type: categorical, choices: [0.1, 0.2, 0.3], when: {value: b}}",
     check=every(ran(4), got("value", ["a", "b", "b", "b"]), got("x", [0.5, 0.1, 0.2, 0.3])))
# A key holding '=' must be named whole, not cut at the '=' (issue #11, 14).
rand("yaml-key-with-equals", ROW_SPACE, space="'a=b': interval(0, 1)", error=("'a=b'",))
rand("yaml-key-with-space", ROW_SPACE, space="'x y': interval(0, 1)", error=("'x y'",))
# dict form: type
rand("dict-type-missing", ROW_SPACE, space="x: {low: 0, high: 1}", error=("'x'", "type"))
rand("dict-type-unknown", ROW_SPACE, space="x: {type: double, low: 0, high: 1}", error=("'x'", "'double'"))
rand("dict-type-number", ROW_SPACE, space="x: {type: 1, low: 0, high: 1}", error=("'x'", "type"))
rand("dict-type-uppercase", ROW_SPACE, space="x: {type: FLOAT, low: 0, high: 1}", error=("'x'", "'FLOAT'"))
rand("dict-float-ok", ROW_SPACE, space="x: {type: float, low: 0.5, high: 1.5}",
     check=every(ran(2), each("x", between(0.5, 1.5), "a float in [0.5, 1.5]")))
rand("dict-int-ok", ROW_SPACE, space="a: {type: int, low: 3, high: 5}",
     check=every(ran(2), each("a", is_int(3, 5), "an int")))
rand("dict-exponent-bounds", ROW_SPACE, space="x: {type: float, low: 1e-4, high: 1e-2, log: true}",
     check=every(ran(2), each("x", between(1e-4, 1e-2), "in [1e-4, 1e-2]")))
# dict form: low / high
rand("dict-low-missing", ROW_SPACE, space="x: {type: float, high: 1}", error=("'x'", "'low'"))
rand("dict-high-missing", ROW_SPACE, space="x: {type: float, low: 0}", error=("'x'", "'high'"))
rand("dict-low-null", ROW_SPACE, space="x: {type: float, low: null, high: 1}", error=("'x'", "'low'"))
rand("dict-low-string", ROW_SPACE, space="x: {type: float, low: abc, high: 1}", error=("'x'", "'low'", "abc"))
rand("dict-low-quoted-number", ROW_SPACE, space="x: {type: float, low: '0', high: 1}", error=("'x'", "'low'"))
rand("dict-high-list", ROW_SPACE, space="x: {type: float, low: 0, high: [1]}", error=("'x'", "'high'"))
rand("dict-low-bool", ROW_SPACE, space="x: {type: float, low: true, high: 2}", error=("'x'", "'low'"))
rand("dict-low-above-high", ROW_SPACE, space="x: {type: float, low: 2, high: 1}", error=("'x'", "low must be smaller"))
rand("dict-low-equals-high", ROW_SPACE, space="x: {type: float, low: 1, high: 1}", error=("'x'", "low must be smaller"))
rand("dict-high-inf", ROW_SPACE, space="x: {type: float, low: 0, high: .inf}", error=("'x'", "finite"))
rand("dict-int-fractional-bound", ROW_SPACE, space="a: {type: int, low: 0.5, high: 4}", error=("'a'", "integer bounds"))
# dict form: log
rand("dict-log-from-zero", ROW_SPACE, space="x: {type: float, low: 0, high: 1, log: true}", error=("'x'", "log scale"))
rand("dict-int-log-from-zero", ROW_SPACE, space="a: {type: int, low: 0, high: 8, log: true}",
     error=("'a'", "log scale"))
# bool('false') is True: a quoted 'false' must not become a log scale (issue #11, 13).
rand("dict-log-string-false", ROW_SPACE, space="x: {type: float, low: 0.1, high: 1, log: 'false'}", error=("'x'", "log"))
rand("dict-log-string-yes", ROW_SPACE, space="x: {type: float, low: 0.1, high: 1, log: 'yes'}", error=("'x'", "log"))
# Only a YAML bool says log or not; bool(2) is True.
rand("dict-log-number", ROW_SPACE, space="x: {type: float, low: 0.1, high: 1, log: 2}", error=("'x'", "log"))
rand("dict-log-false-ok", ROW_SPACE, space="x: {type: float, low: 0, high: 1, log: false}",
     check=every(ran(2), each("x", between(0, 1), "in [0, 1]")))
grid("dict-log-true-grid", ROW_SPACE, "hydra.sweeper.grid_points=3",
     space="x: {type: float, low: 1, high: 100, log: true}", check=got("x", [1.0, 10.0, 100.0]))
# dict form: step
rand("dict-step-string", ROW_SPACE, space="x: {type: float, low: 0, high: 1, step: abc}", error=("'x'", "step"))
rand("dict-step-zero", ROW_SPACE, space="x: {type: float, low: 0, high: 1, step: 0}",
     error=("'x'", "'step' must be a number > 0", "0"))
rand("dict-step-negative", ROW_SPACE, space="a: {type: int, low: 0, high: 10, step: -2}",
     error=("'a'", "'step' must be a number > 0", "-2"))
rand("dict-step-with-log", ROW_SPACE, space="x: {type: float, low: 1, high: 10, step: 1, log: true}",
     error=("'x'", "step and log"))
rand("dict-int-fractional-step", ROW_SPACE, space="a: {type: int, low: 0, high: 10, step: 2.5}",
     error=("'a'", "integer step"))
grid("dict-int-step-ok", ROW_SPACE, space="a: {type: int, low: 0, high: 10, step: 5}", check=got("a", [0, 5, 10]))
grid("dict-float-step-ok", ROW_SPACE, space="x: {type: float, low: 0, high: 1, step: 0.5}",
     check=got("x", [0.0, 0.5, 1.0]))
# A float step of 1e-12 makes 1e12 levels: the grid stays lazy (issue #11, 4: it hung).
# Capped at 2 of its 10**12 + 1 levels, it runs the spread subset: 0.25 and 0.75.
grid("dict-float-step-tiny-grid", ROW_SPACE, "hydra.sweeper.n_trials=2",
     space="x: {type: float, low: 0, high: 1, step: 1e-12}",
     check=every(ran(2), got_close("x", [i * 1e-12 for i in spread(10**12 + 1, 2)])))
rand("dict-float-step-tiny-random", ROW_SPACE, space="x: {type: float, low: 0, high: 1, step: 1e-12}",
     check=every(ran(2), each("x", between(0, 1), "x")))
# dict form: choices
rand("dict-choices-missing", ROW_SPACE, space="value: {type: categorical}", error=("'value'", "choices"))
rand("dict-choices-string", ROW_SPACE, space="value: {type: categorical, choices: abc}", error=("'value'", "choices"))
rand("dict-choices-number", ROW_SPACE, space="value: {type: categorical, choices: 3}", error=("'value'", "choices"))
rand("dict-choices-empty", ROW_SPACE, space="value: {type: categorical, choices: []}", error=("'value'",))
rand("dict-choices-duplicate", ROW_SPACE, space="value: {type: categorical, choices: [a, a]}",
     error=("'value'", "twice"))
grid("dict-choices-without-type", ROW_SPACE, space="value: {choices: [a, 1, null]}", check=got("value", ["a", 1, None]))
grid("dict-choices-lists", ROW_SPACE, space="value: {type: categorical, choices: [[1, 2], [3]]}",
     check=got("value", [[1, 2], [3]]))
# dict form: keys that do not belong
rand("dict-unknown-key", ROW_SPACE, space="x: {type: float, lo: 0, high: 1}", error=("'x'", "unknown keys", "lo"))
rand("dict-unknown-key-prior", ROW_SPACE, space="x: {type: float, low: 0, high: 1, prior: uniform}",
     error=("'x'", "prior"))
rand("dict-no-known-keys", ROW_SPACE, space="x: {foo: 1}", error=("'x'", "foo"))
rand("dict-empty", ROW_SPACE, space="x: {}", error=("'x'",))
# Bounds on a categorical, or choices on a float, would be silently ignored: refused instead.
rand("dict-categorical-with-bounds", ROW_SPACE, space="value: {type: categorical, choices: [a, b], low: 0}",
     error=("'value'", "low"))
rand("dict-float-with-choices", ROW_SPACE, space="x: {type: float, low: 0, high: 1, choices: [0.5]}",
     error=("'x'", "choices"))

# ==================================================================================================
# Settings of every sweeper
# ==================================================================================================

# n_trials
rand("n_trials-0", QUAD, "hydra.sweeper.n_trials=0", error=("n_trials", ">= 1", "0"))
rand("n_trials-negative", QUAD, "hydra.sweeper.n_trials=-3", error=("n_trials", "-3"))
rand("n_trials-string", QUAD, "hydra.sweeper.n_trials=abc", error=("n_trials", "abc"))
rand("n_trials-float", QUAD, "hydra.sweeper.n_trials=1.5", error=("n_trials", "1.5"))
rand("n_trials-null-random", QUAD, "hydra.sweeper.n_trials=null", error=("n_trials", "must be set"))
bayes("n_trials-null-bayes", QUAD, "hydra.sweeper.n_trials=null", error=("n_trials", "must be set"))
grid("n_trials-0-grid", "a=1,2", "hydra.sweeper.n_trials=0", error=("n_trials", ">= 1", "0"))
# A cap below the grid's size runs an evenly spread subset of it, and says so (the grid's first and last value).
grid("n_trials-caps-grid", "a=1,2,3", "hydra.sweeper.n_trials=2",
     check=every(got("a", [[1, 2, 3][i] for i in spread(3, 2)]), logged("n_trials=2 runs an evenly spread subset")))
grid("n_trials-above-grid", "a=1,2", "hydra.sweeper.n_trials=50", check=got("a", [1, 2]))
rand("n_trials-3", QUAD, "hydra.sweeper.n_trials=3", check=ran(3))
# batch_size
rand("batch_size-0", QUAD, "hydra.sweeper.batch_size=0", error=("batch_size", ">= 1", "0"))
rand("batch_size-negative", QUAD, "hydra.sweeper.batch_size=-1", error=("batch_size", "-1"))
rand("batch_size-string", QUAD, "hydra.sweeper.batch_size=four", error=("batch_size", "four"))
grid("batch_size-0-grid", "a=1,2", "hydra.sweeper.batch_size=0", error=("batch_size", ">= 1"))
rand("batch_size-above-n_trials", QUAD, "hydra.sweeper.n_trials=3", "hydra.sweeper.batch_size=10", check=ran(3))
grid("batch_size-2-grid", "a=1,2,3", "hydra.sweeper.batch_size=2", check=got("a", [1, 2, 3]))
# schedule, max_concurrent (issue #15)
rand("schedule-unknown", QUAD, "hydra.sweeper.schedule=parallel", error=("schedule", "'batch', 'async'", "parallel"))
rand("schedule-number", QUAD, "hydra.sweeper.schedule=1", error=("schedule", "1"))
rand("max_concurrent-0", QUAD, "hydra.sweeper.schedule=async", "hydra.sweeper.max_concurrent=0",
     error=("max_concurrent", ">= 1", "0"))
rand("max_concurrent-string", QUAD, "hydra.sweeper.max_concurrent=four", error=("max_concurrent", "four"))
bayes("max_concurrent-negative-bayes", QUAD, "hydra.sweeper.max_concurrent=-2", error=("max_concurrent", "-2"))
# The basic launcher runs jobs in this process and cannot run two at once: batches, said in the log.
rand("schedule-async-basic-launcher", QUAD, "hydra.sweeper.schedule=async", "hydra.sweeper.n_trials=3",
     check=every(ran(3), logged("running in batches instead")))
# seed: checked before the store records it (issue #11, 6)
rand("seed-negative", QUAD, "hydra.sweeper.seed=-1", error=("seed", "-1"))
bayes("seed-negative-bayes", QUAD, "hydra.sweeper.seed=-1", error=("seed", "-1"))
rand("seed-string", QUAD, "hydra.sweeper.seed=abc", error=("seed", "abc"))
rand("seed-float", QUAD, "hydra.sweeper.seed=0.5", error=("seed", "0.5"))
# A seed is an integer in [0, 2**32 - 1], the range every optimiser and engine accepts.
rand("seed-too-big", QUAD, f"hydra.sweeper.seed={2**64}", error=("seed", str(2**32 - 1), str(2**64)))
bayes("seed-too-big-bayes", QUAD, f"hydra.sweeper.seed={2**32}", error=("seed", str(2**32 - 1), str(2**32)))
rand("seed-max-ok", QUAD, f"hydra.sweeper.seed={2**32 - 1}", check=every(ran(2), logged(f"seed={2**32 - 1}")))
bayes("seed-max-bayes-ok", QUAD, f"hydra.sweeper.seed={2**32 - 1}", check=every(ran(2), logged(f"seed={2**32 - 1}")))
# direction
rand("direction-up", QUAD, "hydra.sweeper.direction=up", error=("direction", "'up'"))
grid("direction-up-grid", "a=1,2", "hydra.sweeper.direction=up", error=("direction", "'up'"))
bayes("direction-up-bayes", QUAD, "hydra.sweeper.direction=up", error=("direction", "'up'"))
rand("direction-abbreviated", QUAD, "hydra.sweeper.direction=max", error=("direction", "'max'"))
rand("direction-null", QUAD, "hydra.sweeper.direction=null", error=("direction",))
grid("direction-maximize", "a=1,2,3", "hydra.sweeper.direction=maximize",
     check=every(got("a", [1, 2, 3]), results(best_params={"a": 3}, direction="maximize")))
grid("direction-minimize", "a=1,2,3", check=results(best_params={"a": 1}, direction="minimize"))
# direction as a list: a multi-objective sweep (issue #16)
rand("direction-list-bad-entry", QUAD, "hydra.sweeper.direction=[minimize,up]", error=("direction[1]", "'up'"))
rand("direction-list-empty", QUAD, "hydra.sweeper.direction=[]", error=("direction", "non-empty list"))
rand("direction-list-objective-length", QUAD, "hydra.sweeper.direction=[minimize,minimize]",
     "hydra.sweeper.objective=[loss]", error=("objective has 1 keys", "direction has 2"))
rand("direction-list-objective-string", QUAD, "hydra.sweeper.direction=[minimize,minimize]",
     "hydra.sweeper.objective=loss", error=("objective", "list of 2 dotted keys"))
rand("direction-list-early-stop", QUAD, "hydra.sweeper.direction=[minimize,maximize]",
     "hydra.sweeper.early_stop.patience=3", error=("early_stop", "multi-objective"))
bayes("direction-list-skopt", QUAD, "hydra.sweeper.direction=[minimize,maximize]", "hydra.sweeper.backend=skopt",
      error=("backend='skopt'", "multi-objective", "backend=jax"))
# objective
rand("objective-empty", QUAD, "hydra.sweeper.objective=''", error=("objective",))
rand("objective-blank", QUAD, "hydra.sweeper.objective=' '", error=("objective",))
# A key path with an empty part can never match: refused before any job, not failed in every trial.
rand("objective-double-dot", QUAD, "hydra.sweeper.objective=metrics..loss", "ret=nested",
     error=("objective", "metrics..loss"))
rand("objective-dict-ok", QUAD, "hydra.sweeper.objective=loss", "ret=dict",
     check=every(ran(2), lambda o: o.results["n_completed"] == 2))
grid("objective-maximize-accuracy", "x=0.3,2", "hydra.sweeper.objective=accuracy", "hydra.sweeper.direction=maximize",
     "ret=dict", check=results(best_params={"x": 0.3}))
# params
rand("params-string", "hydra.sweeper.params=abc", error=("params", "abc"))
rand("params-list", "hydra.sweeper.params=[1,2]", error=("params",))
rand("params-empty-dict", "hydra.sweeper.params={}", error=("search space is empty",))
# The search space on the command line (each form was an OmegaConf traceback: params defaults to null).
rand("params-replaced-ok", "hydra.sweeper.params={x:'interval(0,0.5)'}",
     check=every(ran(2), each("x", between(0, 0.5), "x")))
rand("params-key-added-ok", "+hydra.sweeper.params.x='interval(0,0.5)'",
     check=every(ran(2), each("x", between(0, 0.5), "x")))
rand("params-dict-form-replaced-ok", "++hydra.sweeper.params={a:{type:int,low:1,high:3}}",
     check=every(ran(2), each("a", is_int(1, 3), "a")))
# max_failure_rate
rand("max_failure_rate-2", QUAD, "hydra.sweeper.max_failure_rate=2", error=("max_failure_rate", "[0, 1]", "2"))
rand("max_failure_rate-negative", QUAD, "hydra.sweeper.max_failure_rate=-0.1", error=("max_failure_rate", "-0.1"))
rand("max_failure_rate-nan", QUAD, "hydra.sweeper.max_failure_rate=nan", error=("max_failure_rate", "nan"))
rand("max_failure_rate-string", QUAD, "hydra.sweeper.max_failure_rate=half", error=("max_failure_rate", "half"))
rand("max_failure_rate-1-all-fail-ok", QUAD, "hydra.sweeper.max_failure_rate=1", "hydra.sweeper.n_trials=6",
     "fail_jobs=[0,1,2,3,4]", check=every(ran(6), results(n_failed=5, n_completed=1)))
# storage
rand("storage-directory", QUAD, "hydra.sweeper.storage={tmp}/adir", prepare=lambda t: (t / "adir").mkdir(),
     error=("adir", "directory"))
rand("storage-under-a-file", QUAD, "hydra.sweeper.storage={tmp}/afile/trials.db",
     prepare=lambda t: (t / "afile").write_text("not a folder"), error=("afile",))
rand("storage-unwritable", QUAD, "hydra.sweeper.storage=/proc/hpo_sweeper_no/trials.db",
     error=("/proc/hpo_sweeper_no",))
rand("storage-text-file", QUAD, "hydra.sweeper.storage={tmp}/notes.txt",
     prepare=lambda t: (t / "notes.txt").write_text("my notes, not a database\n" * 100),
     error=("notes.txt", "not a database"))
rand("storage-binary-file", QUAD, "hydra.sweeper.storage={tmp}/blob.db",
     prepare=lambda t: (t / "blob.db").write_bytes(bytes(range(256)) * 64), error=("blob.db", "not a database"))
# Another program's SQLite database is not a trial store: the sweep must not add its tables to it.
rand("storage-foreign-sqlite", QUAD, "hydra.sweeper.storage={tmp}/other.db",
     prepare=lambda t: _sqlite(t / "other.db", "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ann');"),
     error=("other.db", "trial store"))
# An empty file elsewhere is a new store: the sweep records its trials there.
rand("storage-empty-file-ok", QUAD, "hydra.sweeper.storage={tmp}/new.db", prepare=lambda t: (t / "new.db").touch(),
     check=every(ran(2), lambda o: _store_trials(o.sweep_dir.parent / "new.db") == 2))
rand("storage-new-folder-ok", QUAD, "hydra.sweeper.storage={tmp}/deep/er/s.db",
     check=every(ran(2), lambda o: _store_trials(o.sweep_dir.parent / "deep/er/s.db") == 2))
rand("storage-empty-string-default", QUAD, "hydra.sweeper.storage=''",
     check=every(ran(2), lambda o: _store_trials(o.sweep_dir / "trials.db") == 2))
# An emptied trials.db in a sweep dir with job dirs is not a new sweep (issue #11, 2).
rand("storage-emptied-store-in-used-sweep-dir", QUAD, before=("hydra/sweeper=random", QUAD, "hydra.sweeper.n_trials=2"),
     prepare=lambda t: (t / "sweep" / "trials.db").write_bytes(b""), error=("trials.db",))
rand("storage-deleted-store-in-used-sweep-dir", QUAD, before=("hydra/sweeper=random", QUAD, "hydra.sweeper.n_trials=2"),
     prepare=lambda t: (t / "sweep" / "trials.db").unlink(), error=("trials.db",))
# allow_space_change
rand("allow_space_change-string", QUAD, "hydra.sweeper.allow_space_change=maybe", error=("allow_space_change", "maybe"))
rand("allow_space_change-fresh-ok", QUAD, "hydra.sweeper.allow_space_change=true", check=ran(2))
# The searched parameters changed, and with them the pass-through overrides (+search_space=quad is gone):
# one message names both changes, the space first, and both settings that would allow them.
rand("space-change-refused", "x=interval(0, 1)", "y=interval(0, 1)",
     before=("hydra/sweeper=random", QUAD, "hydra.sweeper.n_trials=2"),
     error=("search space differs", "removed a", "allow_space_change", "settings differ too", "allow_settings_change"))
# plots
rand("plots-string", QUAD, "hydra.sweeper.plots=sometimes", error=("plots", "sometimes"))
rand("plots-ok", QUAD, "hydra.sweeper.plots=true",
     check=every(ran(2), lambda o: (o.sweep_dir / "convergence.png").stat().st_size > 0))
# unknown settings, settings of another sweeper
rand("setting-typo", QUAD, "hydra.sweeper.n_trial=3", error=("n_trial",))
rand("setting-added-unknown", QUAD, "+hydra.sweeper.foo=1", error=("foo",))
rand("setting-of-grid-on-random", QUAD, "hydra.sweeper.grid_points=3", error=("grid_points",))
grid("setting-of-random-on-grid", "a=1,2", "hydra.sweeper.sampler=sobol", error=("sampler",))
rand("setting-of-bayes-on-random", QUAD, "hydra.sweeper.acq_func=EI", error=("acq_func",))
ROWS["sweeper-unknown"] = Row("sweeper-unknown", ("hydra/sweeper=optuna_tpe", QUAD), error=("optuna_tpe",))
# early_stop
rand("early_stop-patience-0", QUAD, "hydra.sweeper.early_stop.patience=0", error=("early_stop.patience", "0"))
rand("early_stop-patience-negative", QUAD, "hydra.sweeper.early_stop.patience=-2", error=("early_stop.patience", "-2"))
rand("early_stop-patience-string", QUAD, "hydra.sweeper.early_stop.patience=abc", error=("patience", "abc"))
rand("early_stop-min_delta-negative", QUAD, "hydra.sweeper.early_stop.min_delta=-1",
     error=("early_stop.min_delta", "-1"))
rand("early_stop-min_delta-string", QUAD, "hydra.sweeper.early_stop.min_delta=abc", error=("min_delta", "abc"))
# nan compares false with everything: no improvement would ever count (a changed meaning).
rand("early_stop-min_delta-nan", QUAD, "hydra.sweeper.early_stop.min_delta=nan", error=("early_stop.min_delta", "nan"))
rand("early_stop-target-inf", QUAD, "hydra.sweeper.early_stop.target=inf", error=("early_stop.target", "inf"))
rand("early_stop-target-nan", QUAD, "hydra.sweeper.early_stop.target=nan", error=("early_stop.target", "nan"))
rand("early_stop-target-string", QUAD, "hydra.sweeper.early_stop.target=low", error=("target", "low"))
rand("early_stop-unknown-key", QUAD, "hydra.sweeper.early_stop.patient=3", error=("patient",))
rand("early_stop-not-a-mapping", QUAD, "hydra.sweeper.early_stop=5", error=("early_stop",))
rand("early_stop-target-reached", QUAD, "hydra.sweeper.n_trials=10", "hydra.sweeper.early_stop.target=100",
     check=every(ran(1), lambda o: "target" in (o.results.get("stop_reason") or "")))
grid("early_stop-patience-ok", "a=1,2,3,4,5", "hydra.sweeper.early_stop.patience=2",
     check=every(got("a", [1, 2, 3]), lambda o: o.results.get("stop_reason")))
# pruner (issue 14): every setting named with its bad value, before any job
rand("pruner-type-unknown", QUAD, "hydra.sweeper.pruner.type=sha", error=("pruner.type", "sha"))
bayes("pruner-min_resource-0", QUAD, "hydra.sweeper.pruner.type=asha", "hydra.sweeper.pruner.min_resource=0",
      error=("pruner.min_resource", "0"))
rand("pruner-max_resource-not-above-min", QUAD, "hydra.sweeper.pruner.type=asha",
     "hydra.sweeper.pruner.min_resource=3", "hydra.sweeper.pruner.max_resource=3",
     error=("pruner.max_resource", "3"))
rand("pruner-max_resource-0", QUAD, "hydra.sweeper.pruner.max_resource=0", error=("pruner.max_resource", "0"))
rand("pruner-reduction_factor-1", QUAD, "hydra.sweeper.pruner.type=hyperband",
     "hydra.sweeper.pruner.reduction_factor=1", error=("pruner.reduction_factor", "1"))
grid("pruner-min_early_stopping_rate-negative", "a=1,2", "hydra.sweeper.pruner.min_early_stopping_rate=-1",
     error=("pruner.min_early_stopping_rate", "-1"))
rand("pruner-warmup_steps-negative", QUAD, "hydra.sweeper.pruner.type=median", "hydra.sweeper.pruner.warmup_steps=-2",
     error=("pruner.warmup_steps", "-2"))
rand("pruner-n_startup_trials-negative", QUAD, "hydra.sweeper.pruner.n_startup_trials=-1",
     error=("pruner.n_startup_trials", "-1"))
rand("pruner-min_trials-0", QUAD, "hydra.sweeper.pruner.min_trials=0", error=("pruner.min_trials", "0"))
rand("pruner-interval_steps-0", QUAD, "hydra.sweeper.pruner.interval_steps=0", error=("pruner.interval_steps", "0"))
rand("pruner-unknown-key", QUAD, "hydra.sweeper.pruner.patience=3", error=("patience",))
rand("pruner-not-a-mapping", QUAD, "hydra.sweeper.pruner=asha", error=("pruner",))
# grid_points
grid("grid_points-0", "x=interval(0, 1)", "hydra.sweeper.grid_points=0", error=("grid_points", "0"))
grid("grid_points-negative", "x=interval(0, 1)", "hydra.sweeper.grid_points=-5", error=("grid_points", "-5"))
grid("grid_points-string", "x=interval(0, 1)", "hydra.sweeper.grid_points=many", error=("grid_points", "many"))
grid("grid_points-1", "x=interval(0, 1)", "hydra.sweeper.grid_points=1",
     check=every(ran(1), each("x", between(0, 1), "x")))
# 100,000 points per interval must not hang (issue #11, 4: quadratic de-duplication).
# Capped at 2, the spread subset of the 100,000 values i / 99999: i = 25000 and 75000.
grid("grid_points-huge", "x=interval(0, 1)", "hydra.sweeper.grid_points=100000", "hydra.sweeper.n_trials=2",
     check=got_close("x", [i / 99_999 for i in spread(100_000, 2)]))
# sampler
rand("sampler-unknown", QUAD, "hydra.sweeper.sampler=sobolev", error=("sampler", "'sobolev'"))
rand("sampler-uppercase", QUAD, "hydra.sweeper.sampler=SOBOL", error=("sampler", "'SOBOL'"))
rand("sampler-empty", QUAD, "hydra.sweeper.sampler=''", error=("sampler",))
for _sampler in ("random", "sobol", "halton", "lhs"):
    rand(f"sampler-{_sampler}-ok", QUAD, f"hydra.sweeper.sampler={_sampler}", "hydra.sweeper.n_trials=3",
         check=every(ran(3), distinct("x"), each("x", between(-2, 2), "x"), each("a", is_int(0, 10), "a")))
# lhs of 1e8 trials in 200 dimensions must not allocate them all at once (issue #11, 4).
rand("sampler-lhs-huge-budget", "hydra.sweeper.sampler=lhs", "hydra.sweeper.n_trials=100000000",
     "hydra.sweeper.early_stop.target=1000", *[f"+p{i}=interval(0, 1)" for i in range(200)],
     check=every(ran(1), each("p199", between(0, 1), "p199")))

# bayes
bayes("backend-unknown", QUAD, "hydra.sweeper.backend=torch", error=("backend", "'torch'"))
bayes("n_initial_points-0", QUAD, "hydra.sweeper.n_initial_points=0", error=("n_initial_points", "0"))
bayes("n_initial_points-negative", QUAD, "hydra.sweeper.n_initial_points=-4", error=("n_initial_points", "-4"))
bayes("n_initial_points-string", QUAD, "hydra.sweeper.n_initial_points=few", error=("n_initial_points", "few"))
bayes("initial_design-unknown", QUAD, "hydra.sweeper.initial_design=grid", error=("initial_design", "'grid'"))
bayes("acq_func-unknown", QUAD, "hydra.sweeper.acq_func=EIPS", error=("acq_func", "'EIPS'"))
bayes("acq_func-lowercase", QUAD, "hydra.sweeper.acq_func=ei", error=("acq_func", "'ei'"))
bayes("xi-negative", QUAD, "hydra.sweeper.xi=-0.1", error=("xi", "-0.1"))
bayes("xi-nan", QUAD, "hydra.sweeper.xi=nan", error=("xi", "nan"))
bayes("xi-string", QUAD, "hydra.sweeper.xi=abc", error=("xi", "abc"))
bayes("kappa-negative", QUAD, "hydra.sweeper.kappa=-1", error=("kappa", "-1"))
# An infinite exploration weight ignores the model altogether (a changed meaning).
bayes("kappa-inf", QUAD, "hydra.sweeper.kappa=inf", error=("kappa", "inf"))
bayes("on_failure-unknown", QUAD, "hydra.sweeper.on_failure=drop", error=("on_failure", "'drop'"))
bayes("batch_strategy-unknown", QUAD, "hydra.sweeper.batch_strategy=cl_median", error=("batch_strategy", "'cl_median'"))
bayes("bayes-ok", QUAD, "hydra.sweeper.n_trials=3", "hydra.sweeper.seed=1",
      check=every(ran(3), distinct("x"), each("x", between(-2, 2), "x"), each("a", is_int(0, 10), "a")))
bayes("bayes-skopt-ok", QUAD, "hydra.sweeper.backend=skopt", "hydra.sweeper.n_trials=3",
      check=every(ran(3), distinct("x"), each("a", is_int(0, 10), "a")))
# engine options of the JAX engine
bayes("jax-engine-unknown-option", QUAD, "+hydra.sweeper.engine.warp=1", error=("warp",))
bayes("jax-device-number", QUAD, "+hydra.sweeper.engine.device=123", error=("device", "123"))
bayes("jax-device-unknown", QUAD, "+hydra.sweeper.engine.device=quantum", error=("device", "quantum"))
bayes("jax-dtype", QUAD, "+hydra.sweeper.engine.dtype=float16", error=("dtype", "float16"))
bayes("jax-n_restarts-0", QUAD, "+hydra.sweeper.engine.n_restarts=0", error=("n_restarts", "0"))
bayes("jax-n_candidates-string", QUAD, "+hydra.sweeper.engine.n_candidates=abc", error=("n_candidates", "abc"))
bayes("jax-n_starts-0", QUAD, "+hydra.sweeper.engine.n_starts=0", error=("n_starts", "0"))
bayes("jax-acq_steps-negative", QUAD, "+hydra.sweeper.engine.acq_steps=-1", error=("acq_steps", "-1"))
bayes("jax-refit_growth-string", QUAD, "+hydra.sweeper.engine.refit_growth=abc", error=("refit_growth", "abc"))
bayes("jax-refit_growth-below-1", QUAD, "+hydra.sweeper.engine.refit_growth=0.5", error=("refit_growth", "0.5"))
bayes("jax-full_fit_below-negative", QUAD, "+hydra.sweeper.engine.full_fit_below=-1", error=("full_fit_below", "-1"))
bayes("jax-max_fit_points-1", QUAD, "+hydra.sweeper.engine.max_fit_points=1", error=("max_fit_points", "1"))
bayes("jax-blas_threads-0", QUAD, "+hydra.sweeper.engine.blas_threads=0", error=("blas_threads", "0"))
bayes("jax-output_warping", QUAD, "+hydra.sweeper.engine.output_warping=log", error=("output_warping", "'log'"))
bayes("jax-noise_prior", QUAD, "+hydra.sweeper.engine.noise_prior=flat", error=("noise_prior", "'flat'"))
# compilation_cache is a folder, true or false; 5 is none of them.
bayes("jax-compilation_cache-number", QUAD, "+hydra.sweeper.engine.compilation_cache=5",
      error=("compilation_cache", "5"))
bayes("jax-engine-not-a-mapping", QUAD, "hydra.sweeper.engine=fast", error=("engine",))
bayes("jax-engine-options-ok", QUAD, "+hydra.sweeper.engine.dtype=float32", "+hydra.sweeper.engine.n_candidates=64",
      "hydra.sweeper.n_trials=3", check=every(ran(3), distinct("x")))
# Hydra's own message says to write +hydra.sweeper.engine=...
bayes("jax-engine-without-plus", QUAD, "hydra.sweeper.engine={dtype:float32}", error=("+hydra.sweeper.engine",))
# engine options of the skopt engine
SKOPT = "hydra.sweeper.backend=skopt"
bayes("skopt-engine-unknown-option", QUAD, SKOPT, "+hydra.sweeper.engine.device=cpu", error=("device",))
bayes("skopt-acq_optimizer", QUAD, SKOPT, "+hydra.sweeper.engine.acq_optimizer=adam", error=("acq_optimizer", "'adam'"))
bayes("skopt-n_points-0", QUAD, SKOPT, "+hydra.sweeper.engine.n_points=0", error=("n_points", "0"))
bayes("skopt-n_restarts_optimizer-string", QUAD, SKOPT, "+hydra.sweeper.engine.n_restarts_optimizer=abc",
      error=("n_restarts_optimizer", "abc"))
bayes("skopt-xi-nan", QUAD, SKOPT, "hydra.sweeper.xi=nan", error=("xi", "nan"))

# ==================================================================================================
# Warm start files
# ==================================================================================================


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def prepare(t: Path) -> None:
        path = t / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return prepare


def _sqlite(path: Path, script: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    conn.close()


def _store_trials(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        n = conn.execute("SELECT count(*) FROM trials").fetchone()[0]
    conn.close()
    return n


WS = "hydra.sweeper.warm_start=[{tmp}/%s]"
rand("warm_start-missing", QUAD, WS % "nothing.csv", error=("warm_start", "nothing.csv", "does not exist"))
rand("warm_start-empty-dir", QUAD, WS % "emptydir", prepare=lambda t: (t / "emptydir").mkdir(),
     error=("warm_start", "emptydir"))
rand("warm_start-binary", QUAD, WS % "blob.csv", prepare=_write("blob.csv", bytes(range(256)) * 16),
     error=("warm_start", "blob.csv"))
rand("warm_start-not-utf8", QUAD, WS % "latin1.csv",
     prepare=_write("latin1.csv", "number,x,y,a,value,status\n0,0.1,0.2,1,0.5,completed\n"
                                  "1,0.1,0.2,1,0.5,complété\n".encode("latin-1")),
     error=("warm_start", "latin1.csv"))
# An empty file or one without the space's columns seeds nothing: a mistake to name, not 0 trials.
rand("warm_start-empty-csv", QUAD, WS % "empty.csv", prepare=_write("empty.csv", ""), error=("warm_start", "empty.csv"))
rand("warm_start-wrong-columns", QUAD, WS % "cols.csv", prepare=_write("cols.csv", "foo,bar\n1,2\n3,4\n"),
     error=("warm_start", "cols.csv", "column"))
rand("warm_start-non-numeric-value", QUAD, WS % "nn.csv",
     prepare=_write("nn.csv", "number,x,y,a,value,status\n0,0.1,0.2,1,fast,completed\n"),
     error=("warm_start", "nn.csv", "fast"))
rand("warm_start-dev-zero", QUAD, "hydra.sweeper.warm_start=[/dev/zero]", error=("warm_start", "/dev/zero"))
rand("warm_start-text-as-db", QUAD, WS % "fake.db", prepare=_write("fake.db", "hello\n" * 50),
     error=("warm_start", "fake.db"))
rand("warm_start-empty-db", QUAD, WS % "zero.db", prepare=_write("zero.db", b""), error=("warm_start", "zero.db"))
rand("warm_start-foreign-sqlite", QUAD, WS % "other.db",
     prepare=lambda t: _sqlite(t / "other.db", "CREATE TABLE users (name TEXT);"), error=("warm_start", "other.db"))
# A recursive VIEW named trials never ends: foreign stores are read with a time bound (issue #11, 12).
rand("warm_start-recursive-view", QUAD, WS % "loop.db", prepare=lambda t: _sqlite(t / "loop.db", (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE VIEW trials AS WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r) "
    "SELECT n AS number, '{}' AS params, 'completed' AS status, 1.0 AS value, NULL AS error, NULL AS started_at, "
    "NULL AS duration_s, NULL AS job_dir, 0.0 AS proposed_at FROM r;")), error=("warm_start", "loop.db"))
rand("warm_start-not-a-list", QUAD, "hydra.sweeper.warm_start=abc", error=("warm_start",))
rand("warm_start-csv-ok", QUAD, WS % "good.csv", prepare=_write(
    "good.csv", "number,x,y,a,value,status,error\n0,0.1,0.2,1,0.5,completed,\n1,0.3,-0.2,2,0.02,completed,\n"
                "2,9.0,0.0,1,1.0,completed,\n"), check=every(ran(2), logged("2 of 3 trials fit")))
rand("warm_start-sweep-dir-ok", QUAD, "hydra.sweeper.warm_start=[{tmp}/sweep0]",
     before=("hydra/sweeper=random", QUAD, "hydra.sweeper.n_trials=3", "hydra.sweep.dir={tmp}/sweep0"),
     check=every(ran(2), logged("3 of 3 trials fit")))

# ==================================================================================================
# Enqueued trials
# ==================================================================================================

EQ = "hydra.sweeper.enqueue=[%s]"
rand("enqueue-unknown-key", QUAD, EQ % "{x:0.1,y:0.2,a:1,zz:1}", error=("enqueue[0]", "zz"))
rand("enqueue-missing-key", QUAD, EQ % "{x:0.1}", error=("enqueue[0]", "y"))
rand("enqueue-out-of-range", QUAD, EQ % "{x:5,y:0.2,a:1}", error=("enqueue[0]", "'x'", "outside"))
rand("enqueue-wrong-type", QUAD, EQ % "{x:abc,y:0.2,a:1}", error=("enqueue[0]", "'x'", "abc"))
rand("enqueue-fractional-int", QUAD, EQ % "{x:0.1,y:0.2,a:1.5}", error=("enqueue[0]", "'a'", "1.5"))
rand("enqueue-second-bad", QUAD, EQ % "{x:0.1,y:0.2,a:1},{x:0.1,y:9,a:1}", error=("enqueue[1]", "'y'"))
rand("enqueue-not-a-mapping", QUAD, EQ % "1", error=("enqueue[0]", "mapping"))
rand("enqueue-not-a-list", QUAD, "hydra.sweeper.enqueue=abc", error=("enqueue",))
rand("enqueue-choice-not-listed", "value=choice(a,b)", "x=interval(0,1)", EQ % "{value:c,x:0.5}",
     error=("enqueue[0]", "'value'"))
rand("enqueue-list-value", "value=choice(a,b)", "x=interval(0,1)", EQ % "{value:[a,b],x:0.5}",
     error=("enqueue[0]", "'value'"))
rand("enqueue-list-value-of-list-choice", ROW_SPACE, EQ % "{value:[1,2]}", space="value: [[1, 2], [3]]",
     check=every(ran(2), lambda o: o.values("value")[0] == [1, 2]))
# The same configuration enqueued twice ran twice (issue #11, 13): a named error, before any job.
rand("enqueue-duplicate", QUAD, EQ % "{x:0.1,y:0.2,a:1},{x:0.1,y:0.2,a:1}", "hydra.sweeper.n_trials=3",
     error=("enqueue[1]", "repeats enqueue[0]"))
rand("enqueue-ok", QUAD, EQ % "{x:0.125,y:-0.5,a:3}", check=every(ran(2), lambda o: o.jobs[0]["x"] == 0.125
                                                                  and o.jobs[0]["y"] == -0.5 and o.jobs[0]["a"] == 3))
rand("enqueue-int-for-float-ok", QUAD, EQ % "{x:1,y:0,a:3}", check=lambda o: o.jobs[0]["x"] == 1.0)
# An enqueued grid point is not run twice (issue #11, 3).
grid("enqueue-grid-point-runs-once", "x=choice(0.1,0.2,0.3)", "y=choice(1,2)", "hydra.sweeper.batch_size=2",
     EQ % "{x:0.1,y:1}", check=every(ran(6), lambda o: len({(j["x"], j["y"]) for j in o.jobs}) == 6))


# ==================================================================================================
# The shared settings under the other two sweepers (checked the same way, before any job)
# ==================================================================================================

grid("grid-seed-negative", "a=1,2", "hydra.sweeper.seed=-1", error=("seed", "-1"))
grid("grid-max_failure_rate-2", "a=1,2", "hydra.sweeper.max_failure_rate=2", error=("max_failure_rate", "2"))
grid("grid-storage-directory", "a=1,2", "hydra.sweeper.storage={tmp}/adir", prepare=lambda t: (t / "adir").mkdir(),
     error=("adir", "directory"))
grid("grid-warm_start-missing", "a=1,2", WS % "nothing.csv", error=("warm_start", "nothing.csv", "does not exist"))
grid("grid-enqueue-unknown-key", "a=1,2", EQ % "{zz:1}", error=("enqueue[0]", "zz"))
grid("grid-enqueue-off-the-grid", "a=1,2", EQ % "{a:3}", error=("enqueue[0]", "'a'", "3"))
grid("grid-early_stop-patience-0", "a=1,2", "hydra.sweeper.early_stop.patience=0", error=("early_stop.patience", "0"))
grid("grid-objective-blank", "a=1,2", "hydra.sweeper.objective=' '", error=("objective",))
bayes("bayes-batch_size-0", QUAD, "hydra.sweeper.batch_size=0", error=("batch_size", ">= 1"))
bayes("bayes-max_failure_rate-2", QUAD, "hydra.sweeper.max_failure_rate=2", error=("max_failure_rate", "2"))
bayes("bayes-storage-directory", QUAD, "hydra.sweeper.storage={tmp}/adir", prepare=lambda t: (t / "adir").mkdir(),
      error=("adir", "directory"))
bayes("bayes-warm_start-missing", QUAD, WS % "nothing.csv", error=("warm_start", "nothing.csv", "does not exist"))
bayes("bayes-warm_start-binary", QUAD, WS % "blob.csv", prepare=_write("blob.csv", bytes(range(256)) * 16),
      error=("warm_start", "blob.csv"))
bayes("bayes-enqueue-out-of-range", QUAD, EQ % "{x:5,y:0.2,a:1}", error=("enqueue[0]", "'x'", "outside"))
bayes("bayes-early_stop-target-nan", QUAD, "hydra.sweeper.early_stop.target=nan", error=("early_stop.target", "nan"))
bayes("bayes-enqueue-ok", QUAD, EQ % "{x:0.125,y:-0.5,a:3}", check=every(ran(2), lambda o: o.jobs[0]["x"] == 0.125))


# ==================================================================================================
# The harness
# ==================================================================================================

#: Loaded once by the fork server, so that each row's child starts with them imported.
_PRELOAD = ["numpy", "scipy.stats", "skopt", "hydra", "hydra_plugins.hpo_sweeper_plugin._impl", "jax",
            "test_bad_input_table"]


def _context() -> Any:
    """A fork server: each row is a fork of one clean process.

    Not a plain fork of the pytest worker: under ``-n 2`` the worker may have run JAX tests before
    and hold XLA's threads, and a fork of a multithreaded process can deadlock. The fork server is
    a fresh, single-threaded interpreter that has imported Hydra, the plugin and JAX (JAX starts no
    thread until it is used), so a row's child costs a fork, not an interpreter start.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def run_sweep(overrides: list[str], sweep_dir: str) -> None:
    """The quadratic app's multirun, in this process, as ``hydra_sweep_runner`` runs it."""
    from conftest import load_app
    from hydra.test_utils.test_utils import SweepTaskFunction

    runner = SweepTaskFunction()
    runner.calling_file, runner.calling_module = str(APP_FILE), None
    runner.task_function, runner.config_path, runner.config_name = load_app().task, "conf", "config"
    runner.overrides, runner.temp_dir = overrides, sweep_dir
    runner.__enter__()  # not a `with`: its __exit__ deletes the sweep dir


def _child(conn: Any, work: Callable[..., Any], args: tuple[Any, ...], output: str) -> None:
    """Runs ``work(*args)`` in this (forked) process and sends what reached the user."""
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    os.environ.pop("HYDRA_FULL_ERROR", None)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    logs: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logs.append(f"{record.levelname}: {record.getMessage()}")

    logger = logging.getLogger("hpo_sweeper")
    logger.setLevel(logging.INFO)
    logger.addHandler(Collect())
    report: dict[str, Any]
    try:
        work(*args)
        report = {"ok": True}
    except BaseException as e:
        report = {
            "ok": False,
            "type": f"{type(e).__module__}.{type(e).__qualname__}",
            "clear": is_clear_error(e),
            "message": user_message(e),
            "traceback": traceback.format_exc()[-4000:],
        }
    report["logs"] = logs
    sys.stdout.flush()
    sys.stderr.flush()
    with open(output, errors="replace") as f:
        report["output"] = f.read()[-6000:]
    conn.send(report)
    conn.close()
    os._exit(0)


def run_isolated(overrides: list[str], sweep_dir: Path, output: Path) -> dict[str, Any]:
    """One sweep in a child under the memory and time limits; its report, or why there is none."""
    return run_in_child(run_sweep, (overrides, str(sweep_dir)), output)


def run_in_child(
    work: Callable[..., Any], args: tuple[Any, ...], output: Path, time_limit: float = TIME_LIMIT
) -> dict[str, Any]:
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(send, work, args, str(output)))
    p.start()
    send.close()
    report = None
    if receive.poll(time_limit):
        try:
            report = receive.recv()
        except EOFError:
            pass
    p.join(5)
    if p.is_alive():
        p.kill()
        p.join()
        tail = output.read_text(errors="replace")[-3000:] if output.exists() else ""
        return {"ok": False, "type": "hang", "clear": False,
                "message": f"no answer within {time_limit:.0f} s (killed)", "output": tail}
    if report is None:
        tail = output.read_text(errors="replace")[-3000:] if output.exists() else ""
        return {"ok": False, "type": "crash", "clear": False,
                "message": f"the child died with exit code {p.exitcode} before it reported", "output": tail}
    return report


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (not the row's own log) and a hash of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.name != "child.log":
            try:
                out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as e:
                out[str(path.relative_to(folder))] = f"unreadable: {e}"
    return out


def _job_dirs(sweep_dir: Path) -> list[str]:
    if not sweep_dir.is_dir():
        return []
    return sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())


def _expand(overrides: tuple[str, ...], tmp: Path) -> list[str]:
    return [o.replace("{tmp}", str(tmp)) for o in overrides]


def _row_overrides(row: Row, tmp: Path, sweep_dir: Path, markers: Path) -> list[str]:
    extra = [f"marker_dir={markers}", "hydra.job.chdir=false"]
    if not any(o.startswith("hydra.sweeper.plots=") for o in row.overrides):
        extra.insert(0, "hydra.sweeper.plots=false")
    if row.space is not None:
        folder = tmp / "conf" / "search_space"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "row.yaml").write_text("# @package hydra.sweeper.params\n" + row.space + "\n", encoding="utf-8")
        extra.append(f"hydra.searchpath=[file://{tmp / 'conf'}]")
    return [*_expand(row.overrides, tmp), *extra]


def _prepare(row: Row, tmp: Path, sweep_dir: Path) -> None:
    if row.before is not None:
        ahead = [*_expand(row.before, tmp), "hydra.sweeper.plots=false", "hydra.job.chdir=false",
                 f"marker_dir={tmp / 'markers_before'}"]
        target = sweep_dir
        for o in ahead:
            if o.startswith("hydra.sweep.dir="):
                target = Path(o.split("=", 1)[1])
        ahead = [o for o in ahead if not o.startswith("hydra.sweep.dir=")]
        report = run_isolated(ahead, target, tmp / "before.log")
        assert report["ok"], f"the sweep before the row failed: {report.get('message')}\n{report.get('output')}"
    if row.prepare is not None:
        row.prepare(tmp)


#: Files a refused row must not create (issue #11, 16: not even the lock of a refused store).
RECORDS = ("trials.db", "trials.csv", "optimization_results.yaml", ".lock", ".db-wal")


def check_row(row: Row, outcome: Outcome, before: dict[str, str], tmp: Path) -> None:
    r = outcome.report
    if row.error is not None:
        assert not r["ok"], f"accepted, but expected an error naming {row.error}\n{outcome.describe()}"
        assert r["clear"], f"not a clear error: the user sees a traceback\n{outcome.describe()}"
        # The row's folder is named after the test (and so the row): its words must not count.
        message = r["message"].replace(str(tmp), "<tmp>").lower()
        for word in row.error:
            assert word.lower() in message, f"{word!r} is not in the message\n{outcome.describe()}"
        assert outcome.jobs == [], f"the error came after {len(outcome.jobs)} job(s) ran\n{outcome.describe()}"
        after = _snapshot(tmp)
        # A lock file holds its owner's pid, rewritten by whoever opens the store: not content.
        changed = sorted(k for k in before if after.get(k) != before[k] and not k.endswith(".lock"))
        assert changed == [], f"files that existed before the row were changed or removed: {changed}"
        created = sorted(set(after) - set(before))
        made = [k for k in created if k.endswith(RECORDS)
                or Path(k).parts[:1] == ("sweep",) and Path(k).parts[1].isdigit()]
        assert made == [], f"the refused row created a store, a results file, a lock or a job dir: {made}"
    else:
        assert r["ok"], f"expected to be accepted\n{outcome.describe()}"
        assert row.check is not None
        try:
            row.check(outcome)
        except AssertionError as e:
            raise AssertionError(f"accepted, but not with the stated meaning: {e}\n{outcome.describe()}") from None


@pytest.mark.parametrize("row_id", list(ROWS))
def test_bad_input_row(tmp_path: Path, row_id: str) -> None:
    row = ROWS[row_id]
    sweep_dir, markers = tmp_path / "sweep", tmp_path / "markers"
    _prepare(row, tmp_path, sweep_dir)
    before = _snapshot(tmp_path)
    overrides = _row_overrides(row, tmp_path, sweep_dir, markers)
    report = run_isolated(overrides, sweep_dir, tmp_path / "child.log")
    check_row(row, Outcome(report, sweep_dir, markers), before, tmp_path)


def test_the_limits_catch_a_hang_and_a_blow_up(tmp_path: Path) -> None:
    """The control: a child that sleeps is killed at its time limit, and one that asks for more
    memory than the limit gets a MemoryError (not the machine's memory); neither is a clear error."""
    import time

    hang = run_in_child(time.sleep, (600,), tmp_path / "hang.log", time_limit=3)
    assert (hang["type"], hang["clear"]) == ("hang", False), hang
    blow_up = run_in_child(bytearray, (2 * MEMORY_LIMIT,), tmp_path / "memory.log")
    assert (blow_up["type"], blow_up["clear"]) == ("builtins.MemoryError", False), blow_up
    good = run_in_child(sorted, ([2, 1],), tmp_path / "good.log")
    assert good["ok"], good


def test_table_is_big_enough() -> None:
    errors = sum(r.error is not None for r in ROWS.values())
    assert len(ROWS) >= 150 and errors >= 100 and len(ROWS) - errors >= 40, (len(ROWS), errors)


# ==================================================================================================
# What a user sees on the terminal
# ==================================================================================================

#: Rows run again as real processes: errors from Hydra, from our settings, search space and files,
#: and accepted sweeps of each kind (bayes included: a short bayes sweep must exit 0, issue #11, 1).
TERMINAL_ROWS = [
    "interval-low-above-high", "n_trials-string", "seed-negative", "warm_start-binary", "storage-directory",
    "jax-device-number", "choice-comma-form", "bayes-ok",
]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("row_id", TERMINAL_ROWS)
def test_bad_input_on_the_terminal(tmp_path: Path, row_id: str) -> None:
    row = ROWS[row_id]
    sweep_dir, markers = tmp_path / "sweep", tmp_path / "markers"
    _prepare(row, tmp_path, sweep_dir)
    overrides = _row_overrides(row, tmp_path, sweep_dir, markers)
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env.setdefault("JAX_PLATFORMS", "cpu")
    proc = subprocess.run(
        [sys.executable, str(APP_FILE), "-m", *overrides, f"hydra.sweep.dir={sweep_dir}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIME_LIMIT * 3, preexec_fn=_limit_memory,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    outcome = Outcome({"ok": proc.returncode == 0, "logs": proc.stdout.splitlines() + proc.stderr.splitlines()},
                      sweep_dir, markers)
    if row.error is not None:
        assert proc.returncode == 1, (proc.returncode, proc.stderr)
        message = proc.stderr.replace(str(tmp_path), "<tmp>").lower()
        for word in row.error:
            assert word.lower() in message, proc.stderr
        assert outcome.jobs == [] and _job_dirs(sweep_dir) == [], "a job ran"
    else:
        assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
        assert row.check is not None
        row.check(outcome)
