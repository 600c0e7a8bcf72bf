"""Hydra's override grammar <-> parameters (hpo_sweeper.grammar), table-driven.

hydra-core's own parser is the oracle wherever it has an opinion: range() values are
compared with hydra's own enumeration, and every encoded value is parsed back by
``OverridesParser``.
"""

from __future__ import annotations

import math
import random

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import QuotedString

from hpo_sweeper import Kind, Parameter, SearchSpace, SearchSpaceError
from hpo_sweeper.grammar import Fixed, Passthrough, encode_override, encode_value, parse_override, parse_spec

F, I, C = Kind.FLOAT, Kind.INT, Kind.CATEGORICAL
PARSER = OverridesParser.create()


def hydra_value(text: str):
    """What hydra's parser makes of ``k=<text>``, as a plain Python value."""
    override = PARSER.parse_override(f"k={text}")
    assert not override.is_sweep_override(), text
    v = override.value()
    return v.text if isinstance(v, QuotedString) else v


def same(a, b) -> bool:
    """Equal, of the same type, and NaN equal to NaN, -0.0 different from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


# --- every grammar form -> Parameter ------------------------------------------------------------

GRAMMAR = [
    # (override, expected Parameter)
    ("lr=interval(0.1, 1)", Parameter("lr", F, low=0.1, high=1.0)),
    ("lr=interval(-3, 2.5)", Parameter("lr", F, low=-3.0, high=2.5)),
    ("n=int(interval(1, 10))", Parameter("n", I, low=1, high=10)),
    ("lr=tag(log, interval(1e-4, 1e-1))", Parameter("lr", F, low=1e-4, high=0.1, log=True)),
    ("w=tag(log, int(interval(16, 256)))", Parameter("w", I, low=16, high=256, log=True)),
    # range() excludes its stop, like Python's range and Hydra's basic sweeper
    ("r=range(1, 10)", Parameter("r", I, low=1, high=9, step=1)),
    ("r=range(5)", Parameter("r", I, low=0, high=4, step=1)),
    ("r=range(0, 10, 3)", Parameter("r", I, low=0, high=9, step=3)),
    ("r=range(0, 9, 3)", Parameter("r", I, low=0, high=6, step=3)),
    ("r=range(10, 0, -2)", Parameter("r", I, low=2, high=10, step=2)),
    ("r=range(0.0, 1.0, 0.25)", Parameter("r", F, low=0.0, high=0.75, step=0.25)),
    ("r=range(0, 1, 0.1)", Parameter("r", F, low=0.0, high=0.9, step=0.1)),
    ("r=range(1, 2)", Parameter("r", C, choices=(1,))),  # one value: nothing to search
    ("c=choice(a, b, c)", Parameter("c", C, choices=("a", "b", "c"))),
    ("c=choice(1, 2, 3)", Parameter("c", C, choices=(1, 2, 3))),
    ("c=choice(0.5, 1e-3, 2.0)", Parameter("c", C, choices=(0.5, 1e-3, 2.0))),
    ("c=choice(true, false)", Parameter("c", C, choices=(True, False))),
    ("c=choice('hello world', \"a,b\", 'it\\'s')", Parameter("c", C, choices=("hello world", "a,b", "it's"))),
    ("c=choice(a, 1, 1.5, true, 'x y')", Parameter("c", C, choices=("a", 1, 1.5, True, "x y"))),
    # hydra's choice() itself refuses null; the sweeper accepts it
    ("c=choice(a, null)", Parameter("c", C, choices=("a", None))),
    ("c=choice(null, 1, 2)", Parameter("c", C, choices=(None, 1, 2))),
    ("c=choice(a)", Parameter("c", C, choices=("a",))),
    ("c=choice(1, true)", Parameter("c", C, choices=(1, True))),  # 1 and true are different values
    # the comma form
    ("c=a,b,c", Parameter("c", C, choices=("a", "b", "c"))),
    ("c=1,2,3", Parameter("c", C, choices=(1, 2, 3))),
    ("c=x,null", Parameter("c", C, choices=("x", None))),
    ("group=x,y", Parameter("group", C, choices=("x", "y"))),
    # whitespace inside the call is Hydra's business
    ("lr=interval( 0.1 ,1 )", Parameter("lr", F, low=0.1, high=1.0)),
]


@pytest.mark.parametrize("line, expected", GRAMMAR, ids=[g[0] for g in GRAMMAR])
def test_grammar_form_becomes_parameter(line: str, expected: Parameter) -> None:
    got = parse_override(line)
    assert got == expected
    if expected.kind is not C:
        # numeric types as well as values: an int parameter has int bounds
        assert type(got.low) is type(expected.low) and type(got.high) is type(expected.high)
    else:
        assert all(same(a, b) for a, b in zip(got.choices, expected.choices))


@pytest.mark.parametrize(
    "spec",
    ["range(1, 10)", "range(0, 10, 3)", "range(10, 0, -2)", "range(0.0, 1.0, 0.25)", "range(0, 1, 0.1)",
     "range(0, 0.3, 0.1)", "range(0, 0.7, 0.1)", "range(-1, 1, 0.4)", "range(2.5, 10, 2.5)",
     # first/last/count are computed, not listed: the same values as hydra's for every direction
     "range(10, 0, -3)", "range(10, -1, -3)", "range(-7, 8, 5)", "range(0, 2, 7)", "range(3, -3, -1)",
     "range(1.0, 0.0, -0.3)", "range(0.5, 2.0, 0.5)"],
)
def test_range_levels_are_hydras_range(spec: str) -> None:
    """Every value hydra's basic sweeper would run, stop excluded, and nothing else."""
    hydra_values = sorted(PARSER.parse_override(f"k={spec}").value().range())
    p = parse_override(f"k={spec}")
    assert p.levels() == pytest.approx(hydra_values, abs=1e-12)
    assert p.grid(2) == p.levels()  # a grid runs every level of a range, whatever grid_points


