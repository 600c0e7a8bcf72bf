"""The search space of a Hydra sweep: ``hydra.sweeper.params`` plus the command line.

``build_space`` returns the space, the order of every job's override keys, the
pass-through overrides (handed to every job as typed) and the ``+``/``++`` prefixes of
searched keys. ``check_group_choices`` checks a searched config group's options against
Hydra's config loader, once, before job 0.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_sweeper.conditions import fix_parents, split_conditions
from hpo_sweeper.grammar import Fixed, Passthrough, encode_override, parse_override, parse_spec
from hpo_sweeper.settings import SweepConfigError
from hpo_sweeper.space import Kind, Parameter, SearchSpace, SearchSpaceError

__all__ = ["build_space", "check_group_choices", "params_overrides", "representative_point"]

log = logging.getLogger("hpo_sweeper")


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
    # keys the conditions name: the parents of a 'when', and those of a forbidden entry
    parents = {str(p) for spec in [*when.values(), *forbidden] if isinstance(spec, Mapping) for p in spec}
    from_command_line: set[str] = set()  # searched keys the command line set: never silently dropped
    fixed_parents: dict[str, Any] = {}  # parents the file searches, fixed on the command line
    parent_params: dict[str, Parameter] = {}
    for line in arguments:
        parsed = parse_override(line, config_loader)
        if isinstance(parsed, Fixed):
            bare = _bare(parsed.name)
            if bare in when:
                # A fixed value for a conditional key: the narrowest range. It keeps the file's
                # 'when' (passed only to the jobs of its branch) and is recorded like any parameter.
                entries[bare] = Parameter(bare, Kind.CATEGORICAL, choices=(parsed.value,))
                from_command_line.add(bare)
                continue
            if bare in parents and isinstance(entries.get(bare), Parameter):
                # A fixed parent: the sweep keeps to that branch (conditions.fix_parents); a fixed key of a
                # forbidden entry decides whether the entry can still match.
                parent = entries[bare]
                assert isinstance(parent, Parameter)
                fixed_parents[bare], parent_params[bare] = parsed.value, parent
            parsed = Passthrough(parsed.name, line)  # a plain override: hand it on exactly as typed
        if isinstance(parsed, Passthrough):
            bare = _bare(parsed.key)
            if bare not in fixed_parents and (bare in when or bare in parents):
                role = "is conditional (it has a 'when')" if bare in when else "is named by a 'when' or 'forbidden'"
                raise SearchSpaceError(
                    f"override {line!r}: '{bare}' {role} in the search space, and a deletion or an addition "
                    f"(~, +, ++, @package) of it cannot follow the branch; write {bare}=<value> or {bare}=<sweep>"
                )
            entries[bare] = parsed
            continue
        bare = _bare(parsed.name)
        prefixes[bare] = parsed.name[: len(parsed.name) - len(bare)]
        entries[bare] = dataclasses.replace(parsed, name=bare)  # a command-line range: the file's 'when' stays
        from_command_line.add(bare)
    if fixed_parents:
        when, forbidden, dropped = fix_parents(when, forbidden, fixed_parents, parent_params)
        for key in dropped:
            if key in from_command_line:
                raise SearchSpaceError(
                    f"parameter '{key}': the command line sets it, but its 'when' can never hold with "
                    f"{', '.join(f'{k}={v!r}' for k, v in fixed_parents.items())} from the command line"
                )
            del entries[key]
        if dropped:
            log.info("%s fixed on the command line: searching only that branch; not searched: %s",
                     ", ".join(f"{k}={v!r}" for k, v in fixed_parents.items()), ", ".join(dropped))
    searched = tuple(e for e in entries.values() if isinstance(e, Parameter))
    fixed = {e.name: e.value for e in entries.values() if isinstance(e, Fixed)}
    passthrough = {k: e.text for k, e in entries.items() if isinstance(e, Passthrough)}
    keys = list(entries)
    return SearchSpace(searched, fixed, when, tuple(forbidden)), keys, passthrough, prefixes


#: what ``hydra.sweeper.params.<key>=...`` overrides start with
_PARAMS_PREFIX = "hydra.sweeper.params."
#: the fields of a dict spec that ``hydra.sweeper.params.<key>.<field>=...`` may set
_SPEC_FIELDS = {"type", "low", "high", "log", "step", "choices", "sweep", "when"}


def params_overrides(
    config: Any, config_loader: Any, params: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """``hydra.sweeper.params.<key>=...`` on the command line, read as the user meant it.

    Hydra merges such an override into the config before any sweeper sees it: it replaces the
    key's whole node, so ``hydra.sweeper.params.x='interval(0,1)'`` would silently drop the
    file's ``when`` of ``x``, and it reads the dots of a dotted key as nesting
    (``hydra.sweeper.params.optim.momentum=...`` makes a key ``optim``). So the search space is
    composed once more without these overrides, and each becomes what the grammar form on the
    command line does (``x=interval(0,1)``: the range is replaced, the file's ``when`` kept), a
    field of the file's dict spec (``...params.x.low=0``), or a dict spec that keeps the file's
    ``when`` unless it has its own.

    Returns the search space's mapping and the override lines that go before the command line's.
    Without such overrides, ``params`` comes back as it is.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    # As typed, unresolved: an override such as hydra.sweep.subdir=d_${hydra.job.num} names a value that
    # only a job has.
    lines = [str(o) for o in OmegaConf.to_container(config.hydra.overrides.hydra, resolve=False)]  # type: ignore[union-attr]
    parsed = OverridesParser.create().parse_overrides(lines)
    ours = [(line, o) for line, o in zip(lines, parsed)
            if o.key_or_group.startswith(_PARAMS_PREFIX) and not o.is_delete()]
    if not ours or config_loader is None:
        return (dict(params) if params is not None else None), []
    others = [line for line in lines if line not in {line for line, _ in ours}]
    composed = config_loader.load_configuration(
        config.hydra.job.get("config_name"), others + [str(o) for o in config.hydra.overrides.task], RunMode.MULTIRUN
    )
    node = OmegaConf.select(composed, "hydra.sweeper.params")
    before: dict[str, Any] = OmegaConf.to_container(node, resolve=True) if node is not None else {}  # type: ignore[assignment]
    # Only the entries these overrides touched go back to the file's (or go, when Hydra made them
    # by nesting): the others stay as the sweeper's settings hold them.
    spec_map: dict[str, Any] = dict(params or {})
    keys = [o.key_or_group[len(_PARAMS_PREFIX):] for _, o in ours]
    for touched in {k for key in keys for k in (key, key.rpartition(".")[0], key.split(".")[0]) if k}:
        if touched in before:
            spec_map[touched] = before[touched]
        else:
            spec_map.pop(touched, None)
    out: list[str] = []
    for key, (_, o) in zip(keys, ours):
        value: Any = o.value()
        value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
        head, _, field = key.rpartition(".")
        file_spec = spec_map.get(key)
        if isinstance(value, Mapping):
            new = dict(value)
            if isinstance(file_spec, Mapping) and "when" in file_spec and "when" not in new:
                new["when"] = file_spec["when"]
            spec_map[key] = new
        elif key not in spec_map and isinstance(spec_map.get(head), Mapping) and field in _SPEC_FIELDS:
            spec_map[head][field] = value  # one field of the file's dict spec
        else:  # as the same override without the prefix: the grammar form, which keeps a 'when'
            out.append(f"{key}={value}" if isinstance(value, str) else encode_override(key, value))
    return spec_map, out


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
