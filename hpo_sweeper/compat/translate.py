"""``translate``: every foreign sweeper's mapping, run once, in a fixed order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo_sweeper.compat import ax, basic, nevergrad, optuna
from hpo_sweeper.compat.base import CompatError, Message

__all__ = ["CompatError", "Message", "Translation", "translate"]

#: The mappings in the order they run; each sees what the previous one returned.
_STEPS = (basic.translate, ax.translate, nevergrad.translate, optuna.translate)


@dataclass(frozen=True)
class Translation:
    settings: dict[str, Any]
    messages: list[Message] = field(default_factory=list)


def translate(kind: str, settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> Translation:
    """Our settings of the ``kind`` sweeper from settings that may carry the keys of the
    Optuna, Nevergrad, Ax or basic sweeper.

    Args:
        kind: ``grid``, ``random`` or ``bayes``: the sweeper that runs.
        settings: plain values (no OmegaConf containers); foreign keys set to null are absent keys.
        defaults: our defaults for ``kind``: a foreign key fills a setting only while it is at its default.

    Returns:
        Our settings, without any foreign key, and the lines to log (one per mapping
        family, a warning per option that has no equivalent).

    Raises:
        CompatError: a foreign setting that cannot be honoured (a multi-objective direction,
            ``custom_search_space``, a non-SQLite storage URL, ...).
    """
    out = {k: v for k, v in settings.items()}
    messages: list[Message] = []
    for step in _STEPS:
        out, said = step(kind, out, defaults)
        messages += said
    return Translation(out, messages)