def test_range_of_tiny_floats_keeps_its_bounds() -> None:
    # Bounds rounded to 12 decimal places made this range start at 0.0. (Hydra's own float
    # range reaches 1e-13 here by accumulated rounding; stop is excluded, as in Python.)
    p = parse_override("k=range(1e-14, 1e-13, 1e-14)")
    assert (p.low, p.high, p.step, p.n_levels) == (1e-14, 9e-14, 1e-14, 9)


def test_range_of_a_billion_is_not_listed() -> None:
    # range(0, 1000000000) built the list of its values (> 3 GB); under a memory bound now.
    from bounded import within_memory

    def facts():
        p = parse_override("y=range(0,1000000000)")
        down = parse_override("y=range(10**9, 0, -7)".replace("10**9", str(10**9)))
        return p, p.n_levels, down, down.n_levels, down.levels()[0], down.levels()[-1]

    p, n, down, n_down, first, last = within_memory(facts)
    assert p == Parameter("y", I, low=0, high=999_999_999, step=1) and n == 10**9
    hydra_down = range(10**9, 0, -7)  # Python's range, which Hydra's int range follows
    assert n_down == len(hydra_down) and (first, last) == (hydra_down[-1], hydra_down[0])
    assert down.high == 10**9 and down.step == 7


INT_CAST_TRUNCATES = [
    # Hydra's int() truncates: int(interval(1.5, 2.5)) was silently the space [1, 2]
    "n=int(interval(1.5, 2.5))",
    "n=int(interval(1, 2.5))",
    "n=int(interval(0.5, 3))",
    "n=tag(log, int(interval(1.5, 8)))",
    "n=int(tag(log, interval(1.5, 8)))",
    "n=int(range(1.5, 3.5))",
    "n=int(range(0, 10, 2.5))",
    "n=int(range(0, 10.5))",
]


