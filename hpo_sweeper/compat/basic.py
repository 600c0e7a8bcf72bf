"""Hydra's basic sweeper's settings -> ours: ``max_batch_size`` (also the Ax sweeper's) is ``batch_size``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo_sweeper.compat.base import Mapper, Message


def translate(
    kind: str, settings: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Message]]:
    m = Mapper(settings, defaults)
    value = m.settings.pop("max_batch_size", None)
    if value is not None:
        m.fill("batch_size", value, "max_batch_size")
    m.summary("basic sweeper")
    return m.settings, m.messages
