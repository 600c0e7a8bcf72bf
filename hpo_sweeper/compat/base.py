"""What every mapping shares: its messages, its error and the rule for filling a setting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo_sweeper.errors import HpoSweeperError

#: Said wherever another sweeper's worker count is mapped to batch_size: the launcher runs the jobs.
LAUNCHER_HINT = "parallel jobs come from the launcher, e.g. hydra/launcher=joblib hydra.launcher.n_jobs=4"


class CompatError(HpoSweeperError, ValueError):
    """A foreign sweeper's setting that cannot be honoured here; raised before any job runs."""


@dataclass(frozen=True)
class Message:
    """A line for the sweep's log: ``info`` for a mapping, ``warning`` for a setting left out."""

    level: str  # info | warning
    text: str


class Mapper:
    """Collects the mapped settings and the messages of one translation.

    ``defaults`` are our own defaults of the chosen sweeper: a foreign key fills one of
    our settings only while that setting is at its default, so a setting written in our
    own name always wins (with a warning when the two disagree).
    """

    def __init__(self, settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
        self.settings = dict(settings)
        self.defaults = defaults
        self.messages: list[Message] = []
        self.mapped: list[str] = []  # "n_jobs=1 -> batch_size=1", said in one line at the end

    def fill(self, ours: str, value: Any, source: str) -> None:
        current = self.settings.get(ours, self.defaults.get(ours))
        if current != self.defaults.get(ours) and current != value:
            self.warn(f"{source}={value!r} and {ours}={current!r} are both set: using {ours}={current!r}")
            return
        self.settings[ours] = value
        self.mapped.append(f"{source}={value!r} -> {ours}={value!r}" if source != ours else f"{ours}={value!r}")

    def info(self, text: str) -> None:
        self.messages.append(Message("info", text))

    def warn(self, text: str) -> None:
        self.messages.append(Message("warning", text))

    def summary(self, sweeper: str) -> None:
        if self.mapped:
            self.info(f"{sweeper} settings mapped: " + "; ".join(self.mapped))


def pop_block(settings: dict[str, Any], key: str, nested: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """Remove and return a nested block (``optim``, ``ax_config``, ``sampler``) without its null
    keys (null means not set), also inside its ``nested`` sub-blocks; None when nothing is set."""
    block = settings.pop(key, None)
    if block is None:
        return None
    if not isinstance(block, Mapping):
        raise CompatError(f"{key} must be a mapping, got {block!r}")
    out = {k: v for k, v in block.items() if v is not None}
    for sub in nested:
        if isinstance(out.get(sub), Mapping):
            out[sub] = {k: v for k, v in out[sub].items() if v is not None}
            if not out[sub]:
                del out[sub]
    return out or None