@pytest.mark.parametrize("line", INT_CAST_TRUNCATES)
def test_int_cast_of_fractional_bounds_is_refused(line: str) -> None:
    with pytest.raises(SearchSpaceError) as e:
        parse_override(line)
    msg = str(e.value)
    assert msg.startswith("parameter 'n': ") and "are not integers" in msg and "truncate" in msg, msg
    assert line.split("=", 1)[1] in msg  # the text as written


def test_int_cast_message_is_exact() -> None:
    with pytest.raises(SearchSpaceError) as e:
        parse_override("n=int(interval(1.5, 2.5))")
    assert str(e.value) == (
        "parameter 'n': int(interval(1.5, 2.5)): bounds are not integers "
        "(int() would silently truncate them to [1, 2]); write integers"
    )


@pytest.mark.parametrize(
    "line, expected",
    [
        ("n=int(interval(1.0, 3.0))", Parameter("n", I, low=1, high=3)),  # integral floats are fine
        ("n=int(interval(1, 3))", Parameter("n", I, low=1, high=3)),
        ("n=tag(log, int(interval(2, 64)))", Parameter("n", I, low=2, high=64, log=True)),
        ("n=int(range(0, 10, 2))", Parameter("n", I, low=0, high=8, step=2)),
        ("n=int(range(0.0, 4.0))", Parameter("n", I, low=0, high=3, step=1)),
        ("print=int(interval(1, 3))", Parameter("print", I, low=1, high=3)),  # 'int' in the key
    ],
)
def test_int_cast_of_integral_bounds_is_accepted(line: str, expected: Parameter) -> None:
    assert parse_override(line) == expected


def test_list_and_dict_choice_values_parse_and_key() -> None:
    # '+z=choice(a,[1,2])' ran trial 0 and then crashed: unhashable type: 'list'
    p = parse_override("z=choice(a,[1,2],{b:1,c:[x]})")
    assert p == Parameter("z", C, choices=("a", [1, 2], {"b": 1, "c": ["x"]}))
    space = SearchSpace((p,))
    assert len({space.key({"z": c}) for c in p.choices}) == 3
    assert [hydra_value(encode_value(c)) for c in p.choices] == list(p.choices)
    spec = parse_spec("z", {"type": "categorical", "choices": [[1, 2], {"k": "v"}]})
    assert spec == Parameter("z", C, choices=([1, 2], {"k": "v"}))


PLAIN = [
    ("x=5", Fixed("x", 5)),
    ("x=0.5", Fixed("x", 0.5)),
    ("x=1e-5", Fixed("x", 1e-5)),
    ("x=hello", Fixed("x", "hello")),
    ("x='hello world'", Fixed("x", "hello world")),
    ("x=true", Fixed("x", True)),
    ("x=null", Fixed("x", None)),
    ("x=[1,2]", Fixed("x", [1, 2])),
    ("db=mysql", Fixed("db", "mysql")),  # a config group value
]


@pytest.mark.parametrize("line, expected", PLAIN, ids=[p[0] for p in PLAIN])
def test_plain_value_is_fixed(line: str, expected: Fixed) -> None:
    got = parse_override(line)
    assert got == expected
    assert type(got.value) is type(expected.value)


PASSTHROUGH = [
    ("+k=1", "k"),
    ("++k=2", "k"),
    ("~k", "k"),
    ("~k=3", "k"),
    ("db@pkg=mysql", "db"),
    ("+db@pkg=mysql", "db"),
]


@pytest.mark.parametrize("line, key", PASSTHROUGH, ids=[p[0] for p in PASSTHROUGH])
def test_non_sweep_prefixed_overrides_pass_through_verbatim(line: str, key: str) -> None:
    assert parse_override(line) == Passthrough(key, line)


def test_prefixed_sweep_is_a_parameter_that_keeps_its_prefix() -> None:
    # '+lr=interval(...)' searches lr; the '+' must reach each job's override.
    assert parse_override("+lr=interval(0, 1)") == Parameter("+lr", F, low=0.0, high=1.0)


