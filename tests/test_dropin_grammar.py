"""The choice-sweep branch of ``grammar.parse_override`` as Hydra's basic sweeper users write it:
list and dict values, nested choices, ``glob()``."""

from __future__ import annotations

import pytest

from hpo_sweeper.grammar import encode_override, parse_override
from hpo_sweeper.space import Kind, SearchSpace, SearchSpaceError


@pytest.mark.parametrize("line, choices, written", [
    ("+l=[1,2],[3,4]", ([1, 2], [3, 4]), ["+l=[1,2]", "+l=[3,4]"]),
    ("d={a:1},{b:2}", ({"a": 1}, {"b": 2}), ["d={a:1}", "d={b:2}"]),
    ("l=choice([1,2],[])", ([1, 2], []), ["l=[1,2]", "l=[]"]),
])
def test_list_and_dict_values_are_choices_written_back_as_the_basic_sweeper_writes_them(line, choices, written) -> None:
    p = parse_override(line)
    assert p.kind is Kind.CATEGORICAL and p.choices == choices
    assert [encode_override(p.name, c) for c in p.choices] == written
    # a space of such values can tell its points apart (duplicate checks, resume)
    space = SearchSpace((p,))
    assert len({space.key({p.name: c}) for c in p.choices}) == len(choices)


@pytest.mark.parametrize("line", ["x=choice(choice(a,b),c)", "x=choice(a,b),c"])
def test_a_nested_choice_is_a_clear_error(line) -> None:
    with pytest.raises(SearchSpaceError, match=r"parameter 'x': a choice\(\) or glob\(\) inside a choice"):
        parse_override(line)


def test_glob_without_hydra_s_config_loader_is_a_clear_error() -> None:
    with pytest.raises(SearchSpaceError, match=r"parameter 'db': glob\(\) lists the options of a config group"):
        parse_override("db=glob(*)")
