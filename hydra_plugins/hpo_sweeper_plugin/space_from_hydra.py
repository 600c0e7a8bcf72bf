"""The search space of a Hydra sweep: ``hydra.sweeper.params`` plus the command line.

``build_space`` returns the space, the order of every job's override keys, the
pass-through overrides (handed to every job as typed) and the ``+``/``++`` prefixes of
searched keys. ``check_group_choices`` checks a searched config group's options against
Hydra's config loader, once, before job 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_sweeper.conditions import split_conditions
from hpo_sweeper.grammar import Fixed, Passthrough, parse_override, parse_spec
from hpo_sweeper.settings import SweepConfigError
from hpo_sweeper.space import Kind, Parameter, SearchSpace

__all__ = ["build_space", "check_group_choices", "representative_point"]


def build_space(
    params: Mapping[str, Any] | None, arguments: list[str], config_loader: Any = None
) -> tuple[SearchSpace, list[str], dict[str, str], dict[str, str]]:
    """Search space, job-override key order, pass-through overrides by key, and the
    ``+``/``++`` prefixes of searched keys.

    ``params`` (from ``hydra.sweeper.params``) come first; a command-line override of
    the same key replaces it in place: the command line wins. ``config_loader`` (Hydra's)
    lets ``glob(*)`` list a config group's options.
    """
    entries: dict[str, Parameter | Fixed | Passthrough] = {}
    prefixes: dict[str, str] = {}  # '+' of '+lr=interval(...)': kept for the overrides, not the name
    specs, when, forbidden = split_conditions(params or {})  # 'when' and 'forbidden': hpo_sweeper.conditions
    for name, spec in specs.items():
        entries[str(name)] = parse_spec(str(name), spec, config_loader)
    for line in arguments:
        parsed = parse_override(line, config_loader)
        if isinstance(parsed, Fixed):  # a plain override: hand it on exactly as typed
            parsed = Passthrough(parsed.name, line)
        if isinstance(parsed, Passthrough):
            entries[_bare(parsed.key)] = parsed
            continue
        bare = _bare(parsed.name)
        prefixes[bare] = parsed.name[: len(parsed.name) - len(bare)]
        entries[bare] = dataclasses.replace(parsed, name=bare)
    searched = tuple(e for e in entries.values() if isinstance(e, Parameter))
    fixed = {e.name: e.value for e in entries.values() if isinstance(e, Fixed)}
    passthrough = {k: e.text for k, e in entries.items() if isinstance(e, Passthrough)}
    keys = list(entries)
    return SearchSpace(searched, fixed, when, tuple(forbidden)), keys, passthrough, prefixes


def _bare(key: str) -> str:
    return key.lstrip("+~")


def check_group_choices(space: SearchSpace, config_loader: Any) -> None:
    """Every option of a searched config group must exist: checked once, before job 0."""
    if config_loader is None:
        return
    for p in space.params:
        if p.kind is not Kind.CATEGORICAL:
            continue
        group = p.name.split("@")[0]
        try:
            options = config_loader.get_group_options(group)
        except Exception:
            continue  # not a config group: a plain key
        if not options:
            continue
        missing = [c for c in p.choices if c is not None and str(c) not in options]
        if missing:
            raise SweepConfigError(
                f"parameter '{p.name}': {', '.join(map(str, missing))} "
                f"{'is not an option' if len(missing) == 1 else 'are not options'} of the config group "
                f"'{group}' (its options: {', '.join(options)})"
            )


def representative_point(space: SearchSpace) -> dict[str, Any]:
    """One configuration of the space (each parameter at its centre, fixed values included), to
    compose a job config from before the sweep starts."""
    return space.from_unit(np.full((1, len(space)), 0.5))[0]