BAD_OVERRIDES = [
    ("x=interval(5, 1)", "low must be smaller than high"),
    ("x=interval(1, 1)", "low must be smaller than high"),
    ("x=tag(log, interval(0, 1))", "log scale needs bounds > 0"),
    ("x=tag(log, interval(-1, 1))", "log scale needs bounds > 0"),
    ("x=tag(log, int(interval(0, 8)))", "log scale needs bounds > 0"),
    ("x=choice()", "empty choice"),
    ("x=choice(a, a)", "lists a value twice"),
    ("x=range(1, 10, -1)", "empty"),
    ("x=range(1, 10, 0)", "step"),
    ("x=tag(log, range(1, 10))", "log"),
    ("x=glob(*)", "glob"),
    ("x=interval(0, inf)", "finite"),
    # A misspelt tag was silently a linear scale; the message names the tag and the allowed one.
    ("x=tag(lgo, interval(1, 100))", "unknown tag 'lgo'"),
    ("x=tag(log, lgo, interval(1, 100))", "the tags allowed are 'log'"),
    ("x=tag(lgo, choice(1, 2))", "'lgo'"),
    # "~x=1,2" deletes x only where it holds 1 (or 2): every job but one would fail.
    ("~x=1,2", "a deletion (~) cannot be swept"),
]


@pytest.mark.parametrize("line, problem", BAD_OVERRIDES, ids=[b[0] for b in BAD_OVERRIDES])
def test_bad_override_names_parameter_and_problem(line: str, problem: str) -> None:
    with pytest.raises(SearchSpaceError) as e:
        parse_override(line)
    assert "'x'" in str(e.value) and problem in str(e.value)


def test_an_empty_key_is_named_with_the_whole_override() -> None:
    # Hydra's parser reads "=1,2" as the key '': the message quotes what was typed.
    with pytest.raises(SearchSpaceError, match="'=1,2': the key before '=' is empty"):
        parse_override("=1,2")


def test_a_spec_key_holding_an_equals_sign_is_named_whole() -> None:
    with pytest.raises(SearchSpaceError, match="parameter 'a=b': a key cannot contain '='"):
        parse_spec("a=b", "interval(0, 1)")


# --- parse_spec: the values of hydra.sweeper.params -----------------------------------------------

SPECS = [
    ("interval(0.1, 1)", Parameter("p", F, low=0.1, high=1.0)),
    ("tag(log, int(interval(16, 256)))", Parameter("p", I, low=16, high=256, log=True)),
    ("choice(a, null)", Parameter("p", C, choices=("a", None))),
    ("a,b", Parameter("p", C, choices=("a", "b"))),
    # dict form (the Optuna sweeper's search_space keys)
    ({"type": "float", "low": 0.1, "high": 1.0}, Parameter("p", F, low=0.1, high=1.0)),
    ({"type": "float", "low": 1e-4, "high": 1e-1, "log": True}, Parameter("p", F, low=1e-4, high=0.1, log=True)),
    ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.25}, Parameter("p", F, low=0.0, high=1.0, step=0.25)),
    ({"type": "int", "low": 1, "high": 9}, Parameter("p", I, low=1, high=9)),
    ({"type": "int", "low": 1, "high": 9, "step": 1}, Parameter("p", I, low=1, high=9)),
    ({"type": "int", "low": 1, "high": 9, "step": 2}, Parameter("p", I, low=1, high=9, step=2)),
    ({"type": "int", "low": 16, "high": 256, "log": True}, Parameter("p", I, low=16, high=256, log=True)),
    ({"type": "categorical", "choices": ["a", 1, None, True]}, Parameter("p", C, choices=("a", 1, None, True))),
    ({"choices": [32, 64]}, Parameter("p", C, choices=(32, 64))),
    # a list is a choice; any other value is fixed
    (["relu", "tanh"], Parameter("p", C, choices=("relu", "tanh"))),
    (5, Fixed("p", 5)),
    (0.5, Fixed("p", 0.5)),
    (None, Fixed("p", None)),
    (True, Fixed("p", True)),
    ("plain", Fixed("p", "plain")),
]


