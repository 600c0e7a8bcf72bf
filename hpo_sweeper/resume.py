"""Resuming a stored sweep: what may change between runs, and the seed.

A store records the search space, the settings identity (the sweeper kind, direction,
objective, pass-through overrides, optimiser options) and the seed. A rerun is refused
when its space or identity differs, since the stored trials would then mean something
else (``allow_space_change`` / ``allow_settings_change`` override); the seed is taken
from the store, so a resumed sweep continues the same random stream.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo_sweeper.store import StoreError
from hpo_sweeper.trials import TrialLog

__all__ = [
    "PYTHON_HINTS", "Hints", "check_resumable", "describe_settings_change", "describe_space_change", "reconcile_seed",
]

log = logging.getLogger("hpo_sweeper")


@dataclass(frozen=True)
class Hints:
    """How the user names things, in messages: Hydra settings or Python keyword arguments."""

    new_sweep: str = "use another storage for a new sweep"
    flag: str = "{}=True"
    seed: str = "seed={}"


#: The Python API's: keyword arguments of ``Sweep``.
PYTHON_HINTS = Hints()


def check_resumable(
    store: TrialLog,
    where: str,
    described_space: Mapping[str, Any],
    identity: Mapping[str, Any],
    *,
    allow_space: bool,
    allow_settings: bool,
    hints: Hints = PYTHON_HINTS,
) -> None:
    """Refuse to resume a stored sweep whose trials would mean something else now.

    Every refused change is named in one message, the space first: changing a searched
    parameter often changes the pass-through overrides too (a search-space group swapped for
    command-line intervals), and a message naming only the settings would hide what changed.
    """
    refused: list[str] = []
    flags: list[str] = []
    described = json_normalised(described_space)
    stored_space = store.get_meta("space")
    if stored_space is not None and stored_space != described:
        changes = describe_space_change(stored_space, described)
        if allow_space:
            log.warning("Resuming with a changed search space (%s)", changes)
        else:
            refused.append(f"the search space differs from the one stored in {where}: {changes}")
            flags.append("allow_space_change")
    stored = store.get_meta("identity")
    if stored is None and store.get_meta("kind") is not None:  # a store of an earlier version
        old = store.get_meta("settings") or {}
        stored = {"kind": store.get_meta("kind"), **{k: old[k] for k in ("direction", "objective") if k in old}}
    changes = describe_settings_change(stored, identity) if isinstance(stored, dict) else ""
    if changes:
        if allow_settings:
            log.warning("Resuming with changed settings (%s)", changes)
        elif refused:
            refused.append(f"the sweeper settings differ too: {changes}")
            flags.append("allow_settings_change")
        else:
            refused.append(f"the sweeper settings differ from those stored in {where}: {changes}")
            flags.append("allow_settings_change")
    if refused:
        kept = ("earlier trials that fit the new space are kept" if "allow_space_change" in flags
                else "the earlier trials are kept as they are")
        new_sweep = hints.new_sweep[0].upper() + hints.new_sweep[1:]
        raise StoreError(
            "; ".join(refused) + f". {new_sweep}, or set "
            + " and ".join(hints.flag.format(f) for f in flags) + f" to resume anyway ({kept})"
        )


def reconcile_seed(store: TrialLog, seed: int | None, *, quiet: bool = False, hints: Hints = PYTHON_HINTS) -> int:
    """The stored seed when resuming (a different one given is ignored, with a warning), else
    ``seed``, else a drawn one (logged, so the sweep can be repeated). Records it in the store."""
    stored_seed = store.get_meta("seed")
    if stored_seed is not None:
        if seed is not None and seed != stored_seed:
            log.warning("Resuming a sweep started with seed=%d; ignoring seed=%d", stored_seed, seed)
        seed = int(stored_seed)
    elif seed is None:
        seed = secrets.randbelow(2**31)
        if not quiet:
            log.info("No seed given: using seed=%d (set %s to repeat this sweep)", seed, hints.seed.format(seed))
    store.set_meta("seed", seed)
    return seed


def describe_space_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    before, after = old.get("params", {}), new.get("params", {})
    parts = [f"added {k}" for k in after if k not in before]
    parts += [f"removed {k}" for k in before if k not in after]
    parts += [f"{k} changed from {before[k]} to {after[k]}" for k in after if k in before and before[k] != after[k]]
    if old.get("fixed") != new.get("fixed"):
        parts.append(f"fixed values changed from {old.get('fixed')} to {new.get('fixed')}")
    return "; ".join(parts) or "unknown change"


def describe_settings_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    parts = []
    for k in ("kind", "direction", "objective"):
        if k in old and old.get(k) != new.get(k):
            parts.append(f"{'sweeper' if k == 'kind' else k} changed from {old.get(k)} to {new.get(k)}")
    if "overrides" in old and old["overrides"] != new.get("overrides", []):
        gone = [o for o in old["overrides"] if o not in new.get("overrides", [])]
        added = [o for o in new.get("overrides", []) if o not in old["overrides"]]
        parts.append(f"overrides changed (removed {gone}, added {added})")
    if old.get("pruner") != new.get("pruner"):  # absent: the default, no pruner (hpo_sweeper.sweep)
        parts.append(f"pruner changed from {old.get('pruner') or 'none'} to {new.get('pruner') or 'none'}")
    # Which trials are infeasible (absent: the defaults, no constraints and out-of-memory crashes failed).
    if old.get("constraints") != new.get("constraints"):
        parts.append(f"constraints changed from {old.get('constraints') or {}} to {new.get('constraints') or {}}")
    if old.get("constraints_oom") != new.get("constraints_oom"):
        parts.append(f"constraints_oom changed from {old.get('constraints_oom') or 'failed'} to "
                     f"{new.get('constraints_oom') or 'failed'}")
    if "options" in old and old.get("kind") == new.get("kind"):
        before, after = old["options"], new.get("options", {})
        parts += [f"{k} changed from {before.get(k)} to {after.get(k)}"
                  for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return "; ".join(parts)


def json_normalised(obj: Any) -> Any:
    """``obj`` as it reads back from the store's JSON (tuples become lists), for comparison."""
    return json.loads(json.dumps(obj))
