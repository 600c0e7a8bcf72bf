"""Curves written as tables for the pruner tests: ``{trial: [(step, value, time), ...]}``."""

from __future__ import annotations

from hpo_sweeper.pruning import Curve, Report


def curves(table: dict[int, list[tuple[int, float, float]]], pruned: dict[int, float] | None = None) -> dict[int, Curve]:
    pruned = pruned or {}
    return {t: Curve(tuple(Report(s, v, tm) for s, v, tm in rows), pruned.get(t)) for t, rows in table.items()}