@pytest.mark.parametrize("spec, expected", SPECS, ids=[repr(s[0]) for s in SPECS])
def test_parse_spec(spec, expected) -> None:
    assert parse_spec("p", spec) == expected


def test_parse_spec_accepts_omegaconf_nodes() -> None:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"d": {"type": "categorical", "choices": ["a", None]}, "l": [1, 2]})
    assert parse_spec("d", cfg.d) == Parameter("d", C, choices=("a", None))
    assert parse_spec("l", cfg.l) == Parameter("l", C, choices=(1, 2))


BAD_DICTS = [
    ({"type": "floaty", "low": 0, "high": 1}, "unknown type 'floaty'"),
    ({"low": 0, "high": 1}, "unknown type None"),
    ({"type": "float", "low": 1, "high": 1e-3, "log": True}, "low must be smaller than high"),
    ({"type": "float", "low": 0, "high": 1, "log": True}, "log scale needs bounds > 0"),
    ({"type": "float", "low": 5, "high": 1}, "low must be smaller than high"),
    ({"type": "float", "high": 1}, "needs 'low'"),
    ({"type": "int", "low": "a", "high": 3}, "'low' must be a number"),
    ({"type": "int", "low": 0.5, "high": 3}, "integer bounds"),
    ({"type": "categorical", "choices": []}, "needs a non-empty list of choices"),
    ({"type": "categorical"}, "needs a non-empty list of choices"),
    ({"type": "categorical", "choices": "abc"}, "needs a non-empty list of choices"),
    ({"type": "float", "low": 0, "high": 1, "lg": True}, "unknown keys ['lg']"),
    # issue #11, defect 14: each of these was a traceback or a silently changed meaning
    ({"type": "float", "low": 0, "high": 1, "step": "abc"}, "'step' must be a number > 0, got 'abc'"),
    ({"type": "float", "low": 0, "high": 1, "step": 0}, "'step' must be a number > 0, got 0"),
    ({"type": "float", "low": 0, "high": 1, "step": -0.1}, "'step' must be a number > 0, got -0.1"),
    ({"type": "float", "low": 0, "high": 1, "step": True}, "'step' must be a number > 0, got True"),
    ({"type": "int", "low": 0, "high": 9, "step": [1]}, "'step' must be a number > 0, got [1]"),
    ({"type": "int", "low": 0, "high": 9, "step": 1.5}, "integer step"),
    ({"type": "float", "low": "0", "high": 1}, "'low' must be a number, got '0'"),
    ({"type": "float", "low": 0, "high": "1e-3"}, "'high' must be a number, got '1e-3'"),
    ({"type": "float", "low": 0, "high": True}, "'high' must be a number, got True"),
    ({"type": "float", "low": 0, "high": float("nan")}, "finite"),
    ({"type": "float", "low": 0, "high": [1]}, "'high' must be a number"),
    ({"type": "categorical", "choices": {}}, "needs a non-empty list of choices, got {}"),
    ({"type": "categorical", "choices": {"a": 1}}, "needs a non-empty list of choices"),
    ({"type": "categorical", "choices": 3}, "needs a non-empty list of choices, got 3"),
    ({"type": "categorical", "choices": ["a", "a"]}, "lists a value twice"),
    ({"type": "categorical", "choices": [[1, 2], [1, 2]]}, "lists a value twice"),
    ({"type": "categorical", "choices": ["a"], "low": 0}, "['low'] do not apply to a categorical"),
    ({"type": "categorical", "choices": ["a"], "log": True}, "['log'] do not apply to a categorical"),
    ({"choices": ["a"], "step": 1}, "['step'] do not apply to a categorical"),
    ({"type": "float", "low": 0, "high": 1, "choices": [0, 1]}, "'choices' does not apply to a float"),
    ({"type": ["float"], "low": 0, "high": 1}, "unknown type ['float']"),
    ({"type": 1, "low": 0, "high": 1}, "unknown type 1"),
    # issue #11, defect 13: bool('false') is True; a quoted 'false' must not become a log scale
    ({"type": "float", "low": 1e-4, "high": 1, "log": "false"}, "'log' must be true or false (unquoted), got 'false'"),
    ({"type": "float", "low": 1e-4, "high": 1, "log": "true"}, "'log' must be true or false (unquoted), got 'true'"),
    ({"type": "float", "low": 1e-4, "high": 1, "log": 1}, "'log' must be true or false (unquoted), got 1"),
    ({"type": "float", "low": 1e-4, "high": 1, "log": None}, "'log' must be true or false (unquoted), got None"),
]


@pytest.mark.parametrize("spec, problem", BAD_DICTS, ids=[repr(b[0]) for b in BAD_DICTS])
def test_bad_dict_names_parameter_and_problem(spec, problem: str) -> None:
    with pytest.raises(SearchSpaceError) as e:
        parse_spec("opt.lr", spec)
    assert "'opt.lr'" in str(e.value) and problem in str(e.value)


def test_from_config_splits_searched_and_fixed() -> None:
    space = SearchSpace.from_config({"lr": "tag(log, interval(1e-4, 1e-1))", "act": ["relu", "tanh"], "epochs": 3})
    assert space.names == ["lr", "act"]
    assert dict(space.fixed) == {"epochs": 3}


# --- encode_value: round trips through hydra's own parser --------------------------------------

STRINGS = [
    "hello", "hello world", "it's", 'say "hi"', "both ' and \"", "a,b,c", "a, b", "back\\slash",
    "two\\\\backslashes", "trailing\\", "\\'", "space and back\\slash", "quote at end'", "a=b", "k=v,w",
    "${foo}", "${foo.bar}", "${", "$x", " leading", "trailing ", "  ", "", "1", "-1", "1.5", "1e-5", "1e+20",
    "true", "false", "True", "null", "NULL", "nan", "inf", "-inf", "choice(a,b)", "interval(0, 1)",
    "[1,2]", "{a: 1}", "a:b", "path/to/file.txt", "#hash", "tab\there", "new\nline", "é ü 日本",
]

SCALARS = [
    True, False, None, 0, 7, -3, 10**20, 0.5, 1e-05, 1e+20, 1.5e-300, -0.0, 0.0, 123456789.123,
    float("inf"), float("-inf"), float("nan"),
]


@pytest.mark.parametrize("value", STRINGS + SCALARS, ids=[repr(v) for v in STRINGS + SCALARS])
def test_encode_value_round_trips_through_hydras_parser(value) -> None:
    text = encode_value(value)
    assert same(hydra_value(text), value), f"{value!r} -> {text} -> {hydra_value(text)!r}"


def test_encode_value_round_trips_random_strings() -> None:
    # Every character the override grammar treats specially, in random combinations.
    rng = random.Random(0)
    alphabet = "ab1 '\",=\\${}()[]:\t#.-e"
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        text = encode_value(value)
        assert same(hydra_value(text), value), f"{value!r} -> {text}"


def test_encode_value_numpy_scalars_become_python_values() -> None:
    import numpy as np

    assert same(hydra_value(encode_value(np.float64(1e-5))), 1e-5)
    assert same(hydra_value(encode_value(np.int64(42))), 42)
    assert same(hydra_value(encode_value(np.bool_(True))), True)


def test_encode_value_lists() -> None:
    value = [1, "a b", None, 2.5, True]
    assert hydra_value(encode_value(value)) == value


def test_encode_override_and_unencodable_value() -> None:
    assert encode_override("opt.lr", 1e-05) == "opt.lr=1e-05"
    with pytest.raises(SearchSpaceError, match="cannot encode"):
        encode_value(object())


def test_floats_keep_exponent_form_and_precision() -> None:
    # repr is the shortest text that reads back exactly: no precision lost on the way to a job.
    for v in [1e-05, 1e+20, 0.1, 1 / 3, 2.220446049250313e-16]:
        assert float(encode_value(v)) == v
    assert encode_value(1e-05) == "1e-05"
